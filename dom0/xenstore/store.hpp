// The xenstore database: the node tree, per-node permissions, transactions,
// watches and per-domain quotas, with Xen's xenstored rules. Pure logic in
// fixed-size storage (dom0 has no heap); the wire protocol is in
// protocol.hpp, the rings in ring.hpp.
//
// Rules (Xen's cxenstored/oxenstored):
//  - A node's permissions are a list; the first entry names the owner and
//    gives everybody else's access, later entries a named domain's. dom0
//    may do anything; the owner may do anything. A new node takes its
//    parent's list; a domU that creates it becomes its owner.
//  - Reading or writing a missing node answers EACCES rather than ENOENT
//    when the caller may not access the nearest existing ancestor; creating
//    a node needs write access to that ancestor.
//  - Every node has a generation, renewed when its value, permissions or
//    list of children change. A transaction remembers the generation of
//    every node it looked at and fails with EAGAIN at commit when one has
//    changed; until then its changes are a private log.
//  - Quotas (domUs only): nodes owned, watches, open transactions (EQUOTA),
//    value size (E2BIG).
#pragma once
#include <cstddef>
#include <cstdint>
#include "runtime/xs_wire.hpp"

namespace xenstore {

// Permission bits (XS_PERM_READ/WRITE); 'n' none, 'r', 'w', 'b' both.
inline constexpr uint8_t perm_read = 1, perm_write = 2;
struct Perm {
    uint16_t domid;
    uint8_t bits;
};

struct Str {
    const char* p;
    uint32_t n;
};

// Storage and quotas. The quotas are Xen's xenstored defaults.
struct Limits {
    static constexpr uint32_t nodes = 4096;          // the whole tree
    static constexpr uint32_t blocks = 32768;        // 60-byte pieces of names, values, watch strings
    static constexpr uint32_t perms = 8;             // permission entries per node
    static constexpr uint32_t watches = 512;         // all domains together
    static constexpr uint32_t transactions = 32;     // open at once, all domains
    static constexpr uint32_t tx_ops = 64;           // changes one transaction may log
    static constexpr uint32_t tx_reads = 256;        // nodes one transaction may look at
    static constexpr uint32_t domains = 64;          // domains with something in the store
    static constexpr uint32_t quota_nodes = 1000;        // nodes a domU owns
    static constexpr uint32_t quota_watches = 128;
    static constexpr uint32_t quota_transactions = 10;
    static constexpr uint32_t quota_value = 2048;        // bytes in one node's value
    static constexpr uint32_t quota_blocks = 8192;       // storage a domU's requests hold (512 KiB)
};

// Where watch events go: the watcher, the event's path (relative when the
// watch was) and the watch's token.
using EventSink = void (*)(void* ctx, uint16_t domid, Str path, Str token);

// No constructor: dom0 runs no global constructors, so a Store lives in
// zeroed static storage and init() makes it an empty tree.
class Store {
public:
    void init();

    // Paths: absolute ("/local/...") or relative to /local/domain/DOM.
    // `tx` 0 is outside any transaction. Results go to out[0, cap).
    [[nodiscard]] Err read(uint16_t dom, uint32_t tx, Str path, char* out, uint32_t cap, uint32_t& len);
    [[nodiscard]] Err write(uint16_t dom, uint32_t tx, Str path, Str value);
    [[nodiscard]] Err mkdir(uint16_t dom, uint32_t tx, Str path);
    [[nodiscard]] Err rm(uint16_t dom, uint32_t tx, Str path);
    // Child names, each NUL-terminated.
    [[nodiscard]] Err directory(uint16_t dom, uint32_t tx, Str path, char* out, uint32_t cap, uint32_t& len);
    [[nodiscard]] Err get_perms(uint16_t dom, uint32_t tx, Str path, Perm* out, uint32_t& n);
    [[nodiscard]] Err set_perms(uint16_t dom, uint32_t tx, Str path, const Perm* perms, uint32_t n);

    // A watch fires its first event at once, as Xen's do.
    [[nodiscard]] Err watch(uint16_t dom, Str path, Str token, bool fire_initial = true);
    [[nodiscard]] Err unwatch(uint16_t dom, Str path, Str token);
    void reset_watches(uint16_t dom);   // also ends its transactions, as XS_RESET_WATCHES does

    [[nodiscard]] Err transaction_start(uint16_t dom, uint32_t& id);
    [[nodiscard]] Err transaction_end(uint16_t dom, uint32_t id, bool commit);

    // The toolstack's view of domains: introduced ones fire @introduceDomain,
    // released ones @releaseDomain and lose their watches and transactions.
    [[nodiscard]] Err introduce(uint16_t dom);
    [[nodiscard]] Err release(uint16_t dom);
    [[nodiscard]] bool is_introduced(uint16_t dom) const;

    void set_sink(EventSink sink, void* ctx) { sink_ = sink; sink_ctx_ = ctx; }

    // For tests and the admin: what is in use.
    [[nodiscard]] uint32_t nodes_used() const { return nodes_used_; }
    [[nodiscard]] uint32_t blocks_used() const { return blocks_used_; }
    [[nodiscard]] uint32_t nodes_owned(uint16_t dom) const;
    [[nodiscard]] uint32_t watches_of(uint16_t dom) const;
    [[nodiscard]] uint32_t transactions_of(uint16_t dom) const;

    static constexpr uint32_t nil = 0xffffffffu;

private:
    struct Node {
        uint32_t parent, child, sibling;
        uint32_t name, value;        // block chains
        uint16_t name_len, value_len;
        uint64_t gen;
        uint8_t nperms;
        bool used;
        Perm perms[Limits::perms];
    };
    struct Block {
        uint32_t next;
        char data[60];
    };
    struct Acct {
        uint16_t domid;
        bool used;
        bool introduced;
        uint32_t nodes, watches, txs, blocks;
    };
    enum class OpKind : uint8_t { write, mkdir, rm, set_perms };
    struct TxOp {
        OpKind kind;
        uint32_t path, value;   // chains
        uint16_t path_len, value_len;
        uint8_t nperms;
        Perm perms[Limits::perms];   // set_perms: the new list; write/mkdir: what created nodes get
    };
    struct TxRead {
        uint32_t node;
        uint64_t gen;
    };
    struct Tx {
        bool used;
        uint16_t dom;
        uint32_t id;
        uint32_t nops, nreads;
        uint32_t created;   // nodes the log creates (upper bound)
        TxOp ops[Limits::tx_ops];
        TxRead reads[Limits::tx_reads];
        bool overflow;      // a read could not be remembered
    };
    struct Watch {
        bool used;
        bool relative;
        uint16_t dom;
        uint32_t path, token;
        uint16_t path_len, token_len;
    };
    // A node as seen from a transaction (or the live tree).
    struct View {
        bool exists;
        bool from_log;       // value in ops[op]
        uint32_t node;       // live node, when the value is live
        uint32_t op;
        uint8_t nperms;
        Perm perms[Limits::perms];
    };

    // Blocks: chains charged to a domain.
    [[nodiscard]] uint32_t chain_new(uint16_t charge, const char* p, uint32_t n, bool& ok);
    void chain_free(uint32_t head);
    void chain_copy(uint32_t head, uint32_t n, char* out) const;
    [[nodiscard]] bool chain_eq(uint32_t head, uint32_t n, const char* p, uint32_t pn) const;
    [[nodiscard]] static uint32_t blocks_for(uint32_t n) { return (n + 59) / 60; }

    [[nodiscard]] Acct* acct(uint16_t dom, bool create);
    [[nodiscard]] const Acct* acct(uint16_t dom) const;

    // Canonical absolute path into path_ (EINVAL if malformed).
    [[nodiscard]] Err canon(uint16_t dom, Str in, bool watch, Str& out, bool& relative);
    [[nodiscard]] uint32_t find(Str abs) const;
    [[nodiscard]] uint32_t find_child(uint32_t parent, const char* name, uint32_t n) const;
    [[nodiscard]] uint32_t nearest(Str abs) const;   // deepest existing node on the path

    [[nodiscard]] static uint8_t access(uint16_t dom, const Perm* perms, uint8_t n);
    [[nodiscard]] View view(Tx* tx, Str abs);
    [[nodiscard]] Err lookup_tx(uint16_t dom, uint32_t id, Tx*& tx);
    [[nodiscard]] Err missing(uint16_t dom, Tx* tx, Str abs, uint8_t need);
    [[nodiscard]] Err log_op(Tx& tx, OpKind k, Str abs, Str value, const Perm* perms, uint8_t nperms);
    void free_tx(Tx& tx);

    // Live changes (permissions already checked). Fire watches.
    [[nodiscard]] Err apply_write(uint16_t dom, Str abs, const Str* value, const Perm* create, uint8_t ncreate);
    [[nodiscard]] Err apply_rm(Str abs);
    [[nodiscard]] Err apply_set_perms(Str abs, const Perm* perms, uint8_t n);
    void free_subtree(uint32_t node);
    void unlink(uint32_t node);
    [[nodiscard]] uint32_t add_child(uint32_t parent, uint16_t charge, const char* name, uint32_t n,
                                     const Perm* perms, uint8_t nperms);
    void charge_node(uint16_t owner, int delta);

    void fire(Str abs, bool removed, uint32_t node);
    void fire_one(const Watch& w, Str abs);
    void fire_special(const char* path);
    void drop_domain(uint16_t dom);

    Node nodes_[Limits::nodes];
    Block blocks_[Limits::blocks];
    uint16_t block_charge_[Limits::blocks];
    uint32_t free_block_;
    uint32_t free_node_;
    uint32_t nodes_used_, blocks_used_;
    uint64_t gen_;
    uint32_t next_tx_id_;
    Acct accts_[Limits::domains];
    Tx txs_[Limits::transactions];
    Watch watches_[Limits::watches];
    EventSink sink_;
    void* sink_ctx_;
    char path_[abs_path_max + 64];     // the canonical path of the request
    char scratch_[abs_path_max + 64];  // paths rebuilt from chains
    char event_[abs_path_max + 64];
    char oppath_[abs_path_max + 64];   // a logged change's path, in view()
    char value_[payload_max];          // a logged value, at commit
    char token_[payload_max];
    char name_[abs_path_max + 64];     // a child's name, in directory()
    char own_[abs_path_max + 64];      // a watch's own path, in fire()
};

} // namespace xenstore
