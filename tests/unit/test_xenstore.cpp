// dom0's xenstore: the tree, permissions, transactions, watches, quotas
// (dom0/xenstore/store), the wire protocol (protocol) and the ring
// transport against a client that writes what it likes (ring).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dom0/xenstore/protocol.hpp"
#include "dom0/xenstore/ring.hpp"
#include "dom0/xenstore/store.hpp"

using namespace xenstore;

namespace {

Str S(const std::string& s) { return Str{s.data(), static_cast<uint32_t>(s.size())}; }

struct Event {
    uint16_t dom;
    std::string path, token;
};

struct Fixture {
    std::unique_ptr<Store> s{new Store};
    std::vector<Event> events;
    Fixture()
    {
        s->init();
        s->set_sink([](void* ctx, uint16_t dom, Str p, Str t) {
            static_cast<Fixture*>(ctx)->events.push_back({dom, std::string(p.p, p.n), std::string(t.p, t.n)});
        }, this);
    }
    Err w(uint16_t dom, const std::string& p, const std::string& v, uint32_t tx = 0)
    {
        return s->write(dom, tx, S(p), S(v));
    }
    Err r(uint16_t dom, const std::string& p, std::string& out, uint32_t tx = 0)
    {
        static char buf[payload_max];
        uint32_t len = 0;
        const Err e = s->read(dom, tx, S(p), buf, sizeof buf, len);
        out.assign(buf, len);
        return e;
    }
    std::string rv(uint16_t dom, const std::string& p, uint32_t tx = 0)
    {
        std::string out;
        const Err e = r(dom, p, out, tx);
        return e == Err::none ? out : std::string("<") + err_name(e) + ">";
    }
    std::vector<std::string> dir(uint16_t dom, const std::string& p, uint32_t tx = 0, Err* err = nullptr)
    {
        static char buf[payload_max];
        uint32_t len = 0;
        const Err e = s->directory(dom, tx, S(p), buf, sizeof buf, len);
        if (err) *err = e;
        std::vector<std::string> out;
        for (uint32_t off = 0; off < len;) {
            out.emplace_back(buf + off);
            off += static_cast<uint32_t>(out.back().size()) + 1;
        }
        return out;
    }
    Err setp(uint16_t dom, const std::string& p, std::vector<Perm> perms, uint32_t tx = 0)
    {
        return s->set_perms(dom, tx, S(p), perms.data(), static_cast<uint32_t>(perms.size()));
    }
    std::vector<Perm> getp(uint16_t dom, const std::string& p, Err* err = nullptr)
    {
        Perm out[Limits::perms];
        uint32_t n = 0;
        const Err e = s->get_perms(dom, 0, S(p), out, n);
        if (err) *err = e;
        return std::vector<Perm>(out, out + n);
    }
    // A domain home as xl lays it out: owned by dom0, readable by the domain,
    // with a data/ the domain owns.
    void home(uint16_t dom)
    {
        const std::string h = "/local/domain/" + std::to_string(dom);
        REQUIRE(s->mkdir(0, 0, S(h)) == Err::none);
        REQUIRE(setp(0, h, {{0, 0}, {dom, perm_read}}) == Err::none);
        REQUIRE(w(0, h + "/name", "guest" + std::to_string(dom)) == Err::none);
        REQUIRE(s->mkdir(0, 0, S(h + "/data")) == Err::none);
        REQUIRE(setp(0, h + "/data", {{dom, 0}}) == Err::none);
    }
};

} // namespace

TEST_CASE("xenstore: error names are Xen's strings")
{
    CHECK(std::string(err_name(Err::enoent)) == "ENOENT");
    CHECK(std::string(err_name(Err::eacces)) == "EACCES");
    CHECK(std::string(err_name(Err::eagain)) == "EAGAIN");
    CHECK(std::string(err_name(Err::equota)) == "EQUOTA");
    CHECK(std::string(err_name(Err::e2big)) == "E2BIG");
    CHECK(std::string(err_name(Err::eisdir)) == "EISDIR");
    CHECK(std::string(err_name(Err::enosys)) == "ENOSYS");
    STATIC_REQUIRE(static_cast<uint32_t>(MsgType::write) == 11);
    STATIC_REQUIRE(static_cast<uint32_t>(MsgType::reset_watches) == 21);
    STATIC_REQUIRE(static_cast<uint32_t>(MsgType::is_domain_introduced) == 17);
}

TEST_CASE("xenstore tree: write, read, directory, rm, implicit parents")
{
    Fixture f;
    CHECK(f.w(0, "/a/b/c", "hello") == Err::none);
    CHECK(f.rv(0, "/a/b/c") == "hello");
    CHECK(f.rv(0, "/a/b") == "");   // created on the way, empty
    CHECK(f.dir(0, "/a") == std::vector<std::string>{"b"});
    CHECK(f.w(0, "/a/x", "1") == Err::none);
    CHECK(f.w(0, "/a/y", "2") == Err::none);
    CHECK(f.dir(0, "/a") == std::vector<std::string>{"b", "x", "y"});   // creation order
    CHECK(f.w(0, "/a/x", "overwritten") == Err::none);
    CHECK(f.rv(0, "/a/x") == "overwritten");
    const uint32_t before = f.s->nodes_used();
    CHECK(f.s->rm(0, 0, S("/a/b")) == Err::none);
    CHECK(f.s->nodes_used() == before - 2);
    CHECK(f.rv(0, "/a/b/c") == "<ENOENT>");
    CHECK(f.s->rm(0, 0, S("/a/b")) == Err::none);   // gone, parent there: fine
    CHECK(f.s->rm(0, 0, S("/nope/deeper")) == Err::enoent);
    CHECK(f.s->rm(0, 0, S("/")) == Err::einval);
    CHECK(f.s->mkdir(0, 0, S("/a/m")) == Err::none);
    CHECK(f.s->mkdir(0, 0, S("/a/m")) == Err::none);
    CHECK(f.rv(0, "/a/m") == "");
    CHECK(f.dir(0, "/") == std::vector<std::string>{"local", "a"});
    // Values may hold any byte, NULs included.
    CHECK(f.s->write(0, 0, S("/bin"), Str{"a\0b", 3}) == Err::none);
    CHECK(f.rv(0, "/bin") == std::string("a\0b", 3));
}

TEST_CASE("xenstore tree: paths are checked, relative ones are under the domain's home")
{
    Fixture f;
    for (const char* bad : {"", "/a//b", "/a/", "/a b", "/a*", "a/../b/ü"})
        CHECK(f.w(0, bad, "v") == Err::einval);
    CHECK(f.w(0, std::string("/") + std::string(abs_path_max, 'x'), "v") == Err::einval);
    CHECK(f.w(0, "/" + std::string(abs_path_max - 1, 'x'), "v") == Err::none);
    f.home(3);
    CHECK(f.w(3, "data/k", "v") == Err::none);
    CHECK(f.rv(0, "/local/domain/3/data/k") == "v");
    CHECK(f.rv(3, "name") == "guest3");
    CHECK(f.w(0, "@introduceDomain", "v") == Err::einval);   // special paths are for watches
}

TEST_CASE("xenstore tree: values up to XENSTORE_PAYLOAD_MAX for dom0, 2048 bytes for a domU")
{
    Fixture f;
    f.home(1);
    CHECK(f.w(0, "/big", std::string(4096, 'z')) == Err::none);
    CHECK(f.rv(0, "/big") == std::string(4096, 'z'));
    CHECK(f.w(0, "/big", std::string(4097, 'z')) == Err::e2big);
    CHECK(f.w(1, "data/v", std::string(2048, 'q')) == Err::none);
    CHECK(f.w(1, "data/v", std::string(2049, 'q')) == Err::e2big);
    CHECK(f.rv(1, "data/v") == std::string(2048, 'q'));
    // A failed overwrite leaves the blocks as they were.
    const uint32_t blocks = f.s->blocks_used();
    CHECK(f.w(1, "data/v", std::string(2049, 'q')) == Err::e2big);
    CHECK(f.s->blocks_used() == blocks);
    CHECK(f.s->rm(0, 0, S("/big")) == Err::none);
    CHECK(f.s->blocks_used() < blocks);
}

TEST_CASE("xenstore perms: owner, default entry, named entries, dom0 bypass")
{
    Fixture f;
    f.home(1);
    f.home(2);
    CHECK(f.rv(1, "/local/domain/1/name") == "guest1");
    CHECK(f.w(1, "/local/domain/1/name", "x") == Err::eacces);   // r only
    CHECK(f.rv(2, "/local/domain/1/name") == "<EACCES>");          // default n
    CHECK(f.rv(1, "/local/domain/0/name") == "<EACCES>");          // missing, parent unreadable
    CHECK(f.rv(1, "/local/domain/1/nothing") == "<ENOENT>");       // missing, parent readable
    CHECK(f.w(2, "/local/domain/1/data/x", "v") == Err::eacces);   // creating needs write on the parent
    CHECK(f.w(1, "/local/domain/1/data/x", "v") == Err::none);
    // A domU owns what it creates; the node inherits the parent's list.
    auto p = f.getp(1, "/local/domain/1/data/x");
    REQUIRE(p.size() == 1);
    CHECK(p[0].domid == 1);
    CHECK(p[0].bits == 0);
    // Nodes dom0 creates keep the parent's owner.
    CHECK(f.w(0, "/local/domain/1/data/from0", "v") == Err::none);
    CHECK(f.getp(0, "/local/domain/1/data/from0")[0].domid == 1);
    // The owner grants dom 2 read, then both.
    CHECK(f.setp(1, "/local/domain/1/data/x", {{1, 0}, {2, perm_read}}) == Err::none);
    CHECK(f.rv(2, "/local/domain/1/data/x") == "v");
    CHECK(f.w(2, "/local/domain/1/data/x", "w") == Err::eacces);
    CHECK(f.setp(1, "/local/domain/1/data/x", {{1, 0}, {2, perm_read | perm_write}}) == Err::none);
    CHECK(f.w(2, "/local/domain/1/data/x", "w") == Err::none);
    // Only the owner sets perms; a domU cannot give its node away.
    CHECK(f.setp(2, "/local/domain/1/data/x", {{1, 0}, {2, perm_read}}) == Err::eacces);
    CHECK(f.setp(1, "/local/domain/1/data/x", {{2, 0}}) == Err::eperm);
    CHECK(f.setp(1, "/local/domain/1/data/x", {}) == Err::einval);
    CHECK(f.setp(1, "/local/domain/1/data/x", std::vector<Perm>(Limits::perms + 1, Perm{1, 0})) == Err::e2big);
    // A default entry of 'r' lets everyone read.
    CHECK(f.setp(1, "/local/domain/1/data/x", {{1, perm_read}}) == Err::none);
    CHECK(f.rv(5, "/local/domain/1/data/x") == "w");
    // dom0 may do anything.
    const uint32_t owned1 = f.s->nodes_owned(1), owned2 = f.s->nodes_owned(2);
    CHECK(f.setp(0, "/local/domain/1/data/x", {{2, 0}}) == Err::none);   // and moves the node's quota
    CHECK(f.s->nodes_owned(1) == owned1 - 1);
    CHECK(f.s->nodes_owned(2) == owned2 + 1);
    CHECK(f.w(0, "/local/domain/1/data/x", "dom0") == Err::none);
}

TEST_CASE("xenstore transactions: isolation, commit, abort")
{
    Fixture f;
    f.home(1);
    CHECK(f.w(1, "data/a", "1") == Err::none);
    uint32_t tx = 0;
    REQUIRE(f.s->transaction_start(1, tx) == Err::none);
    CHECK(tx != 0);
    CHECK(f.w(1, "data/a", "2", tx) == Err::none);
    CHECK(f.w(1, "data/new/deep", "3", tx) == Err::none);
    CHECK(f.s->rm(1, tx, S("data/a")) == Err::none);
    CHECK(f.w(1, "data/a", "4", tx) == Err::none);
    // Inside: the private log; outside: nothing yet.
    CHECK(f.rv(1, "data/a", tx) == "4");
    CHECK(f.rv(1, "data/new/deep", tx) == "3");
    CHECK(f.rv(1, "data/new", tx) == "");
    CHECK(f.dir(1, "data", tx) == std::vector<std::string>{"a", "new"});
    CHECK(f.rv(1, "data/a") == "1");
    CHECK(f.rv(1, "data/new") == "<ENOENT>");
    CHECK(f.dir(1, "data") == std::vector<std::string>{"a"});
    CHECK(f.s->transaction_end(1, tx, true) == Err::none);
    CHECK(f.rv(1, "data/a") == "4");
    CHECK(f.rv(1, "data/new/deep") == "3");
    CHECK(f.getp(0, "/local/domain/1/data/new/deep")[0].domid == 1);
    CHECK(f.s->transaction_end(1, tx, true) == Err::enoent);   // gone
    CHECK(f.s->transactions_of(1) == 0);
    // Abort: nothing happens; the log's blocks come back.
    const uint32_t blocks = f.s->blocks_used();
    REQUIRE(f.s->transaction_start(1, tx) == Err::none);
    CHECK(f.w(1, "data/a", std::string(1000, 'x'), tx) == Err::none);
    CHECK(f.s->rm(1, tx, S("data/new")) == Err::none);
    CHECK(f.rv(1, "data/new/deep", tx) == "<ENOENT>");
    CHECK(f.dir(1, "data", tx) == std::vector<std::string>{"a"});
    CHECK(f.s->transaction_end(1, tx, false) == Err::none);
    CHECK(f.rv(1, "data/a") == "4");
    CHECK(f.rv(1, "data/new/deep") == "3");
    CHECK(f.s->blocks_used() == blocks);
    // Someone else's transaction id is unknown to us.
    REQUIRE(f.s->transaction_start(1, tx) == Err::none);
    CHECK(f.rv(0, "/local/domain/1/data/a", tx) == "<ENOENT>");
    CHECK(f.s->transaction_end(0, tx, true) == Err::enoent);
    CHECK(f.s->transaction_end(1, tx, true) == Err::none);
    CHECK(f.rv(1, "data/a", 12345) == "<ENOENT>");
}

TEST_CASE("xenstore transactions: a conflicting change ends the commit in EAGAIN")
{
    Fixture f;
    f.home(1);
    CHECK(f.w(1, "data/a", "1") == Err::none);
    uint32_t tx = 0;
    SECTION("a node the transaction read was written")
    {
        REQUIRE(f.s->transaction_start(1, tx) == Err::none);
        CHECK(f.rv(1, "data/a", tx) == "1");
        CHECK(f.w(1, "data/b", "t", tx) == Err::none);
        CHECK(f.w(0, "/local/domain/1/data/a", "outside") == Err::none);
        CHECK(f.s->transaction_end(1, tx, true) == Err::eagain);
        CHECK(f.rv(1, "data/b") == "<ENOENT>");   // nothing of it applied
    }
    SECTION("a node the transaction found missing appeared")
    {
        REQUIRE(f.s->transaction_start(1, tx) == Err::none);
        CHECK(f.rv(1, "data/c", tx) == "<ENOENT>");
        CHECK(f.w(1, "data/c", "mine", tx) == Err::none);
        CHECK(f.w(1, "data/c", "theirs") == Err::none);
        CHECK(f.s->transaction_end(1, tx, true) == Err::eagain);
        CHECK(f.rv(1, "data/c") == "theirs");
    }
    SECTION("a listed directory changed")
    {
        REQUIRE(f.s->transaction_start(1, tx) == Err::none);
        CHECK(f.dir(1, "data", tx).size() == 1);
        CHECK(f.w(1, "data/d", "x") == Err::none);
        CHECK(f.s->transaction_end(1, tx, true) == Err::eagain);
    }
    SECTION("a node it wrote was removed")
    {
        REQUIRE(f.s->transaction_start(1, tx) == Err::none);
        CHECK(f.w(1, "data/a", "2", tx) == Err::none);
        CHECK(f.s->rm(1, 0, S("data/a")) == Err::none);
        CHECK(f.s->transaction_end(1, tx, true) == Err::eagain);
        CHECK(f.rv(1, "data/a") == "<ENOENT>");
    }
    SECTION("an unrelated change does not conflict")
    {
        REQUIRE(f.s->transaction_start(1, tx) == Err::none);
        CHECK(f.rv(1, "data/a", tx) == "1");
        CHECK(f.w(1, "data/a", "2", tx) == Err::none);
        CHECK(f.w(0, "/elsewhere", "x") == Err::none);
        CHECK(f.w(0, "/local/domain/1/name", "renamed") == Err::none);
        CHECK(f.s->transaction_end(1, tx, true) == Err::none);
        CHECK(f.rv(1, "data/a") == "2");
    }
    SECTION("two transactions on one node: the first commit wins")
    {
        uint32_t t2 = 0;
        REQUIRE(f.s->transaction_start(1, tx) == Err::none);
        REQUIRE(f.s->transaction_start(1, t2) == Err::none);
        CHECK(f.rv(1, "data/a", tx) == "1");
        CHECK(f.rv(1, "data/a", t2) == "1");
        CHECK(f.w(1, "data/a", "tx1", tx) == Err::none);
        CHECK(f.w(1, "data/a", "tx2", t2) == Err::none);
        CHECK(f.s->transaction_end(1, tx, true) == Err::none);
        CHECK(f.s->transaction_end(1, t2, true) == Err::eagain);
        CHECK(f.rv(1, "data/a") == "tx1");
    }
    CHECK(f.s->transactions_of(1) == 0);
}

TEST_CASE("xenstore transactions: permissions hold inside, and watches fire at commit")
{
    Fixture f;
    f.home(1);
    f.home(2);
    uint32_t tx = 0;
    REQUIRE(f.s->transaction_start(2, tx) == Err::none);
    CHECK(f.rv(2, "/local/domain/1/name", tx) == "<EACCES>");
    CHECK(f.w(2, "/local/domain/1/data/x", "v", tx) == Err::eacces);
    CHECK(f.w(2, "data/x", "v", tx) == Err::none);
    CHECK(f.s->watch(1, S("/local/domain/2/data"), S("t"), false) == Err::none);
    CHECK(f.setp(2, "data/x", {{2, 0}, {1, perm_read}}, tx) == Err::none);
    CHECK(f.getp(0, "/local/domain/2/data/x").empty());
    CHECK(f.events.empty());
    CHECK(f.s->transaction_end(2, tx, true) == Err::none);
    // Domain 1 may read data/x only after the set_perms: one event (set_perms).
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].path == "/local/domain/2/data/x");
    CHECK(f.rv(1, "/local/domain/2/data/x") == "v");
}

TEST_CASE("xenstore watches: first event, events on the node and below, rm, relative paths, unwatch")
{
    Fixture f;
    f.home(1);
    CHECK(f.s->watch(1, S("data/w"), S("tok")) == Err::none);
    REQUIRE(f.events.size() == 1);   // fired at once, even for a missing node
    CHECK(f.events[0].dom == 1);
    CHECK(f.events[0].path == "data/w");
    CHECK(f.events[0].token == "tok");
    f.events.clear();
    CHECK(f.w(1, "data/w", "1") == Err::none);
    CHECK(f.w(1, "data/w/below", "2") == Err::none);
    CHECK(f.w(1, "data/other", "3") == Err::none);   // not ours
    REQUIRE(f.events.size() == 2);
    CHECK(f.events[0].path == "data/w");
    CHECK(f.events[1].path == "data/w/below");
    f.events.clear();
    // A watch below a removed node hears of it under its own path.
    CHECK(f.s->watch(0, S("/local/domain/1/data/w/below"), S("deep")) == Err::none);
    f.events.clear();
    CHECK(f.s->rm(1, 0, S("data")) == Err::none);
    REQUIRE(f.events.size() == 2);
    CHECK(f.events[0].dom == 1);
    CHECK(f.events[0].path == "data/w");
    CHECK(f.events[1].dom == 0);
    CHECK(f.events[1].path == "/local/domain/1/data/w/below");
    f.events.clear();
    CHECK(f.s->watch(1, S("data/w"), S("tok")) == Err::eexist);
    CHECK(f.s->unwatch(1, S("data/w"), S("tok")) == Err::none);
    CHECK(f.s->unwatch(1, S("data/w"), S("tok")) == Err::enoent);
    CHECK(f.s->watches_of(1) == 0);
    CHECK(f.w(0, "/local/domain/1/data/w", "again") == Err::none);
    REQUIRE(f.events.size() == 0);
    // mkdir of an existing node changes nothing and fires nothing.
    CHECK(f.s->watch(2, S("/"), S("all"), false) == Err::none);
    CHECK(f.s->mkdir(0, 0, S("/local")) == Err::none);
    CHECK(f.events.empty());
    CHECK(f.s->watch(1, S("/bad//path"), S("t")) == Err::einval);
}

TEST_CASE("xenstore watches: events only for nodes the watcher may read")
{
    Fixture f;
    f.home(1);
    f.home(2);
    CHECK(f.s->watch(2, S("/local/domain/1"), S("spy"), false) == Err::none);
    CHECK(f.w(1, "data/secret", "x") == Err::none);   // owned by 1, default n
    CHECK(f.events.empty());
    CHECK(f.setp(1, "data/secret", {{1, perm_read}}) == Err::none);
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].dom == 2);
}

TEST_CASE("xenstore watches: @introduceDomain, @releaseDomain; release drops the domain's watches")
{
    Fixture f;
    f.home(1);
    CHECK(f.s->watch(0, S("@introduceDomain"), S("i"), false) == Err::none);
    CHECK(f.s->watch(0, S("@releaseDomain"), S("r"), false) == Err::none);
    CHECK(f.s->watch(1, S("data"), S("mine"), false) == Err::none);
    uint32_t tx = 0;
    CHECK(f.s->transaction_start(1, tx) == Err::none);
    CHECK_FALSE(f.s->is_introduced(1));
    CHECK(f.s->is_introduced(0));
    CHECK(f.s->introduce(1) == Err::none);
    CHECK(f.s->introduce(1) == Err::eexist);
    CHECK(f.s->is_introduced(1));
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].path == "@introduceDomain");
    CHECK(f.events[0].token == "i");
    f.events.clear();
    CHECK(f.s->release(1) == Err::none);
    CHECK(f.s->release(1) == Err::enoent);
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].path == "@releaseDomain");
    CHECK(f.s->watches_of(1) == 0);
    CHECK(f.s->transactions_of(1) == 0);
    CHECK(f.s->transaction_end(1, tx, true) == Err::enoent);
}

TEST_CASE("xenstore quotas: nodes, watches, transactions per domU; dom0 has none")
{
    Fixture f;
    f.home(1);
    const uint32_t start = f.s->nodes_owned(1);   // data/
    uint32_t made = 0;
    Err e = Err::none;
    for (; made < 2000 && e == Err::none; ++made) e = f.w(1, "data/n" + std::to_string(made), "");
    CHECK(e == Err::equota);
    CHECK(f.s->nodes_owned(1) == Limits::quota_nodes);
    CHECK(made - 1 == Limits::quota_nodes - start);
    // A write that would create several nodes counts them all.
    CHECK(f.s->rm(1, 0, S("data/n0")) == Err::none);
    CHECK(f.w(1, "data/x/y", "") == Err::equota);
    CHECK(f.w(1, "data/x", "") == Err::none);
    // Freed nodes are given back.
    CHECK(f.s->rm(0, 0, S("/local/domain/1/data")) == Err::none);
    CHECK(f.s->nodes_owned(1) == 0);

    for (int i = 0; i < 128; ++i) REQUIRE(f.s->watch(1, S("w" + std::to_string(i)), S("t"), false) == Err::none);
    CHECK(f.s->watch(1, S("w128"), S("t"), false) == Err::equota);
    CHECK(f.s->watch(0, S("w128"), S("t"), false) == Err::none);
    f.s->reset_watches(1);
    CHECK(f.s->watches_of(1) == 0);
    CHECK(f.s->watch(1, S("w0"), S("t"), false) == Err::none);

    uint32_t ids[11];
    for (int i = 0; i < 10; ++i) REQUIRE(f.s->transaction_start(1, ids[i]) == Err::none);
    CHECK(f.s->transaction_start(1, ids[10]) == Err::equota);
    CHECK(f.s->transaction_end(1, ids[0], false) == Err::none);
    CHECK(f.s->transaction_start(1, ids[10]) == Err::none);
    f.s->reset_watches(1);   // ends its transactions too
    CHECK(f.s->transactions_of(1) == 0);

    for (int i = 0; i < 1100; ++i) REQUIRE(f.w(0, "/dom0/n" + std::to_string(i), "") == Err::none);
}

TEST_CASE("xenstore quotas: a transaction's creations count against the quota")
{
    Fixture f;
    f.home(1);
    for (uint32_t i = 1; i < Limits::quota_nodes - 1; ++i) REQUIRE(f.w(1, "data/n" + std::to_string(i), "") == Err::none);
    CHECK(f.s->nodes_owned(1) == Limits::quota_nodes - 1);
    uint32_t tx = 0;
    REQUIRE(f.s->transaction_start(1, tx) == Err::none);
    CHECK(f.w(1, "data/t1", "", tx) == Err::none);
    CHECK(f.w(1, "data/t2", "", tx) == Err::equota);
    CHECK(f.s->transaction_end(1, tx, true) == Err::none);
    CHECK(f.s->nodes_owned(1) == Limits::quota_nodes);
}

TEST_CASE("xenstore storage: a domU cannot take all the blocks")
{
    Fixture f;
    f.home(1);
    Err e = Err::none;
    int i = 0;
    for (; i < 1000 && e == Err::none; ++i) e = f.w(1, "data/v" + std::to_string(i), std::string(2048, 'b'));
    CHECK(e == Err::equota);
    CHECK(f.s->blocks_used() < Limits::blocks / 2);
    CHECK(f.w(0, "/still", std::string(4096, 'k')) == Err::none);
}

// ---- the wire protocol ----

namespace {

struct Msg {
    Header h;
    std::string body;
};

std::vector<Msg> drain_out(Outbox& o)
{
    std::vector<Msg> out;
    std::string raw;
    while (o.len) {
        raw.push_back(o.buf[o.head]);
        o.head = (o.head + 1) % Outbox::capacity;
        --o.len;
    }
    for (size_t off = 0; off + sizeof(Header) <= raw.size();) {
        Msg m{};
        std::memcpy(&m.h, raw.data() + off, sizeof m.h);
        m.body = raw.substr(off + sizeof m.h, m.h.len);
        off += sizeof m.h + m.h.len;
        out.push_back(m);
    }
    return out;
}

struct Wire {
    Fixture f;
    std::unique_ptr<Outbox> out{new Outbox{}};
    uint32_t next = 1;
    std::vector<Msg> call(uint16_t dom, MsgType t, const std::string& payload, uint32_t tx = 0)
    {
        const Header h{static_cast<uint32_t>(t), next++, tx, static_cast<uint32_t>(payload.size())};
        REQUIRE(handle(*f.s, dom, h, payload.data(), *out, nullptr));
        auto msgs = drain_out(*out);
        for (auto& m : msgs) {
            if (m.h.type != static_cast<uint32_t>(MsgType::watch_event)) {
                CHECK(m.h.req_id == h.req_id);
                CHECK(m.h.tx_id == tx);
            }
        }
        return msgs;
    }
    std::string one(uint16_t dom, MsgType t, const std::string& payload, uint32_t tx = 0)
    {
        auto m = call(dom, t, payload, tx);
        REQUIRE(m.size() == 1);
        if (m[0].h.type == static_cast<uint32_t>(MsgType::error)) return "ERR " + m[0].body;
        CHECK(m[0].h.type == static_cast<uint32_t>(t));
        return m[0].body;
    }
};

std::string z(const std::string& s) { return s + std::string(1, '\0'); }

} // namespace

TEST_CASE("xenstore protocol: requests and replies as xs_wire.h has them")
{
    Wire w;
    w.f.home(1);
    CHECK(w.one(1, MsgType::read, z("name")) == "guest1");
    CHECK(w.one(1, MsgType::write, z("data/k") + "value") == z("OK"));
    CHECK(w.one(1, MsgType::read, z("data/k")) == "value");
    CHECK(w.one(1, MsgType::mkdir, z("data/dir")) == z("OK"));
    CHECK(w.one(1, MsgType::directory, z("data")) == z("k") + z("dir"));
    CHECK(w.one(1, MsgType::get_perms, z("data/k")) == z("n1"));
    CHECK(w.one(1, MsgType::set_perms, z("data/k") + z("n1") + z("r0") + z("b7")) == z("OK"));
    CHECK(w.one(1, MsgType::get_perms, z("data/k")) == z("n1") + z("r0") + z("b7"));
    CHECK(w.one(1, MsgType::set_perms, z("data/k") + z("x1")) == z("ERR EINVAL"));
    CHECK(w.one(1, MsgType::rm, z("data/k")) == z("OK"));
    CHECK(w.one(1, MsgType::read, z("data/k")) == z("ERR ENOENT"));
    CHECK(w.one(1, MsgType::read, z("/local/domain/0/name")) == z("ERR EACCES"));
    CHECK(w.one(1, MsgType::read, "no-nul") == z("ERR EINVAL"));
    CHECK(w.one(1, MsgType::get_domain_path, z("1")) == z("/local/domain/1"));
    CHECK(w.one(1, MsgType::get_domain_path, z("x")) == z("ERR EINVAL"));
    CHECK(w.one(1, MsgType::is_domain_introduced, z("0")) == z("T"));
    CHECK(w.one(1, MsgType::is_domain_introduced, z("1")) == z("F"));
    CHECK(w.one(1, MsgType::introduce, z("1") + z("4711") + z("3")) == z("ERR EACCES"));
    CHECK(w.one(0, MsgType::introduce, z("1") + z("4711") + z("3")) == z("ERR ENOSYS"));   // no hooks here
    CHECK(w.one(1, MsgType::release, z("1")) == z("ERR EACCES"));
    CHECK(w.one(1, MsgType::control, z("print")) == z("ERR ENOSYS"));
    CHECK(w.one(1, static_cast<MsgType>(999), "") == z("ERR ENOSYS"));
    CHECK(w.one(1, MsgType::reset_watches, "") == z("OK"));
    CHECK(w.one(1, MsgType::write, z("data/big") + std::string(2049, 'x')) == z("ERR E2BIG"));
}

TEST_CASE("xenstore protocol: WATCH answers OK, then its first event; events carry path and token")
{
    Wire w;
    w.f.home(1);
    w.f.s->set_sink([](void* ctx, uint16_t, Str p, Str t) {
        REQUIRE(push_event(*static_cast<Outbox*>(ctx), p, t));
    }, w.out.get());
    auto m = w.call(1, MsgType::watch, z("data/w") + z("T1"));
    REQUIRE(m.size() == 2);
    CHECK(m[0].h.type == static_cast<uint32_t>(MsgType::watch));
    CHECK(m[0].body == z("OK"));
    CHECK(m[1].h.type == static_cast<uint32_t>(MsgType::watch_event));
    CHECK(m[1].body == z("data/w") + z("T1"));
    m = w.call(1, MsgType::write, z("data/w") + "x");
    REQUIRE(m.size() == 2);
    CHECK(m[0].body == z("data/w") + z("T1"));
    CHECK(m[1].body == z("OK"));
    CHECK(w.one(1, MsgType::unwatch, z("data/w") + z("T1")) == z("OK"));
    CHECK(w.one(1, MsgType::unwatch, z("data/w") + z("T1")) == z("ERR ENOENT"));
}

TEST_CASE("xenstore protocol: transactions over the wire, EAGAIN on conflict")
{
    Wire w;
    w.f.home(1);
    const std::string id = w.one(1, MsgType::transaction_start, z(""));
    REQUIRE(id.size() >= 2);
    REQUIRE(id.back() == '\0');
    const uint32_t tx = static_cast<uint32_t>(std::stoul(id));
    CHECK(w.one(1, MsgType::transaction_start, z(""), tx) == z("ERR EBUSY"));
    CHECK(w.one(1, MsgType::write, z("data/t") + "in-tx", tx) == z("OK"));
    CHECK(w.one(1, MsgType::read, z("data/t")) == z("ERR ENOENT"));
    CHECK(w.one(1, MsgType::read, z("data/t"), tx) == "in-tx");
    CHECK(w.one(1, MsgType::transaction_end, z("X"), tx) == z("ERR EINVAL"));
    CHECK(w.one(1, MsgType::transaction_end, z("T"), tx) == z("OK"));
    CHECK(w.one(1, MsgType::read, z("data/t")) == "in-tx");
    const uint32_t t2 = static_cast<uint32_t>(std::stoul(w.one(1, MsgType::transaction_start, z(""))));
    CHECK(w.one(1, MsgType::read, z("data/t"), t2) == "in-tx");
    CHECK(w.one(1, MsgType::write, z("data/u") + "x", t2) == z("OK"));
    CHECK(w.one(1, MsgType::write, z("data/t") + "outside") == z("OK"));
    CHECK(w.one(1, MsgType::transaction_end, z("T"), t2) == z("ERR EAGAIN"));
    CHECK(w.one(1, MsgType::transaction_end, z("T"), t2) == z("ERR ENOENT"));
}

// ---- the ring ----

namespace {

struct Client {
    std::unique_ptr<RingInterface> page{new RingInterface{}};
    uint32_t sent = 0;
    // As a front end: as much as fits in req[].
    uint32_t send(const std::string& bytes, uint32_t from = 0)
    {
        RingInterface& r = *page;
        uint32_t k = from;
        while (k < bytes.size() && r.req_prod - r.req_cons < ring_size) {
            r.req[r.req_prod & (ring_size - 1)] = bytes[k++];
            ++r.req_prod;
        }
        return k;
    }
    std::string receive()
    {
        RingInterface& r = *page;
        std::string out;
        while (r.rsp_cons != r.rsp_prod) out.push_back(r.rsp[r.rsp_cons++ & (ring_size - 1)]);
        return out;
    }
};

std::string message(MsgType t, uint32_t req, const std::string& payload)
{
    Header h{static_cast<uint32_t>(t), req, 0, static_cast<uint32_t>(payload.size())};
    return std::string(reinterpret_cast<const char*>(&h), sizeof h) + payload;
}

} // namespace

TEST_CASE("xenstore ring: a message larger than the ring arrives in pieces")
{
    Client c;
    std::unique_ptr<Inbox> in(new Inbox{});
    const std::string msg = message(MsgType::write, 7, z("/x") + std::string(3000, 'v'));
    uint32_t sent = c.send(msg);
    CHECK(sent == ring_size);
    int rounds = 0;
    PullResult r{};
    for (;;) {
        r = pull(*c.page, *in);
        if (r.status != Pull::idle) break;
        sent = c.send(msg, sent);
        REQUIRE(++rounds < 10);
    }
    REQUIRE(r.status == Pull::message);
    CHECK(in->hdr.req_id == 7);
    CHECK(std::string(in->payload, in->hdr.len) == msg.substr(sizeof(Header)));
    CHECK(c.page->req_cons == c.page->req_prod);
    done(*in);
    // Two messages in one go come out one at a time.
    c.send(message(MsgType::read, 8, z("/a")) + message(MsgType::read, 9, z("/b")));
    REQUIRE(pull(*c.page, *in).status == Pull::message);
    CHECK(in->hdr.req_id == 8);
    done(*in);
    REQUIRE(pull(*c.page, *in).status == Pull::message);
    CHECK(in->hdr.req_id == 9);
    done(*in);
    CHECK(pull(*c.page, *in).status == Pull::idle);
}

TEST_CASE("xenstore ring: a hostile client is detected, not believed")
{
    Client c;
    std::unique_ptr<Inbox> in(new Inbox{});
    SECTION("req_prod runs more than a ring ahead")
    {
        c.page->req_prod = 5000;
        CHECK(pull(*c.page, *in).status == Pull::hostile);
    }
    SECTION("req_prod behind req_cons")
    {
        c.send(message(MsgType::read, 1, z("/a")));
        REQUIRE(pull(*c.page, *in).status == Pull::message);
        done(*in);
        c.page->req_prod -= 4;
        CHECK(pull(*c.page, *in).status == Pull::hostile);
    }
    SECTION("a length over XENSTORE_PAYLOAD_MAX")
    {
        Header h{static_cast<uint32_t>(MsgType::write), 1, 0, payload_max + 1};
        c.send(std::string(reinterpret_cast<const char*>(&h), sizeof h));
        CHECK(pull(*c.page, *in).status == Pull::hostile);
    }
    SECTION("req_cons scribbled by the client is ignored")
    {
        c.send(message(MsgType::read, 1, z("/a")));
        c.page->req_cons = 12345;
        REQUIRE(pull(*c.page, *in).status == Pull::message);
        CHECK(c.page->req_cons == c.page->req_prod);
    }
    SECTION("rsp_cons past rsp_prod")
    {
        std::unique_ptr<Outbox> o(new Outbox{});
        REQUIRE(push(*o, Header{2, 1, 0, 1}, "x", 1));
        c.page->rsp_cons = 3000;
        bool moved = false;
        CHECK(flush(*c.page, *o, moved) == Flush::hostile);
    }
}

TEST_CASE("xenstore ring: replies wait in the outbox while rsp[] is full")
{
    Client c;
    std::unique_ptr<Outbox> o(new Outbox{});
    const std::string big(1000, 'r');
    CHECK(room_for_reply(*o));
    REQUIRE(push(*o, Header{2, 1, 0, 1000}, big.data(), 1000));
    REQUIRE(push(*o, Header{2, 2, 0, 1000}, big.data(), 1000));
    bool moved = false;
    REQUIRE(flush(*c.page, *o, moved) == Flush::ok);
    CHECK(moved);
    CHECK(c.page->rsp_prod == ring_size);
    CHECK(o->len == 2 * 1016 - ring_size);
    REQUIRE(flush(*c.page, *o, moved) == Flush::ok);
    CHECK_FALSE(moved);   // the client has not read
    std::string got = c.receive();
    REQUIRE(flush(*c.page, *o, moved) == Flush::ok);
    got += c.receive();
    CHECK(got.size() == 2 * 1016);
    CHECK(o->len == 0);
    // Filling the outbox: no room for a full reply any more.
    while (push(*o, Header{2, 3, 0, 1000}, big.data(), 1000)) {}
    CHECK_FALSE(room_for_reply(*o));
}
