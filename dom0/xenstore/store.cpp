// See store.hpp. Walks are linear (children are a sibling list, watches and
// transactions small arrays): the store is small and each request is one walk.
#include "store.hpp"

namespace xenstore {
namespace {

constexpr uint8_t perm_owner = 4;   // internal: may change permissions
constexpr uint32_t nil = Store::nil;

bool valid_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '/' ||
           c == '_' || c == '@';
}

bool str_eq(Str a, Str b) { return a.n == b.n && __builtin_memcmp(a.p, b.p, a.n) == 0; }

// `inner` lies strictly below `outer` ("/a/b" below "/a"; everything below "/").
bool below(Str inner, Str outer)
{
    if (inner.n <= outer.n || __builtin_memcmp(inner.p, outer.p, outer.n) != 0) return false;
    return outer.n == 1 || inner.p[outer.n] == '/';
}

uint32_t put_dec(char* out, uint32_t v)
{
    char tmp[10];
    uint32_t n = 0;
    do { tmp[n++] = static_cast<char>('0' + v % 10); v /= 10; } while (v);
    for (uint32_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
    return n;
}

// "/local/domain/N" into out; its length.
uint32_t domain_path(uint16_t dom, char* out)
{
    __builtin_memcpy(out, "/local/domain/", 14);
    return 14 + put_dec(out + 14, dom);
}

// The parent of a canonical absolute path other than "/".
Str parent_of(Str p)
{
    uint32_t n = p.n;
    while (n > 0 && p.p[n - 1] != '/') --n;
    return Str{p.p, n > 1 ? n - 1 : 1};
}

} // namespace

void Store::init()
{
    __builtin_memset(static_cast<void*>(this), 0, sizeof *this);
    free_block_ = nil;
    for (uint32_t i = Limits::blocks; i-- > 0;) {
        blocks_[i].next = free_block_;
        free_block_ = i;
    }
    free_node_ = nil;
    for (uint32_t i = Limits::nodes; i-- > 1;) {
        nodes_[i].sibling = free_node_;
        free_node_ = i;
    }
    gen_ = 1;
    next_tx_id_ = 1;
    Node& root = nodes_[0];
    root = Node{};
    root.used = true;
    root.parent = root.child = root.sibling = root.name = root.value = nil;
    root.gen = gen_++;
    root.nperms = 1;
    root.perms[0] = Perm{0, 0};
    nodes_used_ = 1;
    if (Acct* a = acct(0, true)) {
        a->introduced = true;   // dom0 is the store's own domain
        a->nodes = 1;
    }
    const Perm none0{0, 0};
    const uint32_t local = add_child(0, 0, "local", 5, &none0, 1);
    if (local != nil) (void)add_child(local, 0, "domain", 6, &none0, 1);
}

// ---- blocks ----

uint32_t Store::chain_new(uint16_t charge, const char* p, uint32_t n, bool& ok)
{
    ok = true;
    const uint32_t need = blocks_for(n);
    if (need == 0) return nil;
    Acct* a = acct(charge, true);
    if (!a || Limits::blocks - blocks_used_ < need ||
        (charge != 0 && a->blocks + need > Limits::quota_blocks)) {
        ok = false;
        return nil;
    }
    uint32_t head = nil, tail = nil;
    for (uint32_t off = 0; off < n; off += sizeof(Block::data)) {
        const uint32_t b = free_block_;
        free_block_ = blocks_[b].next;
        blocks_[b].next = nil;
        block_charge_[b] = charge;
        const uint32_t k = n - off < sizeof(Block::data) ? n - off : sizeof(Block::data);
        __builtin_memcpy(blocks_[b].data, p + off, k);
        if (tail == nil) head = b; else blocks_[tail].next = b;
        tail = b;
    }
    blocks_used_ += need;
    a->blocks += need;
    return head;
}

void Store::chain_free(uint32_t head)
{
    while (head != nil) {
        const uint32_t next = blocks_[head].next;
        if (Acct* a = acct(block_charge_[head], false)) --a->blocks;
        blocks_[head].next = free_block_;
        free_block_ = head;
        --blocks_used_;
        head = next;
    }
}

void Store::chain_copy(uint32_t head, uint32_t n, char* out) const
{
    for (uint32_t off = 0; off < n && head != nil; off += sizeof(Block::data), head = blocks_[head].next) {
        const uint32_t k = n - off < sizeof(Block::data) ? n - off : sizeof(Block::data);
        __builtin_memcpy(out + off, blocks_[head].data, k);
    }
}

bool Store::chain_eq(uint32_t head, uint32_t n, const char* p, uint32_t pn) const
{
    if (n != pn) return false;
    for (uint32_t off = 0; off < n; off += sizeof(Block::data), head = blocks_[head].next) {
        const uint32_t k = n - off < sizeof(Block::data) ? n - off : sizeof(Block::data);
        if (__builtin_memcmp(blocks_[head].data, p + off, k) != 0) return false;
    }
    return true;
}

// ---- domains ----

Store::Acct* Store::acct(uint16_t dom, bool create)
{
    Acct* spare = nullptr;
    for (Acct& a : accts_) {
        if (a.used && a.domid == dom) return &a;
        if (!a.used && !spare) spare = &a;
    }
    if (!create || !spare) return nullptr;
    *spare = Acct{};
    spare->used = true;
    spare->domid = dom;
    return spare;
}

const Store::Acct* Store::acct(uint16_t dom) const
{
    for (const Acct& a : accts_)
        if (a.used && a.domid == dom) return &a;
    return nullptr;
}

uint32_t Store::nodes_owned(uint16_t dom) const { const Acct* a = acct(dom); return a ? a->nodes : 0; }
uint32_t Store::watches_of(uint16_t dom) const { const Acct* a = acct(dom); return a ? a->watches : 0; }
uint32_t Store::transactions_of(uint16_t dom) const { const Acct* a = acct(dom); return a ? a->txs : 0; }

void Store::charge_node(uint16_t owner, int delta)
{
    if (Acct* a = acct(owner, delta > 0)) a->nodes = static_cast<uint32_t>(static_cast<int>(a->nodes) + delta);
}

bool Store::is_introduced(uint16_t dom) const
{
    const Acct* a = acct(dom);
    return a && a->introduced;
}

// ---- paths and the tree ----

Err Store::canon(uint16_t dom, Str in, bool watch, Str& out, bool& relative)
{
    relative = false;
    if (in.n == 0) return Err::einval;
    for (uint32_t i = 0; i < in.n; ++i)
        if (!valid_char(in.p[i])) return Err::einval;
    if (in.p[0] == '@') {
        // Special watch paths only (@introduceDomain, @releaseDomain).
        if (!watch || in.n > abs_path_max) return Err::einval;
        __builtin_memcpy(path_, in.p, in.n);
        out = Str{path_, in.n};
        return Err::none;
    }
    uint32_t n = 0;
    if (in.p[0] != '/') {
        relative = true;
        if (in.n > rel_path_max) return Err::einval;
        n = domain_path(dom, path_);
        path_[n++] = '/';
    }
    if (n + in.n > abs_path_max) return Err::einval;
    __builtin_memcpy(path_ + n, in.p, in.n);
    n += in.n;
    // No empty component, no trailing slash (but "/" itself).
    for (uint32_t i = 1; i < n; ++i)
        if (path_[i] == '/' && path_[i - 1] == '/') return Err::einval;
    if (n > 1 && path_[n - 1] == '/') return Err::einval;
    out = Str{path_, n};
    return Err::none;
}

uint32_t Store::find_child(uint32_t parent, const char* name, uint32_t n) const
{
    for (uint32_t c = nodes_[parent].child; c != nil; c = nodes_[c].sibling)
        if (chain_eq(nodes_[c].name, nodes_[c].name_len, name, n)) return c;
    return nil;
}

uint32_t Store::find(Str abs) const
{
    if (abs.n == 0 || abs.p[0] != '/') return nil;
    uint32_t cur = 0;
    for (uint32_t i = 1; i < abs.n && cur != nil;) {
        uint32_t j = i;
        while (j < abs.n && abs.p[j] != '/') ++j;
        cur = find_child(cur, abs.p + i, j - i);
        i = j + 1;
    }
    return cur;
}

uint32_t Store::nearest(Str abs) const
{
    uint32_t cur = 0;
    for (uint32_t i = 1; i < abs.n;) {
        uint32_t j = i;
        while (j < abs.n && abs.p[j] != '/') ++j;
        const uint32_t next = find_child(cur, abs.p + i, j - i);
        if (next == nil) return cur;
        cur = next;
        i = j + 1;
    }
    return cur;
}

uint8_t Store::access(uint16_t dom, const Perm* perms, uint8_t n)
{
    if (dom == 0 || n == 0 || perms[0].domid == dom) return perm_read | perm_write | perm_owner;
    for (uint8_t i = 1; i < n; ++i)
        if (perms[i].domid == dom) return perms[i].bits;
    return perms[0].bits;
}

uint32_t Store::add_child(uint32_t parent, uint16_t charge, const char* name, uint32_t n, const Perm* perms,
                          uint8_t nperms)
{
    if (free_node_ == nil || n > 0xffff) return nil;
    bool ok = false;
    const uint32_t chain = chain_new(charge, name, n, ok);
    if (!ok) return nil;
    const uint32_t idx = free_node_;
    free_node_ = nodes_[idx].sibling;
    Node& nd = nodes_[idx];
    nd = Node{};
    nd.used = true;
    nd.parent = parent;
    nd.child = nd.sibling = nd.value = nil;
    nd.name = chain;
    nd.name_len = static_cast<uint16_t>(n);
    nd.gen = gen_++;
    nd.nperms = nperms;
    for (uint8_t i = 0; i < nperms; ++i) nd.perms[i] = perms[i];
    // Children stay in creation order, as DIRECTORY lists them.
    uint32_t* link = &nodes_[parent].child;
    while (*link != nil) link = &nodes_[*link].sibling;
    *link = idx;
    nodes_[parent].gen = gen_++;
    ++nodes_used_;
    charge_node(perms[0].domid, 1);
    return idx;
}

void Store::unlink(uint32_t node)
{
    Node& p = nodes_[nodes_[node].parent];
    uint32_t* link = &p.child;
    while (*link != node) link = &nodes_[*link].sibling;
    *link = nodes_[node].sibling;
    p.gen = gen_++;
}

void Store::free_subtree(uint32_t node)
{
    // Iterative: free children first; the tree may be deep.
    uint32_t cur = node;
    for (;;) {
        while (nodes_[cur].child != nil) cur = nodes_[cur].child;
        const uint32_t parent = nodes_[cur].parent;
        const bool last = cur == node;
        if (!last) nodes_[parent].child = nodes_[cur].sibling;
        Node& nd = nodes_[cur];
        chain_free(nd.name);
        chain_free(nd.value);
        charge_node(nd.perms[0].domid, -1);
        nd.used = false;
        nd.sibling = free_node_;
        free_node_ = cur;
        --nodes_used_;
        if (last) return;
        cur = parent;
    }
}

// ---- transactions' view ----

Err Store::lookup_tx(uint16_t dom, uint32_t id, Tx*& tx)
{
    tx = nullptr;
    if (id == 0) return Err::none;
    for (Tx& t : txs_)
        if (t.used && t.id == id && t.dom == dom) {
            tx = &t;
            return Err::none;
        }
    return Err::enoent;
}

Store::View Store::view(Tx* tx, Str abs)
{
    View v{};
    v.node = find(abs);
    v.op = nil;
    if (v.node != nil) {
        v.exists = true;
        v.nperms = nodes_[v.node].nperms;
        for (uint8_t i = 0; i < v.nperms; ++i) v.perms[i] = nodes_[v.node].perms[i];
    }
    if (!tx) return v;
    // What we saw: the node, or (absent) the deepest ancestor, whose
    // generation changes when the missing child appears.
    const uint32_t seen = v.node != nil ? v.node : nearest(abs);
    bool known = false;
    for (uint32_t i = 0; i < tx->nreads && !known; ++i) known = tx->reads[i].node == seen;
    if (!known) {
        if (tx->nreads < Limits::tx_reads) tx->reads[tx->nreads++] = TxRead{seen, nodes_[seen].gen};
        else tx->overflow = true;
    }
    for (uint32_t i = 0; i < tx->nops; ++i) {
        const TxOp& op = tx->ops[i];
        chain_copy(op.path, op.path_len, oppath_);
        const Str op_path{oppath_, op.path_len};
        const bool same = str_eq(op_path, abs);
        const bool op_below = below(op_path, abs);
        const bool we_below = below(abs, op_path);
        auto create = [&] {
            if (v.exists) return;
            v.exists = true;
            v.node = nil;
            v.op = nil;
            v.from_log = false;
            v.nperms = op.nperms;
            for (uint8_t k = 0; k < op.nperms; ++k) v.perms[k] = op.perms[k];
        };
        switch (op.kind) {
        case OpKind::write:
            if (same) {
                create();
                v.from_log = true;
                v.op = i;
            } else if (op_below) {
                create();
            }
            break;
        case OpKind::mkdir:
            if (same || op_below) create();
            break;
        case OpKind::rm:
            if (same || we_below) {
                v.exists = v.from_log = false;
                v.node = v.op = nil;
            }
            break;
        case OpKind::set_perms:
            if (same && v.exists) {
                v.nperms = op.nperms;
                for (uint8_t k = 0; k < op.nperms; ++k) v.perms[k] = op.perms[k];
            }
            break;
        }
    }
    return v;
}

// abs is missing (in tx's view): EACCES if the nearest existing ancestor
// denies `need`, else ENOENT.
Err Store::missing(uint16_t dom, Tx* tx, Str abs, uint8_t need)
{
    Str p = abs;
    while (p.n > 1) {
        p = parent_of(p);
        const View a = view(tx, p);
        if (a.exists) return (access(dom, a.perms, a.nperms) & need) == need ? Err::enoent : Err::eacces;
    }
    return Err::enoent;
}

Err Store::log_op(Tx& tx, OpKind k, Str abs, Str value, const Perm* perms, uint8_t nperms)
{
    if (tx.nops >= Limits::tx_ops) return Err::equota;
    bool ok1 = false, ok2 = false;
    const uint32_t path = chain_new(tx.dom, abs.p, abs.n, ok1);
    const uint32_t val = ok1 ? chain_new(tx.dom, value.p, value.n, ok2) : nil;
    if (!ok1 || !ok2) {
        chain_free(path);
        return tx.dom ? Err::equota : Err::enospc;
    }
    TxOp& op = tx.ops[tx.nops++];
    op = TxOp{};
    op.kind = k;
    op.path = path;
    op.path_len = static_cast<uint16_t>(abs.n);
    op.value = val;
    op.value_len = static_cast<uint16_t>(value.n);
    op.nperms = nperms;
    for (uint8_t i = 0; i < nperms; ++i) op.perms[i] = perms[i];
    return Err::none;
}

void Store::free_tx(Tx& tx)
{
    for (uint32_t i = 0; i < tx.nops; ++i) {
        chain_free(tx.ops[i].path);
        chain_free(tx.ops[i].value);
    }
    if (Acct* a = acct(tx.dom, false)) --a->txs;
    tx.used = false;
    tx.nops = tx.nreads = 0;
}

// ---- requests ----

Err Store::read(uint16_t dom, uint32_t txid, Str path, char* out, uint32_t cap, uint32_t& len)
{
    len = 0;
    Str abs{};
    bool rel = false;
    if (Err e = canon(dom, path, false, abs, rel); e != Err::none) return e;
    Tx* tx = nullptr;
    if (Err e = lookup_tx(dom, txid, tx); e != Err::none) return e;
    const View v = view(tx, abs);
    if (!v.exists) return missing(dom, tx, abs, perm_read);
    if (!(access(dom, v.perms, v.nperms) & perm_read)) return Err::eacces;
    if (v.from_log) {
        const TxOp& op = tx->ops[v.op];
        if (op.value_len > cap) return Err::e2big;
        chain_copy(op.value, op.value_len, out);
        len = op.value_len;
    } else if (v.node != nil) {
        const Node& nd = nodes_[v.node];
        if (nd.value_len > cap) return Err::e2big;
        chain_copy(nd.value, nd.value_len, out);
        len = nd.value_len;
    }
    return Err::none;
}

Err Store::write(uint16_t dom, uint32_t txid, Str path, Str value)
{
    if (value.n > payload_max || (dom != 0 && value.n > Limits::quota_value)) return Err::e2big;
    Str abs{};
    bool rel = false;
    if (Err e = canon(dom, path, false, abs, rel); e != Err::none) return e;
    Tx* tx = nullptr;
    if (Err e = lookup_tx(dom, txid, tx); e != Err::none) return e;
    View v = view(tx, abs);
    Perm create[Limits::perms];
    uint8_t ncreate = 0;
    uint32_t created = 0;
    if (v.exists) {
        if (!(access(dom, v.perms, v.nperms) & perm_write)) return Err::eacces;
    } else {
        // Created nodes take the permissions of the nearest existing
        // ancestor; a domU owns what it creates.
        Str p = abs;
        View a{};
        do {
            p = parent_of(p);
            ++created;
            a = view(tx, p);
        } while (!a.exists && p.n > 1);
        if (!(access(dom, a.perms, a.nperms) & perm_write)) return Err::eacces;
        ncreate = a.nperms;
        for (uint8_t i = 0; i < ncreate; ++i) create[i] = a.perms[i];
        if (dom != 0) create[0].domid = dom;
        const uint32_t pending = tx ? tx->created : 0;
        if (dom != 0 && nodes_owned(dom) + pending + created > Limits::quota_nodes) return Err::equota;
    }
    if (tx) {
        if (Err e = log_op(*tx, OpKind::write, abs, value, create, ncreate); e != Err::none) return e;
        tx->created += created;
        return Err::none;
    }
    return apply_write(dom, abs, &value, create, ncreate);
}

Err Store::mkdir(uint16_t dom, uint32_t txid, Str path)
{
    Str abs{};
    bool rel = false;
    if (Err e = canon(dom, path, false, abs, rel); e != Err::none) return e;
    Tx* tx = nullptr;
    if (Err e = lookup_tx(dom, txid, tx); e != Err::none) return e;
    if (view(tx, abs).exists) return Err::none;   // already there: nothing changes, no event
    Str p = abs;
    View a{};
    uint32_t created = 0;
    do {
        p = parent_of(p);
        ++created;
        a = view(tx, p);
    } while (!a.exists && p.n > 1);
    if (!(access(dom, a.perms, a.nperms) & perm_write)) return Err::eacces;
    Perm create[Limits::perms];
    const uint8_t ncreate = a.nperms;
    for (uint8_t i = 0; i < ncreate; ++i) create[i] = a.perms[i];
    if (dom != 0) create[0].domid = dom;
    const uint32_t pending = tx ? tx->created : 0;
    if (dom != 0 && nodes_owned(dom) + pending + created > Limits::quota_nodes) return Err::equota;
    if (tx) {
        if (Err e = log_op(*tx, OpKind::mkdir, abs, Str{"", 0}, create, ncreate); e != Err::none) return e;
        tx->created += created;
        return Err::none;
    }
    return apply_write(dom, abs, nullptr, create, ncreate);
}

Err Store::rm(uint16_t dom, uint32_t txid, Str path)
{
    Str abs{};
    bool rel = false;
    if (Err e = canon(dom, path, false, abs, rel); e != Err::none) return e;
    if (abs.n == 1) return Err::einval;   // not the root
    Tx* tx = nullptr;
    if (Err e = lookup_tx(dom, txid, tx); e != Err::none) return e;
    const View v = view(tx, abs);
    if (!v.exists) {
        // Already gone: fine if its parent is there (as Xen answers).
        const View parent = view(tx, parent_of(abs));
        if (parent.exists) return Err::none;
        return missing(dom, tx, abs, perm_write);
    }
    if (!(access(dom, v.perms, v.nperms) & perm_write)) return Err::eacces;
    if (tx) return log_op(*tx, OpKind::rm, abs, Str{"", 0}, nullptr, 0);
    return apply_rm(abs);
}

Err Store::directory(uint16_t dom, uint32_t txid, Str path, char* out, uint32_t cap, uint32_t& len)
{
    len = 0;
    Str abs{};
    bool rel = false;
    if (Err e = canon(dom, path, false, abs, rel); e != Err::none) return e;
    Tx* tx = nullptr;
    if (Err e = lookup_tx(dom, txid, tx); e != Err::none) return e;
    const View v = view(tx, abs);
    if (!v.exists) return missing(dom, tx, abs, perm_read);
    if (!(access(dom, v.perms, v.nperms) & perm_read)) return Err::eacces;
    // abs lives in path_, which view() leaves alone; children are
    // checked through scratch_.
    auto add = [&](const char* name, uint32_t n) -> Err {
        // Already listed?
        for (uint32_t off = 0; off < len;) {
            uint32_t k = 0;
            while (out[off + k]) ++k;
            if (k == n && __builtin_memcmp(out + off, name, n) == 0) return Err::none;
            off += k + 1;
        }
        if (tx) {
            uint32_t m = abs.n;
            __builtin_memcpy(scratch_, abs.p, abs.n);
            if (m > 1) scratch_[m++] = '/';
            if (m + n > sizeof scratch_) return Err::e2big;
            __builtin_memcpy(scratch_ + m, name, n);
            if (!view(tx, Str{scratch_, m + n}).exists) return Err::none;
        }
        if (len + n + 1 > cap) return Err::e2big;
        __builtin_memcpy(out + len, name, n);
        out[len + n] = '\0';
        len += n + 1;
        return Err::none;
    };
    const uint32_t live = find(abs);
    if (live != nil)
        for (uint32_t c = nodes_[live].child; c != nil; c = nodes_[c].sibling) {
            chain_copy(nodes_[c].name, nodes_[c].name_len, name_);
            if (Err e = add(name_, nodes_[c].name_len); e != Err::none) return e;
        }
    if (tx)
        for (uint32_t i = 0; i < tx->nops; ++i) {
            const TxOp& op = tx->ops[i];
            if (op.kind != OpKind::write && op.kind != OpKind::mkdir) continue;
            chain_copy(op.path, op.path_len, name_);
            const Str p{name_, op.path_len};
            if (!below(p, abs)) continue;
            const uint32_t start = abs.n == 1 ? 1 : abs.n + 1;
            uint32_t end = start;
            while (end < p.n && p.p[end] != '/') ++end;
            if (Err e = add(name_ + start, end - start); e != Err::none) return e;
        }
    return Err::none;
}

Err Store::get_perms(uint16_t dom, uint32_t txid, Str path, Perm* out, uint32_t& n)
{
    n = 0;
    Str abs{};
    bool rel = false;
    if (Err e = canon(dom, path, false, abs, rel); e != Err::none) return e;
    Tx* tx = nullptr;
    if (Err e = lookup_tx(dom, txid, tx); e != Err::none) return e;
    const View v = view(tx, abs);
    if (!v.exists) return missing(dom, tx, abs, perm_read);
    if (!(access(dom, v.perms, v.nperms) & perm_read)) return Err::eacces;
    for (uint8_t i = 0; i < v.nperms; ++i) out[i] = v.perms[i];
    n = v.nperms;
    return Err::none;
}

Err Store::set_perms(uint16_t dom, uint32_t txid, Str path, const Perm* perms, uint32_t n)
{
    if (n == 0) return Err::einval;
    if (n > Limits::perms) return Err::e2big;
    for (uint32_t i = 0; i < n; ++i)
        if (perms[i].bits & ~(perm_read | perm_write)) return Err::einval;
    Str abs{};
    bool rel = false;
    if (Err e = canon(dom, path, false, abs, rel); e != Err::none) return e;
    Tx* tx = nullptr;
    if (Err e = lookup_tx(dom, txid, tx); e != Err::none) return e;
    const View v = view(tx, abs);
    if (!v.exists) return missing(dom, tx, abs, perm_write);
    const uint8_t a = access(dom, v.perms, v.nperms);
    if ((a & (perm_write | perm_owner)) != (perm_write | perm_owner)) return Err::eacces;
    // A domU may not give its node away (Xen answers EPERM).
    if (dom != 0 && perms[0].domid != v.perms[0].domid) return Err::eperm;
    if (tx) return log_op(*tx, OpKind::set_perms, abs, Str{"", 0}, perms, static_cast<uint8_t>(n));
    return apply_set_perms(abs, perms, static_cast<uint8_t>(n));
}

// ---- live changes ----

Err Store::apply_write(uint16_t dom, Str abs, const Str* value, const Perm* create, uint8_t ncreate)
{
    (void)dom;
    // Check room first so that a failure leaves the tree as it was.
    uint32_t cur = 0, i = 1, need_nodes = 0, need_blocks = 0;
    for (; i < abs.n;) {
        uint32_t j = i;
        while (j < abs.n && abs.p[j] != '/') ++j;
        const uint32_t next = find_child(cur, abs.p + i, j - i);
        if (next == nil) break;
        cur = next;
        i = j + 1;
    }
    const bool exists = i >= abs.n;
    for (uint32_t k = i; k < abs.n;) {
        uint32_t j = k;
        while (j < abs.n && abs.p[j] != '/') ++j;
        ++need_nodes;
        need_blocks += blocks_for(j - k);
        k = j + 1;
    }
    if (value) need_blocks += blocks_for(value->n);
    if (Limits::nodes - nodes_used_ < need_nodes || Limits::blocks - blocks_used_ < need_blocks) return Err::enospc;
    if (!exists && ncreate == 0) return Err::einval;
    while (i < abs.n) {
        uint32_t j = i;
        while (j < abs.n && abs.p[j] != '/') ++j;
        const uint32_t made = add_child(cur, create[0].domid, abs.p + i, j - i, create, ncreate);
        if (made == nil) return create[0].domid ? Err::equota : Err::enospc;
        cur = made;
        i = j + 1;
    }
    if (value) {
        Node& nd = nodes_[cur];
        bool ok = false;
        const uint32_t chain = chain_new(nd.perms[0].domid, value->p, value->n, ok);
        if (!ok) return nd.perms[0].domid ? Err::equota : Err::enospc;
        chain_free(nd.value);
        nd.value = chain;
        nd.value_len = static_cast<uint16_t>(value->n);
        nd.gen = gen_++;
    }
    fire(abs, false, cur);
    return Err::none;
}

Err Store::apply_rm(Str abs)
{
    const uint32_t n = find(abs);
    if (n == nil || n == 0) return Err::none;
    fire(abs, true, n);   // before the nodes go: watchers' read access is checked on them
    unlink(n);
    free_subtree(n);
    return Err::none;
}

Err Store::apply_set_perms(Str abs, const Perm* perms, uint8_t n)
{
    const uint32_t node = find(abs);
    if (node == nil) return Err::enoent;
    Node& nd = nodes_[node];
    if (nd.perms[0].domid != perms[0].domid) {
        if (perms[0].domid != 0 && !acct(perms[0].domid, true)) return Err::equota;
        charge_node(nd.perms[0].domid, -1);
        charge_node(perms[0].domid, 1);
    }
    nd.nperms = n;
    for (uint8_t i = 0; i < n; ++i) nd.perms[i] = perms[i];
    nd.gen = gen_++;
    fire(abs, false, node);
    return Err::none;
}

// ---- watches ----

void Store::fire_one(const Watch& w, Str abs)
{
    if (!sink_) return;
    Str p = abs;
    if (w.relative) {
        char prefix[24];
        uint32_t n = domain_path(w.dom, prefix);
        prefix[n++] = '/';
        if (abs.n > n && __builtin_memcmp(abs.p, prefix, n) == 0) p = Str{abs.p + n, abs.n - n};
    }
    chain_copy(w.token, w.token_len, token_);
    sink_(sink_ctx_, w.dom, p, Str{token_, w.token_len});
}

void Store::fire(Str abs, bool removed, uint32_t node)
{
    // abs may be path_ or scratch_; watch paths are rebuilt in event_.
    for (const Watch& w : watches_) {
        if (!w.used || w.path_len == 0) continue;
        chain_copy(w.path, w.path_len, event_);
        const Str wp{event_, w.path_len};
        if (wp.p[0] == '@') continue;
        if (str_eq(wp, abs) || below(abs, wp)) {
            const Node& nd = nodes_[node];
            if (access(w.dom, nd.perms, nd.nperms) & perm_read) fire_one(w, abs);
        } else if (removed && below(wp, abs)) {
            // A watch below a removed node hears of it under its own path.
            const uint32_t under = find(wp);
            const Node& nd = nodes_[under != nil ? under : node];
            if (access(w.dom, nd.perms, nd.nperms) & perm_read) {
                __builtin_memcpy(own_, event_, wp.n);
                fire_one(w, Str{own_, wp.n});
            }
        }
    }
}

void Store::fire_special(const char* path)
{
    const uint32_t n = cstr_len(path);
    for (const Watch& w : watches_)
        if (w.used && chain_eq(w.path, w.path_len, path, n)) fire_one(w, Str{path, n});
}

Err Store::watch(uint16_t dom, Str path, Str token, bool fire_initial)
{
    if (token.n > payload_max) return Err::e2big;
    Str abs{};
    bool rel = false;
    if (Err e = canon(dom, path, true, abs, rel); e != Err::none) return e;
    Acct* a = acct(dom, true);
    if (!a) return Err::equota;
    Watch* spare = nullptr;
    for (Watch& w : watches_) {
        if (w.used && w.dom == dom && chain_eq(w.path, w.path_len, abs.p, abs.n) &&
            chain_eq(w.token, w.token_len, token.p, token.n))
            return Err::eexist;
        if (!w.used && !spare) spare = &w;
    }
    if (dom != 0 && a->watches >= Limits::quota_watches) return Err::equota;
    if (!spare) return Err::enospc;
    bool ok1 = false, ok2 = false;
    const uint32_t pc = chain_new(dom, abs.p, abs.n, ok1);
    const uint32_t tc = ok1 ? chain_new(dom, token.p, token.n, ok2) : nil;
    if (!ok1 || !ok2) {
        chain_free(pc);
        return dom ? Err::equota : Err::enospc;
    }
    *spare = Watch{true, rel, dom, pc, tc, static_cast<uint16_t>(abs.n), static_cast<uint16_t>(token.n)};
    ++a->watches;
    if (fire_initial) fire_one(*spare, abs);
    return Err::none;
}

Err Store::unwatch(uint16_t dom, Str path, Str token)
{
    Str abs{};
    bool rel = false;
    if (Err e = canon(dom, path, true, abs, rel); e != Err::none) return e;
    for (Watch& w : watches_)
        if (w.used && w.dom == dom && chain_eq(w.path, w.path_len, abs.p, abs.n) &&
            chain_eq(w.token, w.token_len, token.p, token.n)) {
            chain_free(w.path);
            chain_free(w.token);
            w = Watch{};
            if (Acct* a = acct(dom, false)) --a->watches;
            return Err::none;
        }
    return Err::enoent;
}

void Store::drop_domain(uint16_t dom)
{
    for (Watch& w : watches_)
        if (w.used && w.dom == dom) {
            chain_free(w.path);
            chain_free(w.token);
            w = Watch{};
            if (Acct* a = acct(dom, false)) --a->watches;
        }
    for (Tx& t : txs_)
        if (t.used && t.dom == dom) free_tx(t);
}

void Store::reset_watches(uint16_t dom) { drop_domain(dom); }

// ---- transactions ----

Err Store::transaction_start(uint16_t dom, uint32_t& id)
{
    Acct* a = acct(dom, true);
    if (!a || (dom != 0 && a->txs >= Limits::quota_transactions)) return Err::equota;
    for (Tx& t : txs_)
        if (!t.used) {
            t.used = true;
            t.dom = dom;
            t.nops = t.nreads = t.created = 0;
            t.overflow = false;
            if (next_tx_id_ == 0) next_tx_id_ = 1;
            t.id = next_tx_id_++;
            id = t.id;
            ++a->txs;
            return Err::none;
        }
    return Err::equota;
}

Err Store::transaction_end(uint16_t dom, uint32_t id, bool commit)
{
    Tx* tx = nullptr;
    if (id == 0 || lookup_tx(dom, id, tx) != Err::none || !tx) return Err::enoent;
    if (!commit) {
        free_tx(*tx);
        return Err::none;
    }
    if (tx->overflow) {
        free_tx(*tx);
        return Err::equota;
    }
    for (uint32_t i = 0; i < tx->nreads; ++i) {
        const Node& nd = nodes_[tx->reads[i].node];
        if (!nd.used || nd.gen != tx->reads[i].gen) {
            free_tx(*tx);
            return Err::eagain;
        }
    }
    // Room for everything the log creates, so that it applies whole.
    uint32_t need_blocks = 0;
    for (uint32_t i = 0; i < tx->nops; ++i) need_blocks += 2 * blocks_for(tx->ops[i].path_len) + blocks_for(tx->ops[i].value_len);
    if (Limits::nodes - nodes_used_ < tx->created || Limits::blocks - blocks_used_ < need_blocks ||
        (dom != 0 && nodes_owned(dom) + tx->created > Limits::quota_nodes)) {
        free_tx(*tx);
        return dom ? Err::equota : Err::enospc;
    }
    Err result = Err::none;
    for (uint32_t i = 0; i < tx->nops && result == Err::none; ++i) {
        const TxOp& op = tx->ops[i];
        chain_copy(op.path, op.path_len, scratch_);
        const Str abs{scratch_, op.path_len};
        switch (op.kind) {
        case OpKind::write: {
            chain_copy(op.value, op.value_len, value_);
            const Str value{value_, op.value_len};
            result = apply_write(dom, abs, &value, op.perms, op.nperms);
            break;
        }
        case OpKind::mkdir:
            if (find(abs) == nil) result = apply_write(dom, abs, nullptr, op.perms, op.nperms);
            break;
        case OpKind::rm: result = apply_rm(abs); break;
        case OpKind::set_perms: result = apply_set_perms(abs, op.perms, op.nperms); break;
        }
    }
    free_tx(*tx);
    return result;
}

// ---- domains ----

Err Store::introduce(uint16_t dom)
{
    Acct* a = acct(dom, true);
    if (!a) return Err::equota;
    if (a->introduced) return Err::eexist;
    a->introduced = true;
    fire_special("@introduceDomain");
    return Err::none;
}

Err Store::release(uint16_t dom)
{
    Acct* a = acct(dom, false);
    if (dom == 0 || !a || !a->introduced) return Err::enoent;
    drop_domain(dom);
    a->introduced = false;
    fire_special("@releaseDomain");
    return Err::none;
}

} // namespace xenstore
