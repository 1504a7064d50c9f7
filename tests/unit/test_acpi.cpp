#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "arch/x86/acpi/acpi.hpp"

using namespace menhir::acpi;
using Bytes = std::vector<uint8_t>;

namespace {

// Fake physical memory: [0, 1 MiB) is backed, plus optionally a small
// region high up; anything else is unmappable.
struct PhysMem {
    PhysMem() : bytes(1 << 20, 0) {}
    Bytes bytes;
    uint64_t high_base{0};
    Bytes high;
    uint64_t hole_begin{0}, hole_end{0};   // a range inside `bytes` that map() refuses

    static const uint8_t* map(void* ctx, uint64_t phys, size_t len)
    {
        auto* self = static_cast<PhysMem*>(ctx);
        if (!self->high.empty() && phys >= self->high_base) {
            const uint64_t off = phys - self->high_base;
            if (off > self->high.size() || len > self->high.size() - off)
                return nullptr;
            return self->high.data() + off;
        }
        if (phys > self->bytes.size() || len > self->bytes.size() - phys)
            return nullptr;
        if (phys < self->hole_end && phys + len > self->hole_begin)
            return nullptr;
        return self->bytes.data() + phys;
    }
    void put(uint64_t phys, const Bytes& b)
    {
        if (!high.empty() && phys >= high_base)
            std::memcpy(high.data() + (phys - high_base), b.data(), b.size());
        else
            std::memcpy(bytes.data() + phys, b.data(), b.size());
    }
};

void put16(Bytes& b, size_t off, uint16_t v) { std::memcpy(b.data() + off, &v, 2); }
void put32(Bytes& b, size_t off, uint32_t v) { std::memcpy(b.data() + off, &v, 4); }
void put64(Bytes& b, size_t off, uint64_t v) { std::memcpy(b.data() + off, &v, 8); }

uint8_t sum(const uint8_t* p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; ++i)
        s = static_cast<uint8_t>(s + p[i]);
    return s;
}

// A system description table: 36-byte header (ACPI 5.2.6) + body, checksummed.
Bytes sdt(const char* sig, uint8_t revision, const Bytes& body)
{
    Bytes t(36 + body.size(), 0);
    std::memcpy(t.data(), sig, 4);
    put32(t, 4, static_cast<uint32_t>(t.size()));
    t[8] = revision;
    std::memcpy(t.data() + 10, "MENHIR", 6);
    std::memcpy(t.data() + 16, "TESTTABL", 8);
    if (!body.empty())
        std::memcpy(t.data() + 36, body.data(), body.size());
    t[9] = static_cast<uint8_t>(0x100 - sum(t.data(), t.size()));
    return t;
}

void fix_checksum(Bytes& t)
{
    t[9] = 0;
    t[9] = static_cast<uint8_t>(0x100 - sum(t.data(), t.size()));
}

Bytes rsdp_v1(uint32_t rsdt)
{
    Bytes r(20, 0);
    std::memcpy(r.data(), "RSD PTR ", 8);
    std::memcpy(r.data() + 9, "BOCHS ", 6);
    r[15] = 0;
    put32(r, 16, rsdt);
    r[8] = static_cast<uint8_t>(0x100 - sum(r.data(), 20));
    return r;
}

Bytes rsdp_v2(uint32_t rsdt, uint64_t xsdt)
{
    Bytes r(36, 0);
    std::memcpy(r.data(), "RSD PTR ", 8);
    std::memcpy(r.data() + 9, "QEMUQE", 6);
    r[15] = 2;
    put32(r, 16, rsdt);
    put32(r, 20, 36);
    put64(r, 24, xsdt);
    r[8] = static_cast<uint8_t>(0x100 - sum(r.data(), 20));
    r[32] = static_cast<uint8_t>(0x100 - sum(r.data(), 36));
    return r;
}

Bytes rsdt(std::initializer_list<uint32_t> entries)
{
    Bytes body;
    for (uint32_t e : entries) {
        body.resize(body.size() + 4);
        put32(body, body.size() - 4, e);
    }
    return sdt("RSDT", 1, body);
}

Bytes xsdt(std::initializer_list<uint64_t> entries)
{
    Bytes body;
    for (uint64_t e : entries) {
        body.resize(body.size() + 8);
        put64(body, body.size() - 8, e);
    }
    return sdt("XSDT", 1, body);
}

// MADT entries (ACPI 5.2.12.x).
Bytes lapic(uint8_t uid, uint8_t apic_id, uint32_t flags)
{
    Bytes e{0, 8, uid, apic_id, 0, 0, 0, 0};
    put32(e, 4, flags);
    return e;
}
Bytes ioapic(uint8_t id, uint32_t addr, uint32_t gsi_base)
{
    Bytes e(12, 0);
    e[0] = 1;
    e[1] = 12;
    e[2] = id;
    put32(e, 4, addr);
    put32(e, 8, gsi_base);
    return e;
}
Bytes iso(uint8_t bus, uint8_t source, uint32_t gsi, uint16_t flags)
{
    Bytes e(10, 0);
    e[0] = 2;
    e[1] = 10;
    e[2] = bus;
    e[3] = source;
    put32(e, 4, gsi);
    put16(e, 8, flags);
    return e;
}
Bytes nmi() { return Bytes{4, 6, 0xff, 5, 0, 1}; }
Bytes lapic_override(uint64_t addr)
{
    Bytes e(12, 0);
    e[0] = 5;
    e[1] = 12;
    put64(e, 4, addr);
    return e;
}
Bytes x2apic(uint32_t apic_id, uint32_t flags, uint32_t uid)
{
    Bytes e(16, 0);
    e[0] = 9;
    e[1] = 16;
    put32(e, 4, apic_id);
    put32(e, 8, flags);
    put32(e, 12, uid);
    return e;
}

Bytes madt(uint32_t lapic_addr, uint32_t flags, std::initializer_list<Bytes> entries)
{
    Bytes body(8, 0);
    put32(body, 0, lapic_addr);
    put32(body, 4, flags);
    for (const Bytes& e : entries)
        body.insert(body.end(), e.begin(), e.end());
    return sdt("APIC", 5, body);
}

// Raw FADT body fields by absolute table offset (ACPI 5.2.9, Table 5.9).
struct FadtFields {
    uint32_t dsdt{0};
    uint64_t x_dsdt{0};
    uint32_t smi_cmd{0xb2};
    uint8_t acpi_enable{0xf1};
    uint32_t pm1a_cnt{0x604}, pm1b_cnt{0}, pm_tmr{0x608};
    uint32_t flags{0};
    uint8_t reset_space{1};
    uint64_t reset_addr{0xcf9};
    uint8_t reset_value{0x06};
    uint8_t x_pm1a_space{1};
    uint64_t x_pm1a{0}, x_pm1b{0}, x_pm_tmr{0};
};

Bytes gas(uint8_t space, uint8_t width, uint64_t addr)
{
    Bytes g(12, 0);
    g[0] = space;
    g[1] = width;
    g[3] = 1;
    put64(g, 4, addr);
    return g;
}

// total_len: 116 (ACPI 1.0, revision 1), 244 (revision 3/4), 268 (5), 276 (6).
Bytes fadt(uint8_t revision, size_t total_len, const FadtFields& f)
{
    Bytes full(276, 0);
    put32(full, 40, f.dsdt);
    put32(full, 48, f.smi_cmd);
    full[52] = f.acpi_enable;
    put32(full, 64, f.pm1a_cnt);
    put32(full, 68, f.pm1b_cnt);
    put32(full, 76, f.pm_tmr);
    full[91] = 4;   // PM_TMR_LEN
    put32(full, 112, f.flags);
    Bytes rr = gas(f.reset_space, 8, f.reset_addr);
    std::memcpy(full.data() + 116, rr.data(), 12);
    full[128] = f.reset_value;
    put64(full, 140, f.x_dsdt);
    Bytes a = gas(f.x_pm1a_space, 16, f.x_pm1a);
    std::memcpy(full.data() + 172, a.data(), 12);
    Bytes b = gas(1, 16, f.x_pm1b);
    std::memcpy(full.data() + 184, b.data(), 12);
    Bytes t = gas(1, 32, f.x_pm_tmr);
    std::memcpy(full.data() + 208, t.data(), 12);
    Bytes body(full.begin() + 36, full.begin() + static_cast<std::ptrdiff_t>(total_len));
    return sdt("FACP", revision, body);
}

// AML for Name (\_S5, Package (0x04) { a, b, Zero, Zero }) as iasl emits it.
Bytes s5_aml(bool root_prefix, uint8_t a, uint8_t b)
{
    Bytes aml{0x08};
    if (root_prefix)
        aml.push_back('\\');
    for (char c : std::string("_S5_"))
        aml.push_back(static_cast<uint8_t>(c));
    aml.push_back(0x12);   // PackageOp
    aml.push_back(0x0a);   // PkgLength (1 byte)
    aml.push_back(0x04);   // NumElements
    auto element = [&aml](uint8_t v) {
        if (v == 0) {
            aml.push_back(0x00);
        } else if (v == 1) {
            aml.push_back(0x01);
        } else {
            aml.push_back(0x0a);
            aml.push_back(v);
        }
    };
    element(a);
    element(b);
    aml.push_back(0x00);
    aml.push_back(0x00);
    return aml;
}

Bytes dsdt_with(const Bytes& aml)
{
    // Some AML before, so the search has to skip real bytes: a Scope (\_SB) stub.
    Bytes body{0x10, 0x06, '\\', '_', 'S', 'B', '_', 0xa3};
    body.insert(body.end(), aml.begin(), aml.end());
    body.push_back(0xa3);
    return sdt("DSDT", 2, body);
}

// A whole machine: RSDP at 0xE0000 and tables around 0x10000.
constexpr uint64_t rsdp_at = 0xe0010, rsdt_at = 0x10000, xsdt_at = 0x10400, madt_at = 0x11000,
                   fadt_at = 0x12000, dsdt_at = 0x13000, ssdt_at = 0x14000;

Bytes typical_madt()
{
    return madt(0xfee00000, 1,
                {lapic(0, 0, 1), lapic(1, 1, 1), lapic(2, 2, 0), lapic(3, 3, 2), ioapic(2, 0xfec00000, 0),
                 iso(0, 0, 2, 0), iso(0, 9, 9, 0x000d), nmi()});
}

struct Machine {
    PhysMem mem;
    Bytes rsdp;
    Machine(bool v2 = true)
    {
        FadtFields f;
        f.dsdt = dsdt_at;
        f.flags = (1u << 8) | (1u << 10);
        mem.put(madt_at, typical_madt());
        mem.put(fadt_at, fadt(6, 276, f));
        mem.put(dsdt_at, dsdt_with(s5_aml(false, 5, 5)));
        mem.put(ssdt_at, sdt("SSDT", 2, Bytes(40, 0xa3)));
        mem.put(rsdt_at, rsdt({fadt_at, ssdt_at, madt_at}));
        mem.put(xsdt_at, xsdt({fadt_at, ssdt_at, madt_at}));
        rsdp = v2 ? rsdp_v2(rsdt_at, xsdt_at) : rsdp_v1(rsdt_at);
        mem.put(rsdp_at, rsdp);
    }
    Error parse(Platform& out) { return menhir::acpi::parse(rsdp.data(), rsdp.size(), &PhysMem::map, &mem, out); }
};

// Platform is big; keep it off the test's stack frame.
std::unique_ptr<Platform> platform() { return std::make_unique<Platform>(); }

} // namespace

TEST_CASE("acpi: RSDP v2 with XSDT, full machine", "[acpi]")
{
    Machine m;
    auto p = platform();
    REQUIRE(m.parse(*p) == Error::none);
    CHECK(p->rsdp_revision == 2);
    CHECK(std::string(p->oem_id) == "QEMUQE");
    CHECK(p->lapic_address == 0xfee00000);
    CHECK(p->pcat_compat);

    // lapic(2) is neither enabled nor online capable: dropped.
    REQUIRE(p->cpu_count == 3);
    CHECK(p->cpus[0].apic_id == 0);
    CHECK(p->cpus[0].enabled);
    CHECK_FALSE(p->cpus[0].online_capable);
    CHECK_FALSE(p->cpus[0].x2apic_entry);
    CHECK(p->cpus[1].apic_id == 1);
    CHECK(p->cpus[1].acpi_uid == 1);
    CHECK(p->cpus[2].apic_id == 3);
    CHECK_FALSE(p->cpus[2].enabled);
    CHECK(p->cpus[2].online_capable);
    CHECK(p->cpus_ignored == 0);

    REQUIRE(p->ioapic_count == 1);
    CHECK(p->ioapics[0].id == 2);
    CHECK(p->ioapics[0].address == 0xfec00000);
    CHECK(p->ioapics[0].gsi_base == 0);

    REQUIRE(p->override_count == 2);
    CHECK(p->overrides[0].source_irq == 0);
    CHECK(p->overrides[0].gsi == 2);
    CHECK(p->overrides[1].flags == 0x000d);

    CHECK(p->has_fadt);
    CHECK(p->smi_cmd == 0xb2);
    CHECK(p->acpi_enable == 0xf1);
    CHECK(p->pm1a_cnt == 0x604);
    CHECK(p->pm1b_cnt == 0);
    CHECK(p->pm_tmr_blk == 0x608);
    CHECK(p->pm_tmr_32bit);
    CHECK(p->reset_supported);
    CHECK(p->reset_reg.space_id == gas_io);
    CHECK(p->reset_reg.bit_width == 8);
    CHECK(p->reset_reg.address == 0xcf9);
    CHECK(p->reset_value == 6);
    CHECK(p->dsdt == dsdt_at);
    CHECK(p->has_s5);
    CHECK(p->slp_typa == 5);
    CHECK(p->slp_typb == 5);
    CHECK(p->skipped_count == 0);
}

TEST_CASE("acpi: RSDP v1 uses the RSDT", "[acpi]")
{
    Machine m{false};
    // Break the XSDT: a v1 RSDP must not look at it.
    m.mem.bytes[xsdt_at] = 'Z';
    auto p = platform();
    REQUIRE(m.parse(*p) == Error::none);
    CHECK(p->rsdp_revision == 0);
    CHECK(std::string(p->oem_id) == "BOCHS ");
    CHECK(p->cpu_count == 3);
    CHECK(p->has_s5);
}

TEST_CASE("acpi: revision 2 RSDP with a zero XSDT address uses the RSDT", "[acpi]")
{
    Machine m;
    m.rsdp = rsdp_v2(rsdt_at, 0);
    m.mem.bytes[xsdt_at] = 'Z';
    auto p = platform();
    CHECK(m.parse(*p) == Error::none);
    CHECK(p->cpu_count == 3);
}

TEST_CASE("acpi: revision 2 RSDP given as only 20 bytes falls back to the RSDT", "[acpi]")
{
    Machine m;
    m.mem.bytes[xsdt_at] = 'Z';
    auto p = platform();
    CHECK(parse(m.rsdp.data(), 20, &PhysMem::map, &m.mem, *p) == Error::none);
    CHECK(p->cpu_count == 3);
}

TEST_CASE("acpi: XSDT entries above 4 GiB are followed", "[acpi]")
{
    PhysMem mem;
    mem.high_base = 1ull << 32;
    mem.high.assign(0x10000, 0);
    const uint64_t high = (1ull << 32) + 0x1000;
    mem.put(high, typical_madt());
    mem.put(xsdt_at, xsdt({high}));
    Bytes r = rsdp_v2(0, xsdt_at);
    auto p = platform();
    REQUIRE(parse(r.data(), r.size(), &PhysMem::map, &mem, *p) == Error::none);
    CHECK(p->cpu_count == 3);
    CHECK_FALSE(p->has_fadt);
}

TEST_CASE("acpi: bad RSDPs", "[acpi]")
{
    Machine m;
    auto p = platform();
    Bytes r = m.rsdp;

    CHECK(parse(nullptr, 36, &PhysMem::map, &m.mem, *p) == Error::bad_rsdp);
    CHECK(parse(r.data(), 19, &PhysMem::map, &m.mem, *p) == Error::bad_rsdp);
    CHECK(parse(r.data(), r.size(), nullptr, &m.mem, *p) == Error::bad_rsdp);

    Bytes bad_sig = r;
    bad_sig[0] = 'X';
    CHECK(parse(bad_sig.data(), bad_sig.size(), &PhysMem::map, &m.mem, *p) == Error::bad_rsdp);

    Bytes bad_sum = r;
    bad_sum[8] ^= 1;
    CHECK(parse(bad_sum.data(), bad_sum.size(), &PhysMem::map, &m.mem, *p) == Error::bad_rsdp_checksum);

    Bytes bad_ext = r;
    bad_ext[32] ^= 1;
    CHECK(parse(bad_ext.data(), bad_ext.size(), &PhysMem::map, &m.mem, *p) == Error::bad_rsdp_checksum);

    Bytes long_len = r;   // claims more bytes than we were given
    put32(long_len, 20, 64);
    long_len[32] = 0;
    long_len[32] = static_cast<uint8_t>(0x100 - sum(long_len.data(), 36));
    CHECK(parse(long_len.data(), long_len.size(), &PhysMem::map, &m.mem, *p) == Error::bad_rsdp);

    Bytes no_root = rsdp_v1(0);
    CHECK(parse(no_root.data(), no_root.size(), &PhysMem::map, &m.mem, *p) == Error::bad_root_table);
}

TEST_CASE("acpi: bad root tables", "[acpi]")
{
    auto p = platform();
    SECTION("unmappable")
    {
        Machine m;
        m.rsdp = rsdp_v2(rsdt_at, 0x7fff0000);
        CHECK(m.parse(*p) == Error::unmappable);
    }
    SECTION("length runs past the mapping")
    {
        Machine m;
        Bytes x = xsdt({madt_at});
        put32(x, 4, 0x200000);   // 2 MiB, more than the fake memory past xsdt_at
        fix_checksum(x);
        m.mem.put(xsdt_at, x);
        CHECK(m.parse(*p) == Error::unmappable);
    }
    SECTION("wrong signature")
    {
        Machine m;
        m.mem.bytes[xsdt_at + 3] = 'X';
        CHECK(m.parse(*p) == Error::bad_root_table);
    }
    SECTION("length shorter than a header")
    {
        Machine m;
        Bytes x = xsdt({});
        put32(x, 4, 20);
        m.mem.put(xsdt_at, x);
        CHECK(m.parse(*p) == Error::bad_root_table);
    }
    SECTION("absurd length")
    {
        Machine m;
        Bytes x = xsdt({});
        put32(x, 4, 0xffffffff);
        m.mem.put(xsdt_at, x);
        CHECK(m.parse(*p) == Error::bad_root_table);
    }
    SECTION("bad checksum")
    {
        Machine m;
        m.mem.bytes[xsdt_at + 40] ^= 0x10;
        CHECK(m.parse(*p) == Error::bad_checksum);
        REQUIRE(p->skipped_count == 1);
        CHECK(std::string(p->skipped[0]) == "XSDT");
    }
}

TEST_CASE("acpi: a table with a bad checksum is skipped and recorded", "[acpi]")
{
    auto p = platform();
    SECTION("MADT: no other MADT, so the error says why")
    {
        Machine m;
        m.mem.bytes[madt_at + 50] ^= 1;
        CHECK(m.parse(*p) == Error::bad_checksum);
        CHECK(p->cpu_count == 0);
        CHECK(p->has_fadt);   // the rest was still parsed
        REQUIRE(p->skipped_count == 1);
        CHECK(std::string(p->skipped[0]) == "APIC");
    }
    SECTION("MADT: a second, good MADT is used")
    {
        Machine m;
        m.mem.bytes[madt_at + 50] ^= 1;
        m.mem.put(0x15000, madt(0xfee00000, 0, {lapic(0, 7, 1)}));
        m.mem.put(xsdt_at, xsdt({fadt_at, madt_at, 0x15000}));
        CHECK(m.parse(*p) == Error::none);
        REQUIRE(p->cpu_count == 1);
        CHECK(p->cpus[0].apic_id == 7);
        CHECK(p->skipped_count == 1);
    }
    SECTION("FADT")
    {
        Machine m;
        m.mem.bytes[fadt_at + 60] ^= 1;
        CHECK(m.parse(*p) == Error::none);
        CHECK_FALSE(p->has_fadt);
        CHECK_FALSE(p->has_s5);
        REQUIRE(p->skipped_count == 1);
        CHECK(std::string(p->skipped[0]) == "FACP");
    }
    SECTION("DSDT")
    {
        Machine m;
        m.mem.bytes[dsdt_at + 40] ^= 1;
        CHECK(m.parse(*p) == Error::none);
        CHECK(p->has_fadt);
        CHECK_FALSE(p->has_s5);
        REQUIRE(p->skipped_count == 1);
        CHECK(std::string(p->skipped[0]) == "DSDT");
    }
}

TEST_CASE("acpi: missing tables", "[acpi]")
{
    auto p = platform();
    SECTION("no MADT")
    {
        Machine m;
        m.mem.put(xsdt_at, xsdt({fadt_at, ssdt_at}));
        CHECK(m.parse(*p) == Error::no_madt);
        CHECK(p->has_fadt);
    }
    SECTION("no FADT is fine")
    {
        Machine m;
        m.mem.put(xsdt_at, xsdt({madt_at}));
        CHECK(m.parse(*p) == Error::none);
        CHECK_FALSE(p->has_fadt);
        CHECK_FALSE(p->has_s5);
        CHECK(p->cpu_count == 3);
    }
    SECTION("no DSDT is fine")
    {
        Machine m;
        FadtFields f;   // dsdt 0
        m.mem.put(fadt_at, fadt(6, 276, f));
        CHECK(m.parse(*p) == Error::none);
        CHECK(p->has_fadt);
        CHECK_FALSE(p->has_s5);
    }
    SECTION("DSDT without \\_S5")
    {
        Machine m;
        m.mem.put(dsdt_at, dsdt_with(Bytes{0x08, '_', 'S', '4', '_', 0x12, 0x06, 0x02, 0x0a, 0x04, 0x00}));
        CHECK(m.parse(*p) == Error::none);
        CHECK_FALSE(p->has_s5);
    }
    SECTION("unmappable and null entries in the root table are skipped")
    {
        Machine m;
        m.mem.put(xsdt_at, xsdt({0, 0x7fffffff0000ull, ~0ull, fadt_at, madt_at}));
        CHECK(m.parse(*p) == Error::none);
        CHECK(p->cpu_count == 3);
    }
    SECTION("unmappable MADT body")
    {
        Machine m;
        m.mem.hole_begin = madt_at + 40;
        m.mem.hole_end = madt_at + 41;
        CHECK(m.parse(*p) == Error::no_madt);
    }
}

TEST_CASE("acpi: FADT revision 1 (116 bytes): legacy fields, no reset register, no X_ fields", "[acpi]")
{
    Machine m;
    FadtFields f;
    f.dsdt = dsdt_at;
    f.flags = 1u << 10;   // claims RESET_REG_SUP, but there is no room for the register
    f.x_dsdt = 0x99999999;
    m.mem.put(fadt_at, fadt(1, 116, f));
    auto p = platform();
    REQUIRE(m.parse(*p) == Error::none);
    CHECK(p->has_fadt);
    CHECK(p->pm1a_cnt == 0x604);
    CHECK(p->pm_tmr_blk == 0x608);
    CHECK_FALSE(p->pm_tmr_32bit);
    CHECK_FALSE(p->reset_supported);
    CHECK(p->dsdt == dsdt_at);
    CHECK(p->has_s5);
}

TEST_CASE("acpi: FADT revision 5 prefers X_ blocks in I/O space and X_DSDT", "[acpi]")
{
    Machine m;
    const uint64_t dsdt2 = 0x16000;
    m.mem.put(dsdt2, dsdt_with(s5_aml(true, 7, 1)));
    FadtFields f;
    f.dsdt = dsdt_at;
    f.x_dsdt = dsdt2;
    f.pm1a_cnt = 0x1004;
    f.x_pm1a = 0xb004;
    f.pm1b_cnt = 0x1008;
    f.x_pm1b = 0xb008;
    f.pm_tmr = 0x1010;
    f.x_pm_tmr = 0xb010;
    f.flags = 1u << 10;
    m.mem.put(fadt_at, fadt(5, 268, f));
    auto p = platform();
    REQUIRE(m.parse(*p) == Error::none);
    CHECK(p->pm1a_cnt == 0xb004);
    CHECK(p->pm1b_cnt == 0xb008);
    CHECK(p->pm_tmr_blk == 0xb010);
    CHECK_FALSE(p->pm_tmr_32bit);
    CHECK(p->reset_supported);
    CHECK(p->dsdt == dsdt2);
    CHECK(p->has_s5);
    CHECK(p->slp_typa == 7);
    CHECK(p->slp_typb == 1);
}

TEST_CASE("acpi: X_PM1a in memory space falls back to the legacy port", "[acpi]")
{
    Machine m;
    FadtFields f;
    f.dsdt = dsdt_at;
    f.pm1a_cnt = 0x404;
    f.x_pm1a_space = gas_memory;
    f.x_pm1a = 0xfed80004;
    m.mem.put(fadt_at, fadt(6, 276, f));
    auto p = platform();
    REQUIRE(m.parse(*p) == Error::none);
    CHECK(p->pm1a_cnt == 0x404);
}

TEST_CASE("acpi: FADT revision 3 (244 bytes)", "[acpi]")
{
    Machine m;
    FadtFields f;
    f.x_dsdt = dsdt_at;
    f.x_pm1a = 0x4004;
    m.mem.put(fadt_at, fadt(3, 244, f));
    auto p = platform();
    REQUIRE(m.parse(*p) == Error::none);
    CHECK(p->dsdt == dsdt_at);
    CHECK(p->pm1a_cnt == 0x4004);
    CHECK(p->has_s5);
}

TEST_CASE("acpi: MADT entry types", "[acpi]")
{
    Machine m;
    m.mem.put(madt_at, madt(0xfee00000, 0,
                            {lapic(0, 0, 1), x2apic(0x100, 1, 0x10), x2apic(0, 1, 0),   // duplicate of APIC ID 0
                             lapic(9, 0xff, 1),                                       // broadcast ID
                             x2apic(0xffffffff, 1, 5), ioapic(0, 0xfec00000, 0), ioapic(1, 0xfec01000, 24),
                             iso(0, 0, 2, 0), iso(0, 9, 9, 0xd), iso(1, 5, 30, 0), nmi(),
                             lapic_override(0x1'fee0'0000ull), Bytes{0x7f, 4, 1, 2}}));   // unknown type, skipped
    auto p = platform();
    REQUIRE(m.parse(*p) == Error::none);
    CHECK_FALSE(p->pcat_compat);
    CHECK(p->lapic_address == 0x1fee00000ull);
    REQUIRE(p->cpu_count == 2);
    CHECK(p->cpus[1].apic_id == 0x100);
    CHECK(p->cpus[1].acpi_uid == 0x10);
    CHECK(p->cpus[1].x2apic_entry);
    REQUIRE(p->ioapic_count == 2);
    CHECK(p->ioapics[1].gsi_base == 24);
    CHECK(p->override_count == 3);

    uint16_t flags = 0xffff;
    CHECK(isa_irq_to_gsi(*p, 0, &flags) == 2);
    CHECK(flags == 0);
    CHECK(isa_irq_to_gsi(*p, 9, &flags) == 9);
    CHECK(flags == 0xd);
    CHECK((flags & inti_trigger_mask) == inti_trigger_level);
    CHECK((flags & inti_polarity_mask) == inti_polarity_high);
    CHECK(isa_irq_to_gsi(*p, 5, &flags) == 5);   // the override for IRQ 5 is on bus 1, not ISA
    CHECK(flags == 0);
    CHECK(isa_irq_to_gsi(*p, 4, nullptr) == 4);
}

TEST_CASE("acpi: hostile MADTs", "[acpi]")
{
    Machine m;
    auto p = platform();
    SECTION("zero-length entry")
    {
        m.mem.put(madt_at, madt(0xfee00000, 0, {lapic(0, 0, 1), Bytes{0, 0, 0, 0, 0, 0, 0, 0}}));
        CHECK(m.parse(*p) == Error::bad_madt);
        CHECK(p->cpu_count == 1);   // the good entry before it counts
        CHECK(p->has_fadt);
    }
    SECTION("length 1")
    {
        m.mem.put(madt_at, madt(0xfee00000, 0, {Bytes{1, 1}}));
        CHECK(m.parse(*p) == Error::bad_madt);
    }
    SECTION("entry runs past the table")
    {
        m.mem.put(madt_at, madt(0xfee00000, 0, {Bytes{0, 8, 0, 0}}));
        CHECK(m.parse(*p) == Error::bad_madt);
    }
    SECTION("a single trailing byte")
    {
        m.mem.put(madt_at, madt(0xfee00000, 0, {lapic(0, 0, 1), Bytes{0}}));
        CHECK(m.parse(*p) == Error::bad_madt);
    }
    SECTION("entry shorter than its type needs")
    {
        m.mem.put(madt_at, madt(0xfee00000, 0, {Bytes{1, 6, 0, 0, 0, 0}}));
        CHECK(m.parse(*p) == Error::bad_madt);
    }
    SECTION("x2APIC entry too short")
    {
        m.mem.put(madt_at, madt(0xfee00000, 0, {Bytes{9, 12, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}}));
        CHECK(m.parse(*p) == Error::bad_madt);
    }
    SECTION("MADT shorter than its fixed part")
    {
        m.mem.put(madt_at, sdt("APIC", 5, Bytes{0, 0, 0xe0, 0xfe}));
        CHECK(m.parse(*p) == Error::bad_madt);
    }
    SECTION("longer entries than the spec's are accepted")
    {
        Bytes e = lapic(0, 4, 1);
        e[1] = 10;
        e.push_back(0);
        e.push_back(0);
        m.mem.put(madt_at, madt(0xfee00000, 0, {e, lapic(1, 5, 1)}));
        CHECK(m.parse(*p) == Error::none);
        CHECK(p->cpu_count == 2);
    }
}

TEST_CASE("acpi: too many CPUs, I/O APICs and overrides are capped, not overflowed", "[acpi]")
{
    Machine m;
    Bytes body(8, 0);
    put32(body, 0, 0xfee00000);
    for (uint32_t i = 0; i < 100; ++i) {
        Bytes e = i < 50 ? lapic(static_cast<uint8_t>(i), static_cast<uint8_t>(i), 1) : x2apic(1000 + i, 1, i);
        body.insert(body.end(), e.begin(), e.end());
    }
    for (uint8_t i = 0; i < 20; ++i) {
        Bytes a = ioapic(i, 0xfec00000 + i * 0x1000u, i * 24u);
        Bytes b = iso(0, i, i, 0);
        body.insert(body.end(), a.begin(), a.end());
        body.insert(body.end(), b.begin(), b.end());
    }
    m.mem.put(madt_at, sdt("APIC", 5, body));
    auto p = platform();
    REQUIRE(m.parse(*p) == Error::none);
    CHECK(p->cpu_count == max_cpus);
    CHECK(p->cpus_ignored == 100 - max_cpus);
    CHECK(p->cpus[max_cpus - 1].apic_id == 1000 + max_cpus - 1);
    CHECK(p->ioapic_count == max_ioapics);
    CHECK(p->override_count == max_overrides);
}

TEST_CASE("acpi: parse only keeps the latest mapping in use", "[acpi]")
{
    // A map function that hands out one window, overwritten on every call:
    // parse must still get the right answer.
    struct Window {
        PhysMem* mem;
        Bytes window;
        static const uint8_t* map(void* ctx, uint64_t phys, size_t len)
        {
            auto* self = static_cast<Window*>(ctx);
            const uint8_t* p = PhysMem::map(self->mem, phys, len);
            if (p == nullptr)
                return nullptr;
            self->window.assign(len + 1, 0xcc);   // reallocates: old pointers dangle (ASan catches use)
            std::memcpy(self->window.data(), p, len);
            return self->window.data();
        }
    };
    Machine m;
    Window w{&m.mem, {}};
    auto p = platform();
    REQUIRE(parse(m.rsdp.data(), m.rsdp.size(), &Window::map, &w, *p) == Error::none);
    CHECK(p->cpu_count == 3);
    CHECK(p->has_s5);
}

TEST_CASE("acpi: find_s5", "[acpi]")
{
    uint8_t a = 0xaa, b = 0xbb;
    SECTION("plain and root-prefixed")
    {
        Bytes aml = s5_aml(false, 5, 5);
        REQUIRE(find_s5(aml.data(), aml.size(), a, b));
        CHECK(a == 5);
        CHECK(b == 5);
        aml = s5_aml(true, 0, 1);
        REQUIRE(find_s5(aml.data(), aml.size(), a, b));
        CHECK(a == 0);
        CHECK(b == 1);
    }
    SECTION("word and dword constants, two-byte PkgLength")
    {
        Bytes aml{0x08, '_', 'S', '5', '_', 0x12, 0x40, 0x01, 0x02, 0x0b, 0x07, 0x00, 0x0c, 0x03, 0, 0, 0};
        REQUIRE(find_s5(aml.data(), aml.size(), a, b));
        CHECK(a == 7);
        CHECK(b == 3);
    }
    SECTION("a string or method mentioning _S5_ is not the object")
    {
        Bytes aml{0x0d, '_', 'S', '5', '_', 0x00};   // String "_S5_"
        CHECK_FALSE(find_s5(aml.data(), aml.size(), a, b));
        Bytes both = aml;
        Bytes real = s5_aml(false, 3, 4);
        both.insert(both.end(), real.begin(), real.end());
        REQUIRE(find_s5(both.data(), both.size(), a, b));
        CHECK(a == 3);
        CHECK(b == 4);
    }
    SECTION("truncated anywhere: false, never a read past the end")
    {
        const Bytes aml = s5_aml(false, 5, 6);
        for (size_t n = 0; n < aml.size() - 2; ++n) {
            // Copy to an exact-size heap buffer so ASan sees any overread.
            std::unique_ptr<uint8_t[]> buf{new uint8_t[n == 0 ? 1 : n]};
            std::memcpy(buf.get(), aml.data(), n);
            uint8_t x = 0, y = 0;
            CHECK_FALSE(find_s5(buf.get(), n, x, y));
        }
    }
    SECTION("unknown element type")
    {
        Bytes aml{0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0d, 'x', 0x00, 0x00};
        CHECK_FALSE(find_s5(aml.data(), aml.size(), a, b));
    }
    SECTION("fewer than two elements")
    {
        Bytes aml{0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x01, 0x0a, 0x05};
        CHECK_FALSE(find_s5(aml.data(), aml.size(), a, b));
    }
    SECTION("nullptr")
    {
        CHECK_FALSE(find_s5(nullptr, 100, a, b));
    }
}

TEST_CASE("acpi: scan_rsdp", "[acpi]")
{
    PhysMem mem;
    const Bytes v1 = rsdp_v1(rsdt_at);
    SECTION("found on a 16-byte boundary")
    {
        mem.put(0xf5a30, v1);
        auto r = scan_rsdp(&PhysMem::map, &mem, 0xe0000, 0x20000);
        REQUIRE(r);
        CHECK(*r == 0xf5a30);
    }
    SECTION("off a 16-byte boundary it is not an RSDP")
    {
        mem.put(0xf5a38, v1);
        CHECK_FALSE(scan_rsdp(&PhysMem::map, &mem, 0xe0000, 0x20000));
    }
    SECTION("bad checksum is skipped, the next good one found")
    {
        Bytes bad = v1;
        bad[8] ^= 1;
        mem.put(0xe1000, bad);
        mem.put(0xe2000, v1);
        auto r = scan_rsdp(&PhysMem::map, &mem, 0xe0000, 0x20000);
        REQUIRE(r);
        CHECK(*r == 0xe2000);
    }
    SECTION("v2 needs its extended checksum")
    {
        Bytes v2 = rsdp_v2(rsdt_at, xsdt_at);
        v2[32] ^= 1;
        mem.put(0xe1000, v2);
        CHECK_FALSE(scan_rsdp(&PhysMem::map, &mem, 0xe0000, 0x20000));
        v2[32] ^= 1;
        mem.put(0xe1000, v2);
        CHECK(scan_rsdp(&PhysMem::map, &mem, 0xe0000, 0x20000).value_or(0) == 0xe1000);
    }
    SECTION("at the very end of the range")
    {
        mem.put(0xfffe0, v1);
        CHECK(scan_rsdp(&PhysMem::map, &mem, 0xe0000, 0x20000).value_or(0) == 0xfffe0);
        CHECK_FALSE(scan_rsdp(&PhysMem::map, &mem, 0xe0000, 0x1fff0));
    }
    SECTION("unaligned start still checks absolute 16-byte boundaries")
    {
        mem.put(0xe0010, v1);
        CHECK(scan_rsdp(&PhysMem::map, &mem, 0xe0008, 0x100).value_or(0) == 0xe0010);
    }
    SECTION("unmappable or too small")
    {
        CHECK_FALSE(scan_rsdp(&PhysMem::map, &mem, 0x7fff0000, 0x20000));
        CHECK_FALSE(scan_rsdp(&PhysMem::map, &mem, 0xe0000, 10));
        CHECK_FALSE(scan_rsdp(&PhysMem::map, &mem, ~0ull - 5, 100));
    }
}

TEST_CASE("acpi: error strings", "[acpi]")
{
    for (Error e : {Error::none, Error::bad_rsdp, Error::bad_rsdp_checksum, Error::unmappable, Error::bad_root_table,
                    Error::bad_checksum, Error::no_madt, Error::bad_madt})
        CHECK(std::string(to_string(e)).size() > 3);
    CHECK(std::string(to_string(Error::no_madt)) == "no MADT");
}
