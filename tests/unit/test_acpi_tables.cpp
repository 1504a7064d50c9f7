// A domU's ACPI tables: layout, checksums and contents (read back by the host-ACPI parser), and register writes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "arch/x86/acpi/acpi.hpp"
#include "vmm/acpi_tables.hpp"

namespace t = menhir::acpi_tables;
namespace acpi = menhir::acpi;

namespace {

constexpr uint64_t base = 0x7fff000;

// The built bytes as guest-physical memory at `base`.
struct Guest {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(t::region_bytes, 0xcc);
    static const uint8_t* map(void* ctx, uint64_t phys, size_t len)
    {
        auto* g = static_cast<Guest*>(ctx);
        if (phys < base || phys - base > g->bytes.size() || len > g->bytes.size() - (phys - base)) return nullptr;
        return g->bytes.data() + (phys - base);
    }
    const uint8_t* at(uint64_t gpa) const { return bytes.data() + (gpa - base); }
    template <typename T>
    T read(uint64_t gpa) const
    {
        T v;
        std::memcpy(&v, at(gpa), sizeof v);
        return v;
    }
};

uint8_t sum(const uint8_t* p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; ++i) s = static_cast<uint8_t>(s + p[i]);
    return s;
}

Guest build(uint32_t vcpus, bool madt, t::Layout& l)
{
    Guest g;
    REQUIRE(t::build(t::Input{base, vcpus, madt}, g.bytes.data(), g.bytes.size(), l) == t::Error::none);
    return g;
}

} // namespace

TEST_CASE("acpi_tables: every table is where the layout says, 16-byte aligned, checksummed", "[acpi_tables]")
{
    t::Layout l{};
    const Guest g = build(4, true, l);
    CHECK(l.rsdp == base);
    for (uint64_t a : {l.rsdp, l.xsdt, l.fadt, l.dsdt, l.madt}) CHECK(a % 16 == 0);
    CHECK(l.bytes <= t::region_bytes);
    CHECK(std::memcmp(g.at(l.rsdp), "RSD PTR ", 8) == 0);
    CHECK(sum(g.at(l.rsdp), 20) == 0);
    CHECK(sum(g.at(l.rsdp), 36) == 0);
    const auto rsdp = g.read<t::Rsdp>(l.rsdp);
    CHECK(rsdp.revision == 2);
    CHECK(rsdp.length == 36);
    CHECK(rsdp.rsdt_address == 0);
    CHECK(rsdp.xsdt_address == l.xsdt);
    struct Want { uint64_t at; const char* sig; uint8_t rev; };
    for (const Want& w : {Want{l.xsdt, "XSDT", 1}, Want{l.fadt, "FACP", 6}, Want{l.dsdt, "DSDT", 2},
                          Want{l.madt, "APIC", 5}}) {
        const auto h = g.read<t::Header>(w.at);
        INFO(w.sig);
        CHECK(std::memcmp(h.signature, w.sig, 4) == 0);
        CHECK(h.revision == w.rev);
        CHECK(sum(g.at(w.at), h.length) == 0);
        CHECK(std::memcmp(h.oem_id, "MENHIR", 6) == 0);
    }
    CHECK(g.read<t::Header>(l.xsdt).length == 36 + 16);
    CHECK(g.read<uint64_t>(l.xsdt + 36) == l.fadt);
    CHECK(g.read<uint64_t>(l.xsdt + 44) == l.madt);
    CHECK(g.read<t::Header>(l.fadt).length == 276);
    // Nothing past the last table is written: the caller zeroes the rest.
    CHECK(g.bytes[l.bytes] == 0xcc);
}

TEST_CASE("acpi_tables: the FADT is hardware-reduced with the sleep and reset registers", "[acpi_tables]")
{
    t::Layout l{};
    const Guest g = build(1, false, l);
    const auto f = g.read<t::Fadt>(l.fadt);
    CHECK((f.flags & t::fadt_hw_reduced) != 0);
    CHECK((f.flags & t::fadt_reset_reg_sup) != 0);
    CHECK((f.flags & (t::fadt_pwr_button | t::fadt_slp_button)) == (t::fadt_pwr_button | t::fadt_slp_button));
    CHECK(f.iapc_boot_arch == (t::boot_arch_no_vga | t::boot_arch_no_cmos_rtc));
    CHECK(f.dsdt == l.dsdt);
    CHECK(f.x_dsdt == l.dsdt);
    CHECK(f.firmware_ctrl == 0);
    CHECK(f.x_firmware_ctrl == 0);
    CHECK(f.sci_int == 0);
    CHECK(f.smi_cmd == 0);
    CHECK(f.pm1a_evt_blk == 0);
    CHECK(f.pm1a_cnt_blk == 0);
    CHECK(f.pm_tmr_blk == 0);
    CHECK(f.x_pm1a_cnt_blk.address == 0);
    struct Reg { t::Gas gas; uint16_t port; };
    for (const Reg& r : {Reg{f.sleep_control_reg, t::sleep_control_port}, Reg{f.sleep_status_reg, t::sleep_status_port},
                         Reg{f.reset_reg, t::reset_port}}) {
        CHECK(r.gas.space_id == 1);   // system I/O
        CHECK(r.gas.bit_width == 8);
        CHECK(r.gas.bit_offset == 0);
        CHECK(r.gas.access_size == 1);
        CHECK(r.gas.address == r.port);
    }
    CHECK(f.reset_value == t::reset_value);
}

TEST_CASE("acpi_tables: the host-ACPI parser reads the same tables back", "[acpi_tables]")
{
    for (uint32_t vcpus : {1u, 2u, 8u, 64u}) {
        INFO("vcpus " << vcpus);
        t::Layout l{};
        Guest g = build(vcpus, true, l);
        acpi::Platform p{};
        REQUIRE(acpi::parse(g.at(l.rsdp), 36, Guest::map, &g, p) == acpi::Error::none);
        CHECK(p.rsdp_revision == 2);
        CHECK(std::string(p.oem_id) == "MENHIR");
        CHECK(p.lapic_address == t::lapic_address);
        CHECK_FALSE(p.pcat_compat);
        CHECK(p.ioapic_count == 0);
        REQUIRE(p.cpu_count == vcpus);
        for (uint32_t i = 0; i < vcpus; ++i) {
            CHECK(p.cpus[i].apic_id == t::apic_id(i));
            CHECK(p.cpus[i].acpi_uid == i);
            CHECK(p.cpus[i].enabled);
        }
        CHECK(p.has_fadt);
        CHECK(p.reset_supported);
        CHECK(p.reset_reg.space_id == acpi::gas_io);
        CHECK(p.reset_reg.address == t::reset_port);
        CHECK(p.reset_value == t::reset_value);
        CHECK(p.dsdt == l.dsdt);
        CHECK(p.has_s5);
        CHECK(p.slp_typa == t::s5_sleep_type);
        CHECK(p.slp_typb == t::s5_sleep_type);
        CHECK(p.skipped_count == 0);
    }
}

TEST_CASE("acpi_tables: without the MADT flag there is no MADT", "[acpi_tables]")
{
    t::Layout l{};
    Guest g = build(4, false, l);
    CHECK(l.madt == 0);
    CHECK(g.read<t::Header>(l.xsdt).length == 36 + 8);
    acpi::Platform p{};
    CHECK(acpi::parse(g.at(l.rsdp), 36, Guest::map, &g, p) == acpi::Error::no_madt);
    CHECK(p.has_fadt);
    CHECK(p.has_s5);
}

TEST_CASE("acpi_tables: bad inputs are refused", "[acpi_tables]")
{
    t::Layout l{};
    uint8_t buf[t::region_bytes];
    CHECK(t::build(t::Input{base, 0, true}, buf, sizeof buf, l) == t::Error::bad_vcpus);
    CHECK(t::build(t::Input{base, 256, true}, buf, sizeof buf, l) == t::Error::bad_vcpus);
    CHECK(t::build(t::Input{base + 8, 1, true}, buf, sizeof buf, l) == t::Error::misaligned);
    CHECK(t::build(t::Input{1ull << 32, 1, true}, buf, sizeof buf, l) == t::Error::above_4gib);
    CHECK(t::build(t::Input{(1ull << 32) - 256, 8, true}, buf, sizeof buf, l) == t::Error::above_4gib);
    CHECK(l.bytes == 0);
    CHECK(t::build(t::Input{base, 8, true}, buf, 100, l) == t::Error::too_small);
    CHECK(t::max_bytes() <= t::region_bytes);
    CHECK(t::max_bytes() > 255 * sizeof(t::MadtLapic));
}

TEST_CASE("acpi_tables: register writes", "[acpi_tables]")
{
    using E = t::PortEffect;
    const uint32_t s5 = (t::s5_sleep_type << t::sleep_type_shift) | t::sleep_enable;
    CHECK(t::port_write(t::sleep_control_port, 1, s5) == E::poweroff);
    CHECK(t::port_write(t::sleep_control_port, 1, s5 | 0xffffff00u) == E::poweroff);   // upper bits of EAX
    CHECK(t::port_write(t::sleep_control_port, 1, s5 & ~uint32_t{t::sleep_enable}) == E::none);
    CHECK(t::port_write(t::sleep_control_port, 1, (3u << t::sleep_type_shift) | t::sleep_enable) == E::none);
    CHECK(t::port_write(t::sleep_control_port, 2, s5) == E::none);    // the register is one byte
    CHECK(t::port_write(t::sleep_status_port, 1, t::wake_status) == E::none);
    CHECK(t::port_write(t::sleep_status_port, 1, s5) == E::none);
    CHECK(t::port_write(t::reset_port, 1, t::reset_value) == E::reboot);
    CHECK(t::port_write(t::reset_port, 1, 0x04) == E::reboot);
    CHECK(t::port_write(t::reset_port, 1, 0x02) == E::none);          // hard-reset select alone
    CHECK(t::port_write(t::reset_port - 1, 4, 0x80000000u) == E::none);   // PCI CONFIG_ADDRESS
    CHECK(t::port_write(t::reset_port, 2, t::reset_value) == E::none);
    CHECK(t::port_write(0x64, 1, 0xfe) == E::none);
    CHECK(t::port_read(t::sleep_status_port, 1) == 0);
    CHECK(t::port_read(t::sleep_control_port, 1) == 0);
    CHECK(t::port_read(t::reset_port, 1) == 0xff);
    CHECK(t::port_read(t::sleep_status_port, 2) == 0xffff);
    CHECK(t::is_acpi_port(t::sleep_status_port, 1));
    CHECK_FALSE(t::is_acpi_port(t::sleep_status_port, 4));
}
