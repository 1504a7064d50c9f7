// Planning and writing the PVH start-of-day data: where each piece goes,
// every refusal, and the bytes the guest finds, read back from a fake
// guest memory.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kernel/lib/types.hpp"
#include "vmm/pvh_start_info.hpp"

namespace pvh = menhir::pvh;
using pvh::Error;

namespace {

constexpr uint64_t KiB4 = 4096;
constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

// Guest RAM as a sparse byte map; writes past backed_end fail.
struct FakeGuest {
    std::map<uint64_t, uint8_t> bytes;
    uint64_t backed_end = 4 * GiB;
    int calls = 0;
    int fail_at_call = -1;

    static bool write(void* ctx, uint64_t gpa, const void* src, size_t len)
    {
        auto* g = static_cast<FakeGuest*>(ctx);
        if (g->calls++ == g->fail_at_call)
            return false;
        if (gpa > g->backed_end || len > g->backed_end - gpa)
            return false;
        for (size_t i = 0; i < len; ++i)
            g->bytes[gpa + i] = src != nullptr ? static_cast<const uint8_t*>(src)[i] : 0;
        return true;
    }
    template <typename T>
    T read(uint64_t gpa) const
    {
        uint8_t raw[sizeof(T)];
        for (size_t i = 0; i < sizeof(T); ++i)
            raw[i] = bytes.at(gpa + i);
        T v;
        std::memcpy(&v, raw, sizeof v);
        return v;
    }
    std::string string(uint64_t gpa) const
    {
        std::string s;
        for (uint8_t c; (c = bytes.at(gpa)) != 0; ++gpa)
            s.push_back(static_cast<char>(c));
        return s;
    }
};

pvh::BootInput basic()
{
    pvh::BootInput in{};
    in.memory_bytes = 64 * MiB;
    in.reserved_top_bytes = 4 * KiB4;
    in.kernel_end = 0x123456;
    in.cmdline = "console=hvc0 earlyprintk=xen";
    return in;
}

const std::vector<uint8_t> initrd(10000, 0xab);
const std::vector<uint8_t> blob{1, 2, 3};

pvh::BootInput with_modules()
{
    pvh::BootInput in = basic();
    in.module_count = 2;
    in.modules[0] = {initrd.data(), initrd.size(), "initrd"};
    in.modules[1] = {blob.data(), blob.size(), nullptr};
    return in;
}

} // namespace

TEST_CASE("pvh: structure layout", "[pvh]")
{
    STATIC_REQUIRE(sizeof(pvh::StartInfo) == 56);
    STATIC_REQUIRE(sizeof(pvh::ModlistEntry) == 32);
    STATIC_REQUIRE(sizeof(pvh::MemmapEntry) == 24);
    STATIC_REQUIRE(pvh::start_info_magic == 0x336ec578);
}

TEST_CASE("pvh: placement after the kernel", "[pvh]")
{
    const pvh::BootInput in = with_modules();
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);
    const uint64_t s = 0x124000;   // the page after kernel_end
    CHECK(l.start_info == s);
    CHECK(l.modlist == s + 56);
    CHECK(l.memmap == s + 56 + 2 * 32);
    CHECK(l.memmap_entries == 2);
    CHECK(l.cmdline == s + 56 + 64 + 48);
    const uint64_t cmd_len = std::strlen(in.cmdline) + 1;
    CHECK(l.module_cmdline[0] == l.cmdline + cmd_len);
    CHECK(l.module_cmdline[1] == 0);
    CHECK(l.module_base[0] == s + KiB4);
    CHECK(l.module_base[1] == s + KiB4 + 3 * KiB4);   // 10000 bytes take three pages
    CHECK(l.end == l.module_base[1] + blob.size());
    for (size_t i = 2; i < pvh::max_modules; ++i) {
        CHECK(l.module_base[i] == 0);
        CHECK(l.module_cmdline[i] == 0);
    }
}

TEST_CASE("pvh: absent pieces are 0, page 0 is never used", "[pvh]")
{
    pvh::BootInput in{};
    in.memory_bytes = 16 * MiB;
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.start_info == KiB4);   // kernel_end 0 would put it at 0, which reads as "absent"
    CHECK(l.modlist == 0);
    CHECK(l.memmap == KiB4 + 56);
    CHECK(l.memmap_entries == 1);
    CHECK(l.cmdline == 0);
    CHECK(l.end == KiB4 + 56 + 24);

    in.kernel_end = 0x200000;   // already page-aligned: no page skipped
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.start_info == 0x200000);

    in.kernel_end = 1;
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.start_info == KiB4);

    // A module of size 0 still gets its own (empty) page-aligned slot.
    in.module_count = 1;
    in.modules[0] = {nullptr, 0, "empty"};
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.modlist != 0);
    CHECK(l.module_base[0] == 2 * KiB4);
    CHECK(l.end == 2 * KiB4);
}

TEST_CASE("pvh: command lines are bounded", "[pvh]")
{
    const std::string longline(5000, 'x');
    pvh::BootInput in = basic();
    in.cmdline = longline.c_str();
    in.module_count = 1;
    in.modules[0] = {blob.data(), blob.size(), longline.c_str()};
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.module_cmdline[0] == l.cmdline + pvh::max_cmdline);
    CHECK(l.module_base[0] == menhir::align_up(l.module_cmdline[0] + pvh::max_cmdline, KiB4));

    FakeGuest g;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &g));
    CHECK(g.string(l.cmdline) == std::string(pvh::max_cmdline - 1, 'x'));
    CHECK(g.string(l.module_cmdline[0]) == std::string(pvh::max_cmdline - 1, 'x'));

    // Exactly max_cmdline - 1 characters fit whole.
    const std::string fits(pvh::max_cmdline - 1, 'y');
    in.cmdline = fits.c_str();
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.module_cmdline[0] == l.cmdline + pvh::max_cmdline);
    FakeGuest h;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &h));
    CHECK(h.string(l.cmdline) == fits);

    in.cmdline = "";
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.cmdline != 0);
    CHECK(l.module_cmdline[0] == l.cmdline + 1);
}

TEST_CASE("pvh: write puts everything where the plan says", "[pvh]")
{
    const pvh::BootInput in = with_modules();
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);
    FakeGuest g;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &g));

    const auto si = g.read<pvh::StartInfo>(l.start_info);
    CHECK(si.magic == pvh::start_info_magic);
    CHECK(si.version == 1);
    CHECK(si.flags == 0);
    CHECK(si.nr_modules == 2);
    CHECK(si.modlist_paddr == l.modlist);
    CHECK(si.cmdline_paddr == l.cmdline);
    CHECK(si.rsdp_paddr == 0);
    CHECK(si.memmap_paddr == l.memmap);
    CHECK(si.memmap_entries == 2);
    CHECK(si.reserved == 0);

    const auto m0 = g.read<pvh::ModlistEntry>(l.modlist);
    CHECK(m0.paddr == l.module_base[0]);
    CHECK(m0.size == initrd.size());
    CHECK(m0.cmdline_paddr == l.module_cmdline[0]);
    CHECK(m0.reserved == 0);
    const auto m1 = g.read<pvh::ModlistEntry>(l.modlist + 32);
    CHECK(m1.paddr == l.module_base[1]);
    CHECK(m1.size == blob.size());
    CHECK(m1.cmdline_paddr == 0);

    const auto e0 = g.read<pvh::MemmapEntry>(l.memmap);
    CHECK(e0.addr == 0);
    CHECK(e0.size == 64 * MiB - 4 * KiB4);
    CHECK(e0.type == pvh::e820_ram);
    CHECK(e0.reserved == 0);
    const auto e1 = g.read<pvh::MemmapEntry>(l.memmap + 24);
    CHECK(e1.addr == 64 * MiB - 4 * KiB4);
    CHECK(e1.size == 4 * KiB4);
    CHECK(e1.type == pvh::e820_reserved);

    CHECK(g.string(l.cmdline) == in.cmdline);
    CHECK(g.string(l.module_cmdline[0]) == "initrd");
    for (size_t i = 0; i < initrd.size(); ++i)
        REQUIRE(g.bytes.at(l.module_base[0] + i) == 0xab);
    for (size_t i = 0; i < blob.size(); ++i)
        CHECK(g.bytes.at(l.module_base[1] + i) == blob[i]);
    // Nothing written at or past the end of the plan, nor below start_info.
    CHECK(g.bytes.begin()->first == l.start_info);
    CHECK(g.bytes.rbegin()->first == l.end - 1);
}

TEST_CASE("pvh: write with no reserved top writes one memmap entry", "[pvh]")
{
    pvh::BootInput in = basic();
    in.reserved_top_bytes = 0;
    in.cmdline = nullptr;
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);
    FakeGuest g;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &g));
    const auto si = g.read<pvh::StartInfo>(l.start_info);
    CHECK(si.memmap_entries == 1);
    CHECK(si.cmdline_paddr == 0);
    CHECK(si.modlist_paddr == 0);
    CHECK(si.nr_modules == 0);
    const auto e0 = g.read<pvh::MemmapEntry>(l.memmap);
    CHECK(e0.size == 64 * MiB);
    CHECK(g.bytes.size() == 56 + 24);
}

TEST_CASE("pvh: plan errors", "[pvh]")
{
    pvh::Layout l;
    auto check = [&](const pvh::BootInput& in, Error want) {
        l.start_info = 0x1234;
        CHECK(pvh::plan(in, l) == want);
        CHECK(l.start_info == 0);   // zeroed on error
        CHECK(l.end == 0);
    };

    pvh::BootInput in = with_modules();
    in.module_count = pvh::max_modules + 1;
    check(in, Error::too_many_modules);
    in.module_count = static_cast<size_t>(-1);
    check(in, Error::too_many_modules);

    in = basic();
    in.memory_bytes = 0;
    check(in, Error::bad_memory_size);
    in.memory_bytes = 64 * MiB + 1;
    check(in, Error::bad_memory_size);
    in.memory_bytes = 64 * MiB;
    in.reserved_top_bytes = 100;
    check(in, Error::bad_memory_size);
    in.reserved_top_bytes = 64 * MiB;
    check(in, Error::bad_memory_size);
    in.reserved_top_bytes = ~uint64_t{0} & ~(KiB4 - 1);
    check(in, Error::bad_memory_size);

    in = basic();
    in.kernel_end = 64 * MiB - 4 * KiB4 + 1;
    check(in, Error::kernel_outside_ram);
    in.kernel_end = ~uint64_t{0};
    check(in, Error::kernel_outside_ram);

    // Kernel ends exactly at the top of usable RAM: no room for start_info.
    in.kernel_end = 64 * MiB - 4 * KiB4;
    check(in, Error::does_not_fit);
    // Room for start_info and the memmap but not the command line.
    in.kernel_end = 64 * MiB - 5 * KiB4;
    in.cmdline = nullptr;
    REQUIRE(pvh::plan(in, l) == Error::none);
    const std::string big(4000, 'z');
    in.cmdline = big.c_str();
    check(in, Error::does_not_fit);

    // Modules too large, up to sizes whose sums would wrap.
    in = with_modules();
    for (uint64_t size : {64 * MiB, uint64_t{1} << 40, ~uint64_t{0}, ~uint64_t{0} - 4095}) {
        in.modules[1].size = size;
        check(in, Error::does_not_fit);
    }
    // A module that fills RAM exactly up to the reserved top fits.
    in = with_modules();
    REQUIRE(pvh::plan(in, l) == Error::none);
    in.modules[1].size = 64 * MiB - 4 * KiB4 - l.module_base[1];
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.end == 64 * MiB - 4 * KiB4);
    in.modules[1].size += 1;
    check(in, Error::does_not_fit);
}

TEST_CASE("pvh: boot data stays below 4 GiB", "[pvh]")
{
    pvh::BootInput in = basic();
    in.memory_bytes = 8 * GiB;
    in.reserved_top_bytes = 16 * KiB4;
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);

    FakeGuest g;
    g.backed_end = 8 * GiB;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &g));
    const auto e0 = g.read<pvh::MemmapEntry>(l.memmap);
    CHECK(e0.size == 8 * GiB - 16 * KiB4);   // the memmap still describes all of RAM

    // A kernel reaching above 4 GiB leaves no room below it.
    in.kernel_end = 4 * GiB + 0x1000;
    CHECK(pvh::plan(in, l) == Error::does_not_fit);
    in.kernel_end = 4 * GiB - KiB4;
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.start_info == 4 * GiB - KiB4);
    in.module_count = 1;
    in.modules[0] = {blob.data(), blob.size(), nullptr};
    CHECK(pvh::plan(in, l) == Error::does_not_fit);   // the module would start at 4 GiB
}

TEST_CASE("pvh: write refuses a mismatched layout and stops at a failed write", "[pvh]")
{
    const pvh::BootInput in = with_modules();
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);

    pvh::Layout bad = l;
    bad.module_base[1] += KiB4;
    FakeGuest g;
    CHECK_FALSE(pvh::write(in, bad, FakeGuest::write, &g));
    CHECK(g.calls == 0);
    bad = l;
    bad.memmap_entries = 100;
    CHECK_FALSE(pvh::write(in, bad, FakeGuest::write, &g));
    CHECK(g.calls == 0);

    pvh::BootInput too_many = in;
    too_many.module_count = 50;
    CHECK_FALSE(pvh::write(too_many, l, FakeGuest::write, &g));
    CHECK(g.calls == 0);

    // A module with bytes to copy but no data.
    pvh::BootInput no_data = in;
    no_data.modules[1].data = nullptr;
    CHECK_FALSE(pvh::write(no_data, l, FakeGuest::write, &g));

    // Count the writes of a good run, then fail each one in turn.
    FakeGuest ok;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &ok));
    const int total = ok.calls;
    CHECK(total >= 8);
    for (int fail = 0; fail < total; ++fail) {
        FakeGuest h;
        h.fail_at_call = fail;
        CHECK_FALSE(pvh::write(in, l, FakeGuest::write, &h));
        CHECK(h.calls == fail + 1);
    }
}

TEST_CASE("pvh: every error has a message", "[pvh]")
{
    for (int e = 0; e <= static_cast<int>(Error::kernel_outside_ram); ++e) {
        const char* s = pvh::to_string(static_cast<Error>(e));
        REQUIRE(s != nullptr);
        CHECK(std::strlen(s) > 0);
    }
}

TEST_CASE("pvh: Xen's special pages past RAM are a reserved memmap entry", "[pvh]")
{
    pvh::BootInput in = basic();
    in.reserved_top_bytes = 0;
    in.special_base = 0xfeff8ull * KiB4;
    in.special_bytes = 8 * KiB4;
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.memmap_entries == 2);
    FakeGuest g;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &g));
    const auto e0 = g.read<pvh::MemmapEntry>(l.memmap);
    CHECK(e0.addr == 0);
    CHECK(e0.size == 64 * MiB);
    CHECK(e0.type == pvh::e820_ram);
    const auto e1 = g.read<pvh::MemmapEntry>(l.memmap + 24);
    CHECK(e1.addr == 0xfeff8000);
    CHECK(e1.size == 8 * KiB4);
    CHECK(e1.type == pvh::e820_reserved);

    // With a reserved top as well: RAM, top, special, in that order.
    in.reserved_top_bytes = 4 * KiB4;
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.memmap_entries == 3);
    FakeGuest g3;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &g3));
    CHECK(g3.read<pvh::MemmapEntry>(l.memmap + 24).addr == 64 * MiB - 4 * KiB4);
    CHECK(g3.read<pvh::MemmapEntry>(l.memmap + 48).addr == 0xfeff8000);
}

TEST_CASE("pvh: a special range inside RAM, misaligned or past 4 GiB is refused", "[pvh]")
{
    pvh::BootInput in = basic();
    in.special_bytes = 8 * KiB4;
    pvh::Layout l;
    in.special_base = 32 * MiB;   // inside RAM
    CHECK(pvh::plan(in, l) == Error::bad_memory_size);
    CHECK(l.start_info == 0);
    in.special_base = 64 * MiB - KiB4;   // overlaps RAM's last page
    CHECK(pvh::plan(in, l) == Error::bad_memory_size);
    in.special_base = 0xfeff8000 + 1;
    CHECK(pvh::plan(in, l) == Error::bad_memory_size);
    in.special_base = 0xfeff8000;
    in.special_bytes = 100;
    CHECK(pvh::plan(in, l) == Error::bad_memory_size);
    in.special_base = 4 * GiB - 4 * KiB4;
    in.special_bytes = 8 * KiB4;   // ends past 4 GiB
    CHECK(pvh::plan(in, l) == Error::bad_memory_size);
    in.special_base = ~uint64_t{0} & ~(KiB4 - 1);
    CHECK(pvh::plan(in, l) == Error::bad_memory_size);
    in.special_base = 4 * GiB - 8 * KiB4;   // ends exactly at 4 GiB
    CHECK(pvh::plan(in, l) == Error::none);
}

namespace {

// A domU's input as both domain builders make it: Xen's special pages past
// RAM and ACPI tables for `vcpus` vCPUs.
pvh::BootInput domu(uint32_t vcpus)
{
    pvh::BootInput in = basic();
    in.reserved_top_bytes = 0;
    in.special_base = 0xfeff8ull * KiB4;
    in.special_bytes = 8 * KiB4;
    in.acpi_vcpus = vcpus;
    in.acpi_madt = true;
    return in;
}

std::vector<pvh::MemmapEntry> read_map(const FakeGuest& g, const pvh::Layout& l)
{
    std::vector<pvh::MemmapEntry> v;
    for (uint32_t i = 0; i < l.memmap_entries; ++i) v.push_back(g.read<pvh::MemmapEntry>(l.memmap + i * 24));
    return v;
}

} // namespace

TEST_CASE("pvh: ACPI tables take the last page of RAM, marked ACPI, with rsdp_paddr", "[pvh]")
{
    pvh::BootInput in = with_modules();
    in.reserved_top_bytes = 0;
    in.special_base = 0xfeff8ull * KiB4;
    in.special_bytes = 8 * KiB4;
    in.acpi_vcpus = 2;
    in.acpi_madt = true;
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.acpi_base == 64 * MiB - KiB4);
    CHECK(l.rsdp == l.acpi_base);
    CHECK(l.end <= l.acpi_base);
    CHECK(l.memmap_entries == 3);

    FakeGuest g;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &g));
    CHECK(g.read<pvh::StartInfo>(l.start_info).rsdp_paddr == l.rsdp);
    const auto map = read_map(g, l);
    REQUIRE(map.size() == 3);
    CHECK((map[0].addr == 0 && map[0].size == 64 * MiB - KiB4 && map[0].type == pvh::e820_ram));
    CHECK((map[1].addr == 64 * MiB - KiB4 && map[1].size == KiB4 && map[1].type == pvh::e820_acpi));
    CHECK((map[2].addr == 0xfeff8000 && map[2].type == pvh::e820_reserved));
    // The tables are there, and the rest of their page is zero.
    CHECK(g.string(l.rsdp).substr(0, 8) == "RSD PTR ");
    CHECK(g.read<uint8_t>(l.acpi_base + KiB4 - 1) == 0);
    uint32_t xsdt_len = g.read<uint32_t>(g.read<uint64_t>(l.rsdp + 24) + 4);
    CHECK(xsdt_len == 36 + 16);   // FADT and MADT

    // pvh::memory_map (XENMEM_memory_map's answer) is the same map.
    pvh::MemmapEntry same[pvh::max_memmap]{};
    REQUIRE(pvh::memory_map(in, same) == 3);
    for (size_t i = 0; i < 3; ++i) {
        CHECK(same[i].addr == map[i].addr);
        CHECK(same[i].size == map[i].size);
        CHECK(same[i].type == map[i].type);
    }
}

TEST_CASE("pvh: without ACPI nothing changes", "[pvh]")
{
    pvh::BootInput in = domu(0);
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.acpi_base == 0);
    CHECK(l.rsdp == 0);
    CHECK(l.memmap_entries == 2);
    FakeGuest g;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &g));
    CHECK(g.read<pvh::StartInfo>(l.start_info).rsdp_paddr == 0);
    CHECK(g.read<pvh::MemmapEntry>(l.memmap).size == 64 * MiB);
}

TEST_CASE("pvh: boot data that would reach the ACPI page does not fit", "[pvh]")
{
    pvh::BootInput in = domu(1);
    in.module_count = 1;
    in.modules[0] = {blob.data(), blob.size(), nullptr};
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);
    const uint64_t room = l.acpi_base - l.module_base[0];
    std::vector<uint8_t> big(room, 1);
    in.modules[0] = {big.data(), big.size(), nullptr};
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.end == l.acpi_base);
    std::vector<uint8_t> bigger(room + 1, 1);
    in.modules[0] = {bigger.data(), bigger.size(), nullptr};
    CHECK(pvh::plan(in, l) == Error::does_not_fit);
    CHECK(l.acpi_base == 0);

    // A kernel ending inside the ACPI page.
    in = domu(1);
    in.kernel_end = 64 * MiB - 100;
    CHECK(pvh::plan(in, l) == Error::does_not_fit);
    // Too many vCPUs for the tables write() builds.
    in = domu(pvh::max_acpi_vcpus + 1);
    CHECK(pvh::plan(in, l) == Error::bad_memory_size);
    in = domu(pvh::max_acpi_vcpus);
    REQUIRE(pvh::plan(in, l) == Error::none);
    FakeGuest g;
    CHECK(pvh::write(in, l, FakeGuest::write, &g));
}

TEST_CASE("pvh: with RAM past 4 GiB the ACPI page splits RAM below 4 GiB", "[pvh]")
{
    pvh::BootInput in = basic();
    in.memory_bytes = 6 * GiB;
    in.reserved_top_bytes = 0;
    in.acpi_vcpus = 1;
    pvh::Layout l;
    REQUIRE(pvh::plan(in, l) == Error::none);
    CHECK(l.acpi_base == 4 * GiB - KiB4);
    REQUIRE(l.memmap_entries == 3);
    FakeGuest g;
    g.backed_end = 6 * GiB;
    REQUIRE(pvh::write(in, l, FakeGuest::write, &g));
    const auto map = read_map(g, l);
    CHECK((map[0].addr == 0 && map[0].size == 4 * GiB - KiB4 && map[0].type == pvh::e820_ram));
    CHECK((map[1].addr == 4 * GiB - KiB4 && map[1].type == pvh::e820_acpi));
    CHECK((map[2].addr == 4 * GiB && map[2].size == 2 * GiB && map[2].type == pvh::e820_ram));
}
