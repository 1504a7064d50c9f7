#include <catch2/catch.hpp>

#include "vmm/runstate_account.hpp"

using namespace menhir;
using menhir::xen::Runstate;

namespace {
uint64_t t(const runstate::Account& a, Runstate s) { return a.info.time[static_cast<int>(s)]; }
}

TEST_CASE("runstate: a new vCPU is offline from its creation", "[runstate]")
{
    runstate::Account a;
    runstate::reset(a, 1000);
    CHECK(a.info.state == Runstate::offline);
    CHECK(a.info.state_entry_time == 1000);
    for (uint64_t x : a.info.time) CHECK(x == 0);
}

TEST_CASE("runstate: each state's time is what was spent in it", "[runstate]")
{
    runstate::Account a;
    runstate::reset(a, 100);
    runstate::woken(a, 150);            // VCPUOP_up
    runstate::loaded(a, 400);           // offline 100-150, runnable 150-400
    CHECK(a.info.state == Runstate::running);
    CHECK(a.info.state_entry_time == 400);
    CHECK(t(a, Runstate::offline) == 50);
    CHECK(t(a, Runstate::runnable) == 250);
    runstate::unloaded(a, true, true, 1400);   // ran 1000, blocks
    CHECK(a.info.state == Runstate::blocked);
    CHECK(t(a, Runstate::running) == 1000);
    runstate::woken(a, 2400);
    runstate::woken(a, 2500);           // the first wake counts
    runstate::loaded(a, 2600);
    CHECK(t(a, Runstate::blocked) == 1000);
    CHECK(t(a, Runstate::runnable) == 250 + 200);
    runstate::unloaded(a, false, true, 2700);  // preempted
    CHECK(a.info.state == Runstate::runnable);
    CHECK(t(a, Runstate::running) == 1100);
    runstate::loaded(a, 2800);          // no wake needed: it was runnable
    CHECK(t(a, Runstate::runnable) == 450 + 100);
    runstate::unloaded(a, true, false, 2900);  // VCPUOP_down
    CHECK(a.info.state == Runstate::offline);
    // The times add up to the time since creation, always.
    uint64_t sum = 0;
    for (uint64_t x : a.info.time) sum += x;
    CHECK(sum == a.info.state_entry_time - 100);
}

TEST_CASE("runstate: a wake stamped before the block counts nothing backwards", "[runstate]")
{
    runstate::Account a;
    runstate::reset(a, 0);
    runstate::loaded(a, 10);
    runstate::unloaded(a, true, true, 50);
    runstate::woken(a, 40);             // read on another CPU just before the block
    runstate::loaded(a, 60);
    CHECK(t(a, Runstate::blocked) == 0);
    CHECK(t(a, Runstate::runnable) == 10);   // 50..60: from the block, not the earlier stamp
    CHECK(t(a, Runstate::offline) == 10);    // 0..10: loaded with no wake noted
    CHECK(a.info.state_entry_time == 60);
    uint64_t sum = 0;
    for (uint64_t x : a.info.time) sum += x;
    CHECK(sum == 60);
}
