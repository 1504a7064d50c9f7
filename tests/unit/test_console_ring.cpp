// The back end's side of a xencons_interface ring against a guest that
// writes any indices it likes, and the serial input cycle.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernel/console_input.hpp"
#include "vmm/console_ring.hpp"

using namespace menhir;
using conring::Put;
using conring::Status;

namespace {

// The guest's side: append to out[] as a front end does.
void guest_write(xen::XenconsInterface& r, const std::string& s)
{
    for (char c : s) {
        r.out[r.out_prod & (xen::xencons_out_size - 1)] = c;
        ++r.out_prod;
    }
}

std::string drain(xen::XenconsInterface& r, uint32_t max = xen::xencons_out_size, Status* st = nullptr)
{
    std::vector<char> buf(max + 1, '#');
    const conring::Drained d = conring::drain_out(r, buf.data(), max);
    if (st) *st = d.status;
    REQUIRE(d.bytes <= max);
    CHECK(buf[max] == '#');   // never past max
    return std::string(buf.data(), d.bytes);
}

} // namespace

TEST_CASE("conring: layout is Xen's io/console.h", "[conring]")
{
    STATIC_REQUIRE(sizeof(xen::XenconsInterface) == 3088);
    STATIC_REQUIRE(offsetof(xen::XenconsInterface, out) == 1024);
    STATIC_REQUIRE(offsetof(xen::XenconsInterface, out_prod) == 3084);
    STATIC_REQUIRE(xen::special_console_gfn == 0xfefff);
    STATIC_REQUIRE(xen::special_xenstore_gfn == 0xfeffc);
}

TEST_CASE("conring: drain takes what the guest wrote and advances out_cons", "[conring]")
{
    xen::XenconsInterface r{};
    CHECK(drain(r).empty());
    guest_write(r, "hello\n");
    CHECK(drain(r) == "hello\n");
    CHECK(r.out_cons == 6);
    CHECK(drain(r).empty());
}

TEST_CASE("conring: at most max bytes per call, the rest stays", "[conring]")
{
    xen::XenconsInterface r{};
    guest_write(r, "abcdefgh");
    CHECK(drain(r, 3) == "abc");
    CHECK(r.out_cons == 3);
    CHECK(drain(r, 100) == "defgh");
}

TEST_CASE("conring: indices wrap at the ring size and at 2^32", "[conring]")
{
    xen::XenconsInterface r{};
    r.out_cons = r.out_prod = 0xffffffffu - 5;   // free-running indices near the 32-bit wrap
    const std::string full(xen::xencons_out_size, 'x');
    guest_write(r, full);
    Status st{};
    CHECK(drain(r, xen::xencons_out_size, &st) == full);   // a full ring is not hostile
    CHECK(st == Status::ok);
    CHECK(r.out_cons == static_cast<uint32_t>(0xffffffffu - 5 + xen::xencons_out_size));
    guest_write(r, "tail");
    CHECK(drain(r) == "tail");
}

TEST_CASE("conring: a producer beyond the ring is hostile and changes nothing", "[conring]")
{
    for (uint32_t bogus : {xen::xencons_out_size + 1, 100000u, 0xffffffffu}) {
        xen::XenconsInterface r{};
        r.out_cons = 7;
        r.out_prod = 7 + bogus;   // 0xffffffff: the producer one step behind its consumer
        Status st{};
        CHECK(drain(r, xen::xencons_out_size, &st).empty());
        CHECK(st == Status::hostile);
        CHECK(r.out_cons == 7);
    }
}

TEST_CASE("conring: input goes into in[] until it is full", "[conring]")
{
    xen::XenconsInterface r{};
    CHECK(conring::put_in(r, 'a') == Put::stored);
    CHECK(r.in_prod == 1);
    CHECK(r.in[0] == 'a');
    for (uint32_t i = 1; i < xen::xencons_in_size; ++i) REQUIRE(conring::put_in(r, 'b') == Put::stored);
    CHECK(conring::put_in(r, 'c') == Put::full);   // dropped
    CHECK(r.in_prod == xen::xencons_in_size);
    r.in_cons = 1;   // the guest took one
    CHECK(conring::put_in(r, 'd') == Put::stored);
    CHECK(r.in[0] == 'd');   // wrapped into the freed slot
}

TEST_CASE("conring: an in_cons ahead of in_prod is hostile", "[conring]")
{
    xen::XenconsInterface r{};
    r.in_prod = 5;
    r.in_cons = 6;
    CHECK(conring::put_in(r, 'x') == Put::hostile);
    CHECK(r.in_prod == 5);
    r.in_cons = 5 - xen::xencons_in_size - 1;
    CHECK(conring::put_in(r, 'x') == Put::hostile);
}

TEST_CASE("console input: dom0 -> Menhir -> each domU by id -> dom0", "[console]")
{
    using console_input::Kind;
    using console_input::Target;
    const Target dom0{Kind::dom0, 0}, menhir_keys{Kind::menhir, 0};
    const uint16_t ids[] = {3, 1, 7, 1};   // any order, duplicates
    CHECK(console_input::next(dom0, ids, 4) == menhir_keys);
    CHECK(console_input::next(menhir_keys, ids, 4) == Target{Kind::domain, 1});
    CHECK(console_input::next(Target{Kind::domain, 1}, ids, 4) == Target{Kind::domain, 3});
    CHECK(console_input::next(Target{Kind::domain, 3}, ids, 4) == Target{Kind::domain, 7});
    CHECK(console_input::next(Target{Kind::domain, 7}, ids, 4) == dom0);
    // No domU takes input: the old two-way toggle.
    CHECK(console_input::next(menhir_keys, nullptr, 0) == dom0);
    // The current domain left (died, handed over): the next one above it.
    const uint16_t left[] = {1, 7};
    CHECK(console_input::next(Target{Kind::domain, 3}, left, 2) == Target{Kind::domain, 7});
    // Domain 0 is never a domU target.
    const uint16_t zero[] = {0};
    CHECK(console_input::next(menhir_keys, zero, 1) == dom0);
}
