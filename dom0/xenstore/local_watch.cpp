// See local_watch.hpp. The queue is a ring of fixed-size entries; a watch is found by its token.
#include "local_watch.hpp"

namespace xenstore {
namespace {

bool same(const char* a, const char* b)
{
    uint32_t i = 0;
    for (; a[i] && a[i] == b[i]; ++i) {}
    return a[i] == b[i];
}

bool same(Str a, const char* b)
{
    const uint32_t n = cstr_len(b);
    if (a.n != n) return false;
    for (uint32_t i = 0; i < n; ++i)
        if (a.p[i] != b[i]) return false;
    return true;
}

void copy(char* out, const char* p, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i) out[i] = p[i];
    out[n] = '\0';
}

} // namespace

Err LocalWatches::add(const char* path, const char* token, LocalWatchFn fn, void* ctx)
{
    if (!path || !token || !fn) return Err::einval;
    const uint32_t pn = cstr_len(path), tn = cstr_len(token);
    if (pn >= path_max || tn >= token_max) return Err::e2big;
    Watch* spare = nullptr;
    for (Watch& w : watches_) {
        if (w.used && same(w.token, token)) return Err::eexist;
        if (!w.used && !spare) spare = &w;
    }
    if (!spare) return Err::enospc;
    spare->used = true;
    spare->rescan = false;
    spare->serial = ++serial_;
    spare->fn = fn;
    spare->ctx = ctx;
    copy(spare->path, path, pn);
    copy(spare->token, token, tn);
    return Err::none;
}

Err LocalWatches::remove(const char* path, const char* token)
{
    if (!path || !token) return Err::einval;
    for (Watch& w : watches_)
        if (w.used && same(w.path, path) && same(w.token, token)) {
            w.used = false;
            w.rescan = false;
            w.serial = 0;
            return Err::none;
        }
    return Err::enoent;
}

void LocalWatches::event(Str path, Str token)
{
    for (uint32_t i = 0; i < max_watches; ++i) {
        Watch& w = watches_[i];
        if (!w.used || !same(token, w.token)) continue;
        if (count_ == queue_len || path.n >= path_max) {
            w.rescan = true;
            return;
        }
        Pending& p = queue_[(head_ + count_++) % queue_len];
        p.slot = static_cast<uint8_t>(i);
        p.serial = w.serial;
        copy(p.path, path.p, path.n);
        return;
    }
}

bool LocalWatches::pending() const
{
    if (count_) return true;
    for (const Watch& w : watches_)
        if (w.used && w.rescan) return true;
    return false;
}

void LocalWatches::deliver()
{
    for (uint32_t n = count_; n && count_; --n) {
        const Pending p = queue_[head_];   // a copy: the callback may queue more
        head_ = (head_ + 1) % queue_len;
        --count_;
        const Watch& w = watches_[p.slot];
        if (!w.used || w.serial != p.serial) continue;
        char token[token_max];   // the callback may remove the watch and set another in its slot
        copy(token, w.token, cstr_len(w.token));
        w.fn(w.ctx, p.path, token, false);
    }
    for (Watch& w : watches_) {
        if (!w.used || !w.rescan) continue;
        w.rescan = false;
        char path[path_max], token[token_max];   // the callback may remove the watch
        copy(path, w.path, cstr_len(w.path));
        copy(token, w.token, cstr_len(w.token));
        w.fn(w.ctx, path, token, true);
    }
}

} // namespace xenstore
