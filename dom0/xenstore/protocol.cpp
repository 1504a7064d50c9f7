// See protocol.hpp. Arguments are NUL-terminated strings in the payload; a
// request whose arguments are missing or unterminated answers EINVAL.
#include "protocol.hpp"

namespace xenstore {
namespace {

// The index-th NUL-terminated string of the payload.
bool arg(const char* p, uint32_t n, uint32_t index, Str& out, uint32_t* end = nullptr)
{
    uint32_t off = 0;
    for (uint32_t k = 0;; ++k) {
        uint32_t j = off;
        while (j < n && p[j] != '\0') ++j;
        if (j >= n) return false;
        if (k == index) {
            out = Str{p + off, j - off};
            if (end) *end = j + 1;
            return true;
        }
        off = j + 1;
    }
}

bool number(Str s, uint64_t max, uint64_t& v)
{
    if (s.n == 0 || s.n > 20) return false;
    v = 0;
    for (uint32_t i = 0; i < s.n; ++i) {
        if (s.p[i] < '0' || s.p[i] > '9') return false;
        v = v * 10 + static_cast<uint64_t>(s.p[i] - '0');
        if (v > max) return false;
    }
    return true;
}

uint32_t put_dec(char* out, uint64_t v)
{
    char tmp[20];
    uint32_t n = 0;
    do { tmp[n++] = static_cast<char>('0' + v % 10); v /= 10; } while (v);
    for (uint32_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
    return n;
}

struct Replier {
    Outbox& out;
    const Header& req;
    bool ok(MsgType t, const char* body, uint32_t n)
    {
        const Header h{static_cast<uint32_t>(t), req.req_id, req.tx_id, n};
        return push(out, h, body, n);
    }
    bool ack() { return ok(static_cast<MsgType>(req.type), "OK", 3); }
    bool error(Err e)
    {
        const char* name = err_name(e);
        return ok(MsgType::error, name, cstr_len(name) + 1);
    }
    bool result(Err e) { return e == Err::none ? ack() : error(e); }
};

char body[payload_max];   // replies are built here (one request at a time)

} // namespace

bool parse_perm(Str s, Perm& p)
{
    if (s.n < 2) return false;
    switch (s.p[0]) {
    case 'n': p.bits = 0; break;
    case 'r': p.bits = perm_read; break;
    case 'w': p.bits = perm_write; break;
    case 'b': p.bits = perm_read | perm_write; break;
    default: return false;
    }
    uint64_t id = 0;
    if (!number(Str{s.p + 1, s.n - 1}, 0xffff, id)) return false;
    p.domid = static_cast<uint16_t>(id);
    return true;
}

uint32_t format_perm(const Perm& p, char* out)
{
    static constexpr char letters[4] = {'n', 'r', 'w', 'b'};
    out[0] = letters[p.bits & 3];
    const uint32_t n = 1 + put_dec(out + 1, p.domid);
    out[n] = '\0';
    return n + 1;
}

bool push_event(Outbox& out, Str path, Str token)
{
    static char event[payload_max];
    if (path.n + token.n + 2 > payload_max) return false;
    __builtin_memcpy(event, path.p, path.n);
    event[path.n] = '\0';
    __builtin_memcpy(event + path.n + 1, token.p, token.n);
    event[path.n + 1 + token.n] = '\0';
    const uint32_t len = path.n + token.n + 2;
    return push(out, Header{static_cast<uint32_t>(MsgType::watch_event), 0, 0, len}, event, len);
}

bool handle(Store& s, uint16_t dom, const Header& h, const char* p, Outbox& out, const Hooks* hooks)
{
    Replier r{out, h};
    const uint32_t n = h.len;
    const uint32_t tx = h.tx_id;
    Str path{};
    uint32_t end = 0;
    switch (static_cast<MsgType>(h.type)) {
    case MsgType::read: {
        if (!arg(p, n, 0, path)) return r.error(Err::einval);
        uint32_t len = 0;
        const Err e = s.read(dom, tx, path, body, sizeof body, len);
        return e == Err::none ? r.ok(MsgType::read, body, len) : r.error(e);
    }
    case MsgType::write: {
        if (!arg(p, n, 0, path, &end)) return r.error(Err::einval);
        return r.result(s.write(dom, tx, path, Str{p + end, n - end}));
    }
    case MsgType::mkdir:
        if (!arg(p, n, 0, path)) return r.error(Err::einval);
        return r.result(s.mkdir(dom, tx, path));
    case MsgType::rm:
        if (!arg(p, n, 0, path)) return r.error(Err::einval);
        return r.result(s.rm(dom, tx, path));
    case MsgType::directory: {
        if (!arg(p, n, 0, path)) return r.error(Err::einval);
        uint32_t len = 0;
        const Err e = s.directory(dom, tx, path, body, sizeof body, len);
        return e == Err::none ? r.ok(MsgType::directory, body, len) : r.error(e);
    }
    case MsgType::get_perms: {
        if (!arg(p, n, 0, path)) return r.error(Err::einval);
        Perm perms[Limits::perms];
        uint32_t count = 0;
        const Err e = s.get_perms(dom, tx, path, perms, count);
        if (e != Err::none) return r.error(e);
        uint32_t len = 0;
        for (uint32_t i = 0; i < count; ++i) len += format_perm(perms[i], body + len);
        return r.ok(MsgType::get_perms, body, len);
    }
    case MsgType::set_perms: {
        if (!arg(p, n, 0, path, &end)) return r.error(Err::einval);
        Perm perms[Limits::perms];
        uint32_t count = 0;
        while (end < n) {
            uint32_t j = end;
            while (j < n && p[j] != '\0') ++j;
            if (count == Limits::perms) return r.error(Err::e2big);
            if (!parse_perm(Str{p + end, j - end}, perms[count])) return r.error(Err::einval);
            ++count;
            end = j + 1;
        }
        return r.result(s.set_perms(dom, tx, path, perms, count));
    }
    case MsgType::watch:
    case MsgType::unwatch: {
        Str token{};
        if (!arg(p, n, 0, path, &end)) return r.error(Err::einval);
        // The token's NUL may be missing at the very end.
        uint32_t j = end;
        while (j < n && p[j] != '\0') ++j;
        token = Str{p + end, j - end};
        if (static_cast<MsgType>(h.type) == MsgType::unwatch) return r.result(s.unwatch(dom, path, token));
        const Err e = s.watch(dom, path, token, false);
        if (e != Err::none) return r.error(e);
        if (!r.ack()) return false;
        // Xen fires every new watch once, after its reply, under the path as given.
        if (!push_event(out, path, token)) ++out.dropped_events;
        return true;
    }
    case MsgType::transaction_start: {
        if (tx != 0) return r.error(Err::ebusy);
        uint32_t id = 0;
        const Err e = s.transaction_start(dom, id);
        if (e != Err::none) return r.error(e);
        const uint32_t len = put_dec(body, id);
        body[len] = '\0';
        return r.ok(MsgType::transaction_start, body, len + 1);
    }
    case MsgType::transaction_end: {
        Str word{};
        if (!arg(p, n, 0, word)) word = Str{p, n};
        if (word.n != 1 || (word.p[0] != 'T' && word.p[0] != 'F')) return r.error(Err::einval);
        return r.result(s.transaction_end(dom, tx, word.p[0] == 'T'));
    }
    case MsgType::get_domain_path: {
        Str a{};
        uint64_t id = 0;
        if (!arg(p, n, 0, a) || !number(a, 0xffff, id)) return r.error(Err::einval);
        __builtin_memcpy(body, "/local/domain/", 14);
        const uint32_t len = 14 + put_dec(body + 14, id);
        body[len] = '\0';
        return r.ok(MsgType::get_domain_path, body, len + 1);
    }
    case MsgType::is_domain_introduced: {
        Str a{};
        uint64_t id = 0;
        if (!arg(p, n, 0, a) || !number(a, 0xffff, id)) return r.error(Err::einval);
        return r.ok(MsgType::is_domain_introduced, s.is_introduced(static_cast<uint16_t>(id)) ? "T" : "F", 2);
    }
    case MsgType::introduce: {
        if (dom != 0) return r.error(Err::eacces);
        Str a{}, b{}, c{};
        uint64_t id = 0, gfn = 0, port = 0;
        if (!arg(p, n, 0, a) || !arg(p, n, 1, b) || !arg(p, n, 2, c) || !number(a, 0xffff, id) ||
            !number(b, ~0ull, gfn) || !number(c, 0xffffffffu, port) || id == 0)
            return r.error(Err::einval);
        if (!hooks || !hooks->introduce) return r.error(Err::enosys);
        return r.result(hooks->introduce(hooks->ctx, static_cast<uint16_t>(id), gfn, static_cast<uint32_t>(port)));
    }
    case MsgType::release: {
        if (dom != 0) return r.error(Err::eacces);
        Str a{};
        uint64_t id = 0;
        if (!arg(p, n, 0, a) || !number(a, 0xffff, id)) return r.error(Err::einval);
        if (hooks && hooks->release) return r.result(hooks->release(hooks->ctx, static_cast<uint16_t>(id)));
        return r.result(s.release(static_cast<uint16_t>(id)));
    }
    case MsgType::reset_watches:
        s.reset_watches(dom);
        return r.ack();
    default: return r.error(Err::enosys);
    }
}

} // namespace xenstore
