// dom0's own xenstore watches (dom0/xenstore/local_watch): fed by a real
// Store's sink as dom0's xenstored feeds them, delivered later, bounded.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dom0/xenstore/local_watch.hpp"
#include "dom0/xenstore/store.hpp"

using namespace xenstore;

namespace {

Str S(const std::string& s) { return Str{s.data(), static_cast<uint32_t>(s.size())}; }

struct Call {
    std::string path, token;
    bool rescan;
};

struct Fixture {
    std::unique_ptr<Store> store{new Store};
    std::unique_ptr<LocalWatches> local{new LocalWatches{}};
    std::vector<Call> calls;
    std::vector<std::string> domu_events;
    // Set by a test: run inside a callback, as a back end writing what it watches would.
    std::function<void(const Call&)> during;

    Fixture()
    {
        store->init();
        store->set_sink([](void* ctx, uint16_t dom, Str p, Str t) {
            auto* f = static_cast<Fixture*>(ctx);
            if (dom == 0) f->local->event(p, t);
            else f->domu_events.push_back(std::string(p.p, p.n));
        }, this);
    }
    static void fn(void* ctx, const char* path, const char* token, bool rescan)
    {
        auto* f = static_cast<Fixture*>(ctx);
        f->calls.push_back({path, token, rescan});
        if (f->during) f->during(f->calls.back());
    }
    // What xenstored::watch_local does.
    Err watch(const std::string& path, const std::string& token)
    {
        if (Err e = local->add(path.c_str(), token.c_str(), fn, this); e != Err::none) return e;
        const Err e = store->watch(0, S(path), S(token));
        if (e != Err::none) (void)local->remove(path.c_str(), token.c_str());
        return e;
    }
    Err write(uint16_t dom, const std::string& p, const std::string& v) { return store->write(dom, 0, S(p), S(v)); }
};

} // namespace

TEST_CASE("local watch: events wait for deliver(), the first one included")
{
    Fixture f;
    REQUIRE(f.watch("/local/domain/3/device/vbd/51712/state", "fe-3-51712") == Err::none);
    CHECK(f.calls.empty());   // the store fired at once; nothing was called from inside it
    CHECK(f.local->pending());
    f.local->deliver();
    REQUIRE(f.calls.size() == 1);
    CHECK(f.calls[0].path == "/local/domain/3/device/vbd/51712/state");
    CHECK(f.calls[0].token == "fe-3-51712");
    CHECK_FALSE(f.calls[0].rescan);
    CHECK_FALSE(f.local->pending());

    REQUIRE(f.write(0, "/local/domain/3/device/vbd/51712/state", "1") == Err::none);
    REQUIRE(f.write(0, "/local/domain/3/device/vbd/51712/state", "3") == Err::none);
    REQUIRE(f.write(0, "/local/domain/3/device/vbd/51712/ring-ref", "8") == Err::none);   // not watched
    CHECK(f.calls.size() == 1);
    CHECK(f.local->queued() == 2);
    f.local->deliver();
    REQUIRE(f.calls.size() == 3);
    CHECK(f.calls[2].path == "/local/domain/3/device/vbd/51712/state");
    // A domU's watches still go to it, not here.
    REQUIRE(f.store->introduce(3) == Err::none);
    REQUIRE(f.store->watch(3, S("/local/domain/3/device"), S("t")) == Err::none);
    CHECK(f.domu_events.size() == 1);
    CHECK(f.local->queued() == 0);
}

TEST_CASE("local watch: a callback that writes what it watches is called again only on the next deliver()")
{
    Fixture f;
    REQUIRE(f.watch("/local/domain/0/backend/vbd/3/51712", "be") == Err::none);
    int writes = 0;
    f.during = [&](const Call&) {
        if (writes < 5) {
            ++writes;
            REQUIRE(f.write(0, "/local/domain/0/backend/vbd/3/51712/state", std::to_string(writes)) == Err::none);
        }
    };
    f.local->deliver();   // the first event: it writes, which queues one more
    CHECK(f.calls.size() == 1);
    CHECK(f.local->pending());
    f.local->deliver();
    CHECK(f.calls.size() == 2);
    CHECK(f.calls[1].path == "/local/domain/0/backend/vbd/3/51712/state");
}

TEST_CASE("local watch: overflow and long paths become one rescan, after the queued events")
{
    Fixture f;
    REQUIRE(f.watch("/local/domain/5/device", "fe-5") == Err::none);
    REQUIRE(f.watch("/local/domain/6/device", "fe-6") == Err::none);
    f.local->deliver();
    f.calls.clear();
    for (uint32_t i = 0; i < LocalWatches::queue_len + 10; ++i)
        REQUIRE(f.write(0, "/local/domain/5/device/vbd/" + std::to_string(i), "x") == Err::none);
    CHECK(f.local->queued() == LocalWatches::queue_len);
    f.local->deliver();
    REQUIRE(f.calls.size() == LocalWatches::queue_len + 1);
    for (uint32_t i = 0; i < LocalWatches::queue_len; ++i) CHECK_FALSE(f.calls[i].rescan);
    CHECK(f.calls.back().rescan);
    CHECK(f.calls.back().path == "/local/domain/5/device");
    CHECK(f.calls.back().token == "fe-5");
    CHECK_FALSE(f.local->pending());

    // A path too long for the queue: a rescan for its watch only.
    f.calls.clear();
    const std::string longp = "/local/domain/6/device/" + std::string(LocalWatches::path_max, 'a');
    REQUIRE(f.write(0, longp, "x") == Err::none);
    CHECK(f.local->queued() == 0);
    CHECK(f.local->pending());
    f.local->deliver();
    REQUIRE(f.calls.size() == 1);
    CHECK(f.calls[0].rescan);
    CHECK(f.calls[0].token == "fe-6");
}

TEST_CASE("local watch: a removed or replaced watch gets none of its old events")
{
    Fixture f;
    REQUIRE(f.watch("/a", "tok") == Err::none);
    REQUIRE(f.write(0, "/a/x", "1") == Err::none);
    CHECK(f.local->queued() == 2);
    REQUIRE(f.local->remove("/a", "tok") == Err::none);
    REQUIRE(f.store->unwatch(0, S("/a"), S("tok")) == Err::none);
    REQUIRE(f.watch("/a", "tok") == Err::none);   // the same slot, a new serial; its own first event
    f.local->deliver();
    REQUIRE(f.calls.size() == 1);
    CHECK(f.calls[0].path == "/a");
    CHECK(f.local->remove("/a", "nope") == Err::enoent);
}

TEST_CASE("local watch: limits and refusals")
{
    Fixture f;
    CHECK(f.local->add(nullptr, "t", Fixture::fn, &f) == Err::einval);
    CHECK(f.local->add("/p", "t", nullptr, &f) == Err::einval);
    CHECK(f.local->add(std::string(LocalWatches::path_max, 'p').c_str(), "t", Fixture::fn, &f) == Err::e2big);
    CHECK(f.local->add("/p", std::string(LocalWatches::token_max, 't').c_str(), Fixture::fn, &f) == Err::e2big);
    REQUIRE(f.watch("/p", "t") == Err::none);
    CHECK(f.watch("/q", "t") == Err::eexist);   // tokens name dom0's watches
    for (uint32_t i = 1; i < LocalWatches::max_watches; ++i) REQUIRE(f.watch("/p", "t" + std::to_string(i)) == Err::none);
    CHECK(f.watch("/p", "full") == Err::enospc);
    // A path the store refuses leaves no local watch behind.
    REQUIRE(f.local->remove("/p", "t1") == Err::none);
    CHECK(f.watch("bad//path", "t1") != Err::none);
    CHECK(f.watch("/p2", "t1") == Err::none);
}
