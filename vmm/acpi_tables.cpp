// Builds a domU's ACPI tables into a buffer, and says what its accesses to their registers mean.
#include "vmm/acpi_tables.hpp"

namespace menhir::acpi_tables {
namespace {

constexpr uint64_t four_gib = 1ull << 32;
constexpr uint64_t table_align = 16;

// DefinitionBlock ("", "DSDT", 2, "MENHIR", "PVH", 1) { Name (\_S5, Package
// () { 5, 5, 0, 0 }) }: the whole namespace a domU needs, \_S5 so that the
// OS offers S5 (Linux registers its ACPI power-off only when \_S5 exists).
// SLP_TYPa = SLP_TYPb = s5_sleep_type; the last two elements are reserved.
constexpr uint8_t dsdt_aml[] = {
    0x08,                          // NameOp
    '\\', '_', 'S', '5', '_',      // \_S5_
    0x12,                          // PackageOp
    0x08,                          // PkgLength: itself, NumElements and the 6 bytes of elements
    0x04,                          // NumElements
    0x0a, s5_sleep_type,           // BytePrefix SLP_TYPa
    0x0a, s5_sleep_type,           // BytePrefix SLP_TYPb
    0x00, 0x00,                    // ZeroOp, ZeroOp
};

uint64_t align16(uint64_t v) { return (v + table_align - 1) & ~(table_align - 1); }

uint8_t sum(const uint8_t* p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; ++i) s = static_cast<uint8_t>(s + p[i]);
    return s;
}

// Sets the byte at `at` so that [p, p + len) sums to zero.
void seal(uint8_t* p, size_t len, size_t at)
{
    p[at] = 0;
    p[at] = static_cast<uint8_t>(0x100 - sum(p, len));
}

void copy(char* dst, const char* src, size_t n)
{
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
}

Header header(const char* signature, uint32_t length, uint8_t revision)
{
    Header h{};
    copy(h.signature, signature, 4);
    h.length = length;
    h.revision = revision;
    copy(h.oem_id, "MENHIR", 6);
    copy(h.oem_table_id, "PVH     ", 8);
    h.oem_revision = 1;
    copy(h.creator_id, "MNHR", 4);
    h.creator_revision = 1;
    return h;
}

constexpr Gas io_byte(uint16_t port) { return Gas{1, 8, 0, 1, port}; }

uint64_t madt_bytes(uint32_t vcpus) { return sizeof(Madt) + uint64_t{vcpus} * sizeof(MadtLapic); }
uint64_t xsdt_bytes(bool madt) { return sizeof(Header) + (madt ? 2u : 1u) * sizeof(uint64_t); }

// Writes `bytes` of `v` at out + (gpa - base).
template <typename T>
void put(uint8_t* out, uint64_t base, uint64_t gpa, const T& v)
{
    __builtin_memcpy(out + (gpa - base), &v, sizeof v);
}

} // namespace

bool is_acpi_port(uint16_t port, uint32_t size)
{
    return size == 1 && (port == sleep_status_port || port == sleep_control_port || port == reset_port);
}

PortEffect port_write(uint16_t port, uint32_t size, uint32_t value)
{
    if (!is_acpi_port(port, size)) return PortEffect::none;
    const uint8_t v = static_cast<uint8_t>(value);
    if (port == sleep_control_port && (v & sleep_enable) &&
        ((v & sleep_type_mask) >> sleep_type_shift) == s5_sleep_type)
        return PortEffect::poweroff;
    // The PIIX reset control register resets on RST_CPU (bit 2); bit 1
    // (hard reset) makes no difference to a virtual machine.
    if (port == reset_port && (v & 0x04)) return PortEffect::reboot;
    return PortEffect::none;
}

uint32_t port_read(uint16_t port, uint32_t size)
{
    if (is_acpi_port(port, size) && port != reset_port) return 0;
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

const char* to_string(Error e)
{
    switch (e) {
    case Error::none: return "no error";
    case Error::bad_vcpus: return "ACPI tables: vCPU count is 0 or above 255";
    case Error::misaligned: return "ACPI tables: base is not 16-byte aligned";
    case Error::above_4gib: return "ACPI tables: they would not end below 4 GiB";
    case Error::too_small: return "ACPI tables: buffer too small";
    }
    return "ACPI tables: unknown error";
}

Error plan(const Input& in, Layout& out)
{
    out = Layout{};
    if (in.vcpus == 0 || in.vcpus > max_vcpus) return Error::bad_vcpus;
    if (in.base % table_align != 0) return Error::misaligned;
    if (in.base >= four_gib) return Error::above_4gib;
    Layout l{};
    uint64_t at = in.base;
    auto take = [&at](uint64_t bytes) {
        const uint64_t here = at;
        at = align16(at + bytes);
        return here;
    };
    l.rsdp = take(sizeof(Rsdp));
    l.xsdt = take(xsdt_bytes(in.madt));
    l.fadt = take(sizeof(Fadt));
    l.dsdt = take(sizeof(Header) + sizeof dsdt_aml);
    const uint64_t end_without_madt = l.dsdt + sizeof(Header) + sizeof dsdt_aml;
    uint64_t end = end_without_madt;
    if (in.madt) {
        l.madt = take(madt_bytes(in.vcpus));
        end = l.madt + madt_bytes(in.vcpus);
    }
    // base < 4 GiB and the tables are well under a page: no wrap.
    if (end > four_gib) return Error::above_4gib;
    l.bytes = end - in.base;
    out = l;
    return Error::none;
}

uint64_t max_bytes()
{
    Layout l{};
    return plan(Input{0, max_vcpus, true}, l) == Error::none ? l.bytes : 0;
}

Error build(const Input& in, uint8_t* out, size_t out_size, Layout& layout)
{
    const Error e = plan(in, layout);
    if (e != Error::none) return e;
    if (out_size < layout.bytes) {
        layout = Layout{};
        return Error::too_small;
    }
    __builtin_memset(out, 0, layout.bytes);
    const uint64_t base = in.base;

    Rsdp rsdp{};
    copy(rsdp.signature, "RSD PTR ", 8);
    copy(rsdp.oem_id, "MENHIR", 6);
    rsdp.revision = 2;
    rsdp.length = sizeof rsdp;
    rsdp.xsdt_address = layout.xsdt;
    put(out, base, layout.rsdp, rsdp);
    uint8_t* r = out + (layout.rsdp - base);
    seal(r, 20, __builtin_offsetof(Rsdp, checksum));
    seal(r, sizeof rsdp, __builtin_offsetof(Rsdp, extended_checksum));

    const uint64_t xsdt_len = xsdt_bytes(in.madt);
    put(out, base, layout.xsdt, header("XSDT", static_cast<uint32_t>(xsdt_len), 1));
    put(out, base, layout.xsdt + sizeof(Header), layout.fadt);
    if (in.madt) put(out, base, layout.xsdt + sizeof(Header) + 8, layout.madt);
    seal(out + (layout.xsdt - base), xsdt_len, __builtin_offsetof(Header, checksum));

    Fadt f{};
    f.header = header("FACP", sizeof f, 6);
    f.dsdt = static_cast<uint32_t>(layout.dsdt);
    f.x_dsdt = layout.dsdt;
    // No VGA, no CMOS RTC (as Xen tells its PVH guests), no 8042 (the bit
    // clear); hardware-reduced: no PM1 blocks, PM timer, GPEs or SCI, so
    // the OS sleeps through the two registers below.
    f.iapc_boot_arch = boot_arch_no_vga | boot_arch_no_cmos_rtc;
    f.flags = fadt_wbinvd | fadt_proc_c1 | fadt_pwr_button | fadt_slp_button | fadt_reset_reg_sup | fadt_hw_reduced;
    f.reset_reg = io_byte(reset_port);
    f.reset_value = reset_value;
    f.sleep_control_reg = io_byte(sleep_control_port);
    f.sleep_status_reg = io_byte(sleep_status_port);
    copy(reinterpret_cast<char*>(&f.hypervisor_vendor_id), "Menhir\0\0", 8);
    put(out, base, layout.fadt, f);
    seal(out + (layout.fadt - base), sizeof f, __builtin_offsetof(Header, checksum));

    const uint32_t dsdt_len = sizeof(Header) + sizeof dsdt_aml;
    put(out, base, layout.dsdt, header("DSDT", dsdt_len, 2));
    __builtin_memcpy(out + (layout.dsdt - base) + sizeof(Header), dsdt_aml, sizeof dsdt_aml);
    seal(out + (layout.dsdt - base), dsdt_len, __builtin_offsetof(Header, checksum));

    if (in.madt) {
        const uint64_t madt_len = madt_bytes(in.vcpus);
        Madt m{};
        m.header = header("APIC", static_cast<uint32_t>(madt_len), 5);
        m.lapic_address = lapic_address;
        m.flags = 0;
        put(out, base, layout.madt, m);
        for (uint32_t i = 0; i < in.vcpus; ++i) {
            const MadtLapic lapic{0, sizeof(MadtLapic), static_cast<uint8_t>(i), static_cast<uint8_t>(apic_id(i)), 1};
            put(out, base, layout.madt + sizeof(Madt) + i * sizeof(MadtLapic), lapic);
        }
        seal(out + (layout.madt - base), madt_len, __builtin_offsetof(Header, checksum));
    }
    return Error::none;
}

} // namespace menhir::acpi_tables
