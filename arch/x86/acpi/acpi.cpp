#include "arch/x86/acpi/acpi.hpp"

namespace menhir::acpi {
namespace {

// System description table header, ACPI 6.5 5.2.6.
constexpr size_t header_len = 36;
constexpr size_t sig_off = 0, length_off = 4;
// No real table comes near this; a larger length is garbage and would make
// the caller map (and us checksum) an absurd range.
constexpr uint32_t max_table_len = 16u << 20;
constexpr size_t max_root_entries = 1024;

// RSDP, ACPI 6.5 5.2.5.3.
constexpr size_t rsdp_v1_len = 20, rsdp_v2_len = 36;
constexpr size_t rsdp_oem_off = 9, rsdp_rev_off = 15, rsdp_rsdt_off = 16, rsdp_len_off = 20, rsdp_xsdt_off = 24;

// FADT, ACPI 6.5 5.2.9, Table 5.9: byte offsets of the fields we use.
constexpr size_t fadt_dsdt = 40, fadt_smi_cmd = 48, fadt_acpi_enable = 52, fadt_pm1a_cnt = 64,
                 fadt_pm1b_cnt = 68, fadt_pm_tmr = 76, fadt_flags = 112, fadt_reset_reg = 116,
                 fadt_reset_value = 128, fadt_x_dsdt = 140, fadt_x_pm1a_cnt = 172, fadt_x_pm1b_cnt = 184,
                 fadt_x_pm_tmr = 208;
constexpr size_t gas_len = 12;
constexpr uint32_t fadt_tmr_val_ext = 1u << 8;     // Table 5.10, fixed feature flags
constexpr uint32_t fadt_reset_reg_sup = 1u << 10;

// MADT, ACPI 6.5 5.2.12.
constexpr size_t madt_lapic_addr = 36, madt_flags = 40, madt_entries = 44;
constexpr uint32_t madt_pcat_compat = 1u << 0;
constexpr uint8_t madt_local_apic = 0, madt_io_apic = 1, madt_source_override = 2, madt_lapic_override = 5,
                  madt_local_x2apic = 9;
// Minimum lengths per type (5.2.12.2, .3, .5, .8, .12); later revisions may grow an entry, never shrink it.
constexpr uint8_t madt_local_apic_len = 8, madt_io_apic_len = 12, madt_source_override_len = 10,
                  madt_lapic_override_len = 12, madt_local_x2apic_len = 16;
constexpr uint32_t lapic_enabled = 1u << 0, lapic_online_capable = 1u << 1;   // Table 5.23

// AML, ACPI 6.5 20.2.3 - 20.2.5.
constexpr uint8_t aml_name_op = 0x08, aml_package_op = 0x12, aml_zero_op = 0x00, aml_one_op = 0x01,
                  aml_ones_op = 0xff, aml_byte_prefix = 0x0a, aml_word_prefix = 0x0b, aml_dword_prefix = 0x0c,
                  aml_root_char = '\\';

[[nodiscard]] uint8_t rd8(const uint8_t* p, size_t off) { return p[off]; }
[[nodiscard]] uint16_t rd16(const uint8_t* p, size_t off)
{
    uint16_t v;
    __builtin_memcpy(&v, p + off, sizeof(v));
    return v;
}
[[nodiscard]] uint32_t rd32(const uint8_t* p, size_t off)
{
    uint32_t v;
    __builtin_memcpy(&v, p + off, sizeof(v));
    return v;
}
[[nodiscard]] uint64_t rd64(const uint8_t* p, size_t off)
{
    uint64_t v;
    __builtin_memcpy(&v, p + off, sizeof(v));
    return v;
}

[[nodiscard]] bool checksum_ok(const uint8_t* p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; ++i)
        sum = static_cast<uint8_t>(sum + p[i]);
    return sum == 0;
}

[[nodiscard]] bool sig_is(const uint8_t* p, const char* sig, size_t n)
{
    return __builtin_memcmp(p, sig, n) == 0;
}

// A table, mapped whole and validated.
struct Table {
    const uint8_t* p{nullptr};
    uint32_t len{0};
};
enum class Load { ok, unmappable, bad_header, bad_checksum };

[[nodiscard]] Load load_table(MapFn map, void* ctx, uint64_t phys, const char* sig, Table& t)
{
    if (phys == 0 || phys > ~0ull - header_len)
        return Load::unmappable;
    const uint8_t* h = map(ctx, phys, header_len);
    if (h == nullptr)
        return Load::unmappable;
    const uint32_t len = rd32(h, length_off);
    if ((sig != nullptr && !sig_is(h + sig_off, sig, 4)) || len < header_len || len > max_table_len)
        return Load::bad_header;
    if (phys > ~0ull - len)
        return Load::unmappable;
    const uint8_t* p = map(ctx, phys, len);
    if (p == nullptr)
        return Load::unmappable;
    // Read the header again through the mapping we keep: it is the one the
    // checksum covers.
    if (rd32(p, length_off) != len || (sig != nullptr && !sig_is(p + sig_off, sig, 4)))
        return Load::bad_header;
    if (!checksum_ok(p, len))
        return Load::bad_checksum;
    t.p = p;
    t.len = len;
    return Load::ok;
}

void note_skipped(Platform& out, const char* sig)
{
    if (out.skipped_count >= max_skipped)
        return;
    __builtin_memcpy(out.skipped[out.skipped_count], sig, 4);
    out.skipped[out.skipped_count][4] = '\0';
    ++out.skipped_count;
}

void add_cpu(Platform& out, uint32_t apic_id, uint32_t uid, uint32_t flags, bool x2apic)
{
    const bool enabled = (flags & lapic_enabled) != 0;
    const bool online_capable = (flags & lapic_online_capable) != 0;
    // Neither bit: the processor is not usable and never will be
    // (5.2.12.2); there is no hot-plug here to wait for it.
    if (!enabled && !online_capable)
        return;
    for (size_t i = 0; i < out.cpu_count; ++i)
        if (out.cpus[i].apic_id == apic_id)
            return;   // firmware may list a CPU as both LAPIC and x2APIC
    if (out.cpu_count >= max_cpus) {
        ++out.cpus_ignored;
        return;
    }
    out.cpus[out.cpu_count++] = CpuEntry{apic_id, uid, enabled, online_capable, x2apic};
}

[[nodiscard]] bool parse_madt(const Table& t, Platform& out)
{
    if (t.len < madt_entries)
        return false;
    out.lapic_address = rd32(t.p, madt_lapic_addr);
    out.pcat_compat = (rd32(t.p, madt_flags) & madt_pcat_compat) != 0;

    // Every entry is at least 2 bytes, so this ends within len/2 steps.
    size_t off = madt_entries;
    while (off < t.len) {
        if (t.len - off < 2)
            return false;
        const uint8_t* e = t.p + off;
        const uint8_t type = e[0];
        const uint8_t len = e[1];
        if (len < 2 || len > t.len - off)
            return false;
        switch (type) {
        case madt_local_apic:
            if (len < madt_local_apic_len)
                return false;
            if (e[3] != 0xff)   // 0xFF is the broadcast ID, never a CPU
                add_cpu(out, e[3], e[2], rd32(e, 4), false);
            break;
        case madt_io_apic:
            if (len < madt_io_apic_len)
                return false;
            if (out.ioapic_count < max_ioapics)
                out.ioapics[out.ioapic_count++] = IoApic{e[2], rd32(e, 4), rd32(e, 8)};
            break;
        case madt_source_override:
            if (len < madt_source_override_len)
                return false;
            if (out.override_count < max_overrides)
                out.overrides[out.override_count++] = Override{e[2], e[3], rd32(e, 4), rd16(e, 8)};
            break;
        case madt_lapic_override:
            if (len < madt_lapic_override_len)
                return false;
            out.lapic_address = rd64(e, 4);
            break;
        case madt_local_x2apic:
            if (len < madt_local_x2apic_len)
                return false;
            if (rd32(e, 4) != 0xffffffffu)
                add_cpu(out, rd32(e, 4), rd32(e, 12), rd32(e, 8), true);
            break;
        default:   // NMI sources, GIC structures, ...: not ours
            break;
        }
        off += len;
    }
    return true;
}

// Reads a FADT field only if the table is long enough to have it: the FADT
// grew with every revision and firmware sets the length to its own.
[[nodiscard]] bool has(const Table& t, size_t off, size_t size) { return t.len >= off + size; }

[[nodiscard]] Gas read_gas(const uint8_t* p)
{
    Gas g;
    g.space_id = p[0];
    g.bit_width = p[1];
    g.bit_offset = p[2];
    g.access_size = p[3];
    g.address = rd64(p, 4);
    return g;
}

// The X_ block when it is an I/O port, else the legacy 32-bit field.
[[nodiscard]] uint32_t io_block(const Table& t, size_t legacy_off, size_t x_off)
{
    if (has(t, x_off, gas_len)) {
        const Gas g = read_gas(t.p + x_off);
        if (g.space_id == gas_io && g.address != 0 && g.address <= 0xffff)
            return static_cast<uint32_t>(g.address);
    }
    return has(t, legacy_off, 4) ? rd32(t.p, legacy_off) : 0;
}

void parse_fadt(const Table& t, Platform& out)
{
    out.has_fadt = true;
    if (has(t, fadt_smi_cmd, 4))
        out.smi_cmd = rd32(t.p, fadt_smi_cmd);
    if (has(t, fadt_acpi_enable, 1))
        out.acpi_enable = rd8(t.p, fadt_acpi_enable);
    out.pm1a_cnt = io_block(t, fadt_pm1a_cnt, fadt_x_pm1a_cnt);
    out.pm1b_cnt = io_block(t, fadt_pm1b_cnt, fadt_x_pm1b_cnt);
    out.pm_tmr_blk = io_block(t, fadt_pm_tmr, fadt_x_pm_tmr);
    const uint32_t flags = has(t, fadt_flags, 4) ? rd32(t.p, fadt_flags) : 0;
    out.pm_tmr_32bit = (flags & fadt_tmr_val_ext) != 0;
    // RESET_REG arrived with FADT revision 2; a 116-byte FADT has no room for it.
    if (has(t, fadt_reset_value, 1)) {
        out.reset_reg = read_gas(t.p + fadt_reset_reg);
        out.reset_value = rd8(t.p, fadt_reset_value);
        out.reset_supported = (flags & fadt_reset_reg_sup) != 0;
    }
    const uint64_t x_dsdt = has(t, fadt_x_dsdt, 8) ? rd64(t.p, fadt_x_dsdt) : 0;
    out.dsdt = x_dsdt != 0 ? x_dsdt : (has(t, fadt_dsdt, 4) ? rd32(t.p, fadt_dsdt) : 0);
}

// One AML integer constant at aml[j]; advances j past it.
[[nodiscard]] bool read_small_int(const uint8_t* aml, size_t len, size_t& j, uint8_t& v)
{
    if (j >= len)
        return false;
    size_t size = 0;
    switch (aml[j]) {
    case aml_zero_op: v = 0; break;
    case aml_one_op: v = 1; break;
    case aml_ones_op: v = 0xff; break;
    case aml_byte_prefix: size = 1; break;
    case aml_word_prefix: size = 2; break;
    case aml_dword_prefix: size = 4; break;
    default: return false;
    }
    if (size != 0) {
        if (len - j - 1 < size)
            return false;
        v = aml[j + 1];   // little endian: SLP_TYP values are 3 bits, the low byte holds them
    }
    j += 1 + size;
    return true;
}

} // namespace

const char* to_string(Error e)
{
    switch (e) {
    case Error::none: return "no error";
    case Error::bad_rsdp: return "bad RSDP";
    case Error::bad_rsdp_checksum: return "bad RSDP checksum";
    case Error::unmappable: return "ACPI table not mappable";
    case Error::bad_root_table: return "bad RSDT/XSDT";
    case Error::bad_checksum: return "bad table checksum";
    case Error::no_madt: return "no MADT";
    case Error::bad_madt: return "malformed MADT";
    }
    return "unknown ACPI error";
}

bool find_s5(const uint8_t* aml, size_t len, uint8_t& typa, uint8_t& typb)
{
    if (aml == nullptr || len < 5)
        return false;
    for (size_t i = 1; i + 4 < len; ++i) {
        if (!sig_is(aml + i, "_S5_", 4))
            continue;
        const bool named = aml[i - 1] == aml_name_op ||
                           (i >= 2 && aml[i - 1] == aml_root_char && aml[i - 2] == aml_name_op);
        size_t j = i + 4;
        if (!named || aml[j] != aml_package_op)
            continue;
        ++j;
        // PkgLength: bits 7:6 of the lead byte count the bytes that follow (20.2.4).
        if (j >= len)
            continue;
        j += 1 + (aml[j] >> 6);
        if (j >= len)
            continue;
        const uint8_t elements = aml[j++];
        uint8_t a = 0, b = 0;
        if (elements < 2 || !read_small_int(aml, len, j, a) || !read_small_int(aml, len, j, b))
            continue;
        typa = a;
        typb = b;
        return true;
    }
    return false;
}

Optional<uint64_t> scan_rsdp(MapFn map, void* ctx, uint64_t phys, size_t len)
{
    if (len < rsdp_v1_len || phys > ~0ull - len)
        return {};
    const uint8_t* p = map(ctx, phys, len);
    if (p == nullptr)
        return {};
    // 5.2.5.1: the RSDP sits on a 16-byte boundary of physical memory.
    for (size_t off = static_cast<size_t>((16 - phys % 16) % 16); off <= len - rsdp_v1_len; off += 16) {
        if (!sig_is(p + off, "RSD PTR ", 8) || !checksum_ok(p + off, rsdp_v1_len))
            continue;
        if (p[off + rsdp_rev_off] >= 2 && len - off >= rsdp_v2_len) {
            const uint32_t l = rd32(p + off, rsdp_len_off);
            if (l < rsdp_v2_len || l > len - off || !checksum_ok(p + off, l))
                continue;
        }
        return phys + off;
    }
    return {};
}

uint32_t isa_irq_to_gsi(const Platform& pf, uint8_t irq, uint16_t* flags_out)
{
    const size_t n = pf.override_count < max_overrides ? pf.override_count : max_overrides;
    for (size_t i = 0; i < n; ++i) {
        const Override& o = pf.overrides[i];
        if (o.bus == 0 && o.source_irq == irq) {   // bus 0 is ISA (5.2.12.5)
            if (flags_out != nullptr)
                *flags_out = o.flags;
            return o.gsi;
        }
    }
    if (flags_out != nullptr)
        *flags_out = 0;
    return irq;
}

Error parse(const uint8_t* rsdp, size_t rsdp_len, MapFn map, void* ctx, Platform& out)
{
    out = Platform{};
    if (rsdp == nullptr || map == nullptr || rsdp_len < rsdp_v1_len || !sig_is(rsdp, "RSD PTR ", 8))
        return Error::bad_rsdp;
    if (!checksum_ok(rsdp, rsdp_v1_len))
        return Error::bad_rsdp_checksum;
    out.rsdp_revision = rsdp[rsdp_rev_off];
    __builtin_memcpy(out.oem_id, rsdp + rsdp_oem_off, 6);
    out.oem_id[6] = '\0';

    uint64_t root = rd32(rsdp, rsdp_rsdt_off);
    bool xsdt = false;
    // A revision-2 RSDP handed over as only 20 bytes (the multiboot2 "old
    // RSDP" tag) still has a usable RSDT.
    if (out.rsdp_revision >= 2 && rsdp_len >= rsdp_v2_len) {
        const uint32_t len = rd32(rsdp, rsdp_len_off);
        if (len < rsdp_v2_len || len > rsdp_len)
            return Error::bad_rsdp;
        if (!checksum_ok(rsdp, len))
            return Error::bad_rsdp_checksum;
        const uint64_t x = rd64(rsdp, rsdp_xsdt_off);
        if (x != 0) {
            root = x;
            xsdt = true;
        }
    }
    if (root == 0)
        return Error::bad_root_table;

    const char* root_sig = xsdt ? "XSDT" : "RSDT";
    Table rt;
    switch (load_table(map, ctx, root, root_sig, rt)) {
    case Load::ok: break;
    case Load::unmappable: return Error::unmappable;
    case Load::bad_header: return Error::bad_root_table;
    case Load::bad_checksum: note_skipped(out, root_sig); return Error::bad_checksum;
    }
    const uint32_t root_len = rt.len;
    const size_t entry_size = xsdt ? 8 : 4;
    size_t entries = (root_len - header_len) / entry_size;
    if (entries > max_root_entries)
        entries = max_root_entries;

    bool madt_found = false, madt_bad_checksum = false, madt_malformed = false;
    for (size_t i = 0; i < entries; ++i) {
        // Map the root again each time: looking at a child table may have
        // reused the caller's mapping window.
        const uint8_t* r = map(ctx, root, root_len);
        if (r == nullptr)
            return Error::unmappable;
        const size_t off = header_len + i * entry_size;
        const uint64_t phys = xsdt ? rd64(r, off) : rd32(r, off);
        if (phys == 0 || phys > ~0ull - header_len)
            continue;
        const uint8_t* h = map(ctx, phys, header_len);
        if (h == nullptr)
            continue;
        const bool is_madt = sig_is(h, "APIC", 4);
        const bool is_fadt = sig_is(h, "FACP", 4);
        if ((is_madt && madt_found) || (is_fadt && out.has_fadt) || (!is_madt && !is_fadt))
            continue;

        const char* sig = is_madt ? "APIC" : "FACP";
        Table t;
        const Load l = load_table(map, ctx, phys, sig, t);
        if (l == Load::bad_checksum) {
            note_skipped(out, sig);
            madt_bad_checksum = madt_bad_checksum || is_madt;
            continue;
        }
        if (l != Load::ok)
            continue;

        if (is_madt) {
            madt_found = true;
            madt_malformed = !parse_madt(t, out);
            continue;
        }
        parse_fadt(t, out);
        Table dsdt;
        const Load dl = load_table(map, ctx, out.dsdt, "DSDT", dsdt);
        if (dl == Load::bad_checksum)
            note_skipped(out, "DSDT");
        else if (dl == Load::ok)
            out.has_s5 = find_s5(dsdt.p + header_len, dsdt.len - header_len, out.slp_typa, out.slp_typb);
    }

    if (madt_malformed)
        return Error::bad_madt;
    if (!madt_found)
        return madt_bad_checksum ? Error::bad_checksum : Error::no_madt;
    return Error::none;
}

} // namespace menhir::acpi
