// acpi: checks from inside the ACPI tables a domU is given (RSDP, XSDT, FADT, DSDT, MADT, the memory map), then ends through the FADT's sleep or reset register.
//
// Every check prints `acpi: CASE -> GOT (expected WANT) ok|FAIL`. Then, with
// `poweroff` on its command line, it does what Linux's ACPI power-off does on
// a hardware-reduced platform (clear WAK_STS, write SLP_TYP(\_S5) | SLP_EN to
// the sleep control register); with `reboot`, what Linux's ACPI reboot does
// (the reset value to the reset register). Harmless writes come first, and
// must not end it. Should the domain still run after the real write, it says
// so and crashes.
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"
#include "tests/guests/lib/check.hpp"

using namespace guest;

extern "C" const char guest_name[] = "acpi";

namespace {

Checks c;

const uint8_t* at(uint64_t pa) { return reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(pa)); }
template <typename T>
T rd(uint64_t pa) {
    T v;
    __builtin_memcpy(&v, at(pa), sizeof v);
    return v;
}
uint8_t sum(uint64_t pa, uint32_t len) {
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; ++i) s = static_cast<uint8_t>(s + at(pa)[i]);
    return s;
}
bool sig(uint64_t pa, const char* s, size_t n) { return __builtin_memcmp(at(pa), s, n) == 0; }

// A table: signature, sane length, zero checksum. Returns its length, 0 if bad.
uint32_t table(const char* name, uint64_t pa) {
    char what[48];
    format(what, sizeof what, "%s signature", name);
    if (!c.expect(what, sig(pa, name, 4), 1)) return 0;
    const uint32_t len = rd<uint32_t>(pa + 4);
    format(what, sizeof what, "%s length sane", name);
    if (!c.expect(what, len >= 36 && len <= 4096, 1)) return 0;
    format(what, sizeof what, "%s checksum", name);
    if (!c.expect(what, sum(pa, len), 0)) return 0;
    return len;
}

// Where the tables lie: inside one ACPI (type 3) range of this memory map, and
// no RAM range overlaps them.
void check_marked(const char* which, const MemoryRange* map, size_t n, uint64_t lo, uint64_t hi) {
    bool inside_acpi = false, overlaps_ram = false;
    for (size_t i = 0; i < n; ++i) {
        const uint64_t b = map[i].addr, e = map[i].addr + map[i].size;
        if (map[i].type == xen::MEMMAP_TYPE_ACPI && b <= lo && hi <= e) inside_acpi = true;
        if (map[i].type == xen::MEMMAP_TYPE_RAM && b < hi && lo < e) overlaps_ram = true;
    }
    char what[64];
    format(what, sizeof what, "tables inside an ACPI range of %s", which);
    c.expect(what, inside_acpi, 1);
    format(what, sizeof what, "tables outside RAM of %s", which);
    c.expect(what, overlaps_ram, 0);
}

struct Found {
    uint16_t sleep_control, sleep_status, reset_port;
    uint8_t reset_value, s5_type;
    bool ok;
};

// \_S5_ in the DSDT's AML: NameOp ['\'] '_S5_' PackageOp PkgLength(1 byte)
// NumElements then SLP_TYPa as BytePrefix n, ZeroOp or OneOp.
bool find_s5(uint64_t aml, uint32_t len, uint8_t& type) {
    for (uint32_t i = 0; i + 8 < len; ++i) {
        if (!sig(aml + i, "_S5_", 4)) continue;
        uint64_t p = aml + i + 4;
        if (at(p)[0] != 0x12) continue;
        p += 3;   // PackageOp, a one-byte PkgLength, NumElements
        const uint8_t op = at(p)[0];
        if (op == 0x0a) type = at(p)[1];
        else if (op == 0x00 || op == 0x01) type = op;
        else continue;
        return true;
    }
    return false;
}

Found check_tables(const xen::hvm_start_info* si, uint32_t vcpus) {
    Found f{};
    const uint64_t rsdp = si->rsdp_paddr;
    print("acpi: rsdp_paddr 0x%llx\n", static_cast<unsigned long long>(rsdp));
    if (!c.expect("rsdp_paddr set", rsdp != 0, 1)) return f;
    c.expect("rsdp below 4 GiB", rsdp < (1ull << 32), 1);
    c.expect("RSDP signature", sig(rsdp, "RSD PTR ", 8), 1);
    c.expect("RSDP checksum", sum(rsdp, 20), 0);
    c.expect("RSDP revision", rd<uint8_t>(rsdp + 15), 2);
    c.expect("RSDP length", rd<uint32_t>(rsdp + 20), 36);
    c.expect("RSDP extended checksum", sum(rsdp, 36), 0);
    const uint64_t xsdt = rd<uint64_t>(rsdp + 24);
    const uint32_t xlen = table("XSDT", xsdt);
    if (xlen == 0) return f;
    uint64_t lo = rsdp, hi = rsdp + 36;
    auto cover = [&](uint64_t pa, uint32_t len) {
        if (pa < lo) lo = pa;
        if (pa + len > hi) hi = pa + len;
    };
    cover(xsdt, xlen);
    uint64_t fadt = 0, madt = 0;
    for (uint32_t off = 36; off + 8 <= xlen; off += 8) {
        const uint64_t t = rd<uint64_t>(xsdt + off);
        if (sig(t, "FACP", 4)) fadt = t;
        else if (sig(t, "APIC", 4)) madt = t;
        else print("acpi: XSDT lists an unknown table at 0x%llx\n", static_cast<unsigned long long>(t));
    }
    if (!c.expect("XSDT lists a FADT", fadt != 0, 1)) return f;
    const uint32_t flen = table("FACP", fadt);
    if (flen == 0) return f;
    cover(fadt, flen);
    c.expect("FADT revision", rd<uint8_t>(fadt + 8), 6);
    c.expect("FADT length", flen, 276);
    const uint32_t flags = rd<uint32_t>(fadt + 112);
    c.expect("FADT HW_REDUCED_ACPI", (flags >> 20) & 1, 1);
    c.expect("FADT RESET_REG_SUP", (flags >> 10) & 1, 1);
    const uint16_t boot_arch = rd<uint16_t>(fadt + 109);
    c.expect("IAPC_BOOT_ARCH VGA Not Present", (boot_arch >> 2) & 1, 1);
    c.expect("IAPC_BOOT_ARCH CMOS RTC Not Present", (boot_arch >> 5) & 1, 1);
    c.expect("IAPC_BOOT_ARCH 8042", (boot_arch >> 1) & 1, 0);
    c.expect("FADT PM1a_CNT_BLK (none when hardware-reduced)", rd<uint32_t>(fadt + 64), 0);
    // The three registers as GAS: system I/O, 8 bits at bit 0, byte access.
    struct Reg { const char* name; uint32_t off; uint16_t* port; };
    const Reg regs[] = {{"RESET_REG", 116, &f.reset_port}, {"SLEEP_CONTROL_REG", 244, &f.sleep_control},
                        {"SLEEP_STATUS_REG", 256, &f.sleep_status}};
    bool regs_ok = true;
    for (const Reg& r : regs) {
        char what[64];
        format(what, sizeof what, "%s in system I/O, 8 bits", r.name);
        const bool io8 = rd<uint8_t>(fadt + r.off) == 1 && rd<uint8_t>(fadt + r.off + 1) == 8 &&
                         rd<uint8_t>(fadt + r.off + 2) == 0;
        regs_ok = c.expect(what, io8, 1) && regs_ok;
        const uint64_t port = rd<uint64_t>(fadt + r.off + 4);
        format(what, sizeof what, "%s port below 0x10000", r.name);
        regs_ok = c.expect(what, port != 0 && port < 0x10000, 1) && regs_ok;
        *r.port = static_cast<uint16_t>(port);
    }
    f.reset_value = rd<uint8_t>(fadt + 128);
    print("acpi: sleep control port 0x%x, sleep status port 0x%x, reset port 0x%x value 0x%x\n", f.sleep_control,
          f.sleep_status, f.reset_port, f.reset_value);

    const uint64_t dsdt = rd<uint64_t>(fadt + 140);
    c.expect("FADT DSDT and X_DSDT agree", rd<uint32_t>(fadt + 40) == dsdt, 1);
    const uint32_t dlen = table("DSDT", dsdt);
    if (dlen == 0) return f;
    cover(dsdt, dlen);
    const bool s5 = find_s5(dsdt + 36, dlen - 36, f.s5_type);
    c.expect("DSDT has \\_S5", s5, 1);
    print("acpi: \\_S5 SLP_TYP %u\n", f.s5_type);

    if (c.expect("XSDT lists a MADT", madt != 0, 1)) {
        const uint32_t mlen = table("APIC", madt);
        if (mlen != 0) {
            cover(madt, mlen);
            c.expect("MADT local APIC address", rd<uint32_t>(madt + 36), 0xfee00000);
            uint32_t lapics = 0, enabled = 0, others = 0;
            for (uint32_t off = 44; off + 2 <= mlen && rd<uint8_t>(madt + off + 1) >= 2;
                 off += rd<uint8_t>(madt + off + 1)) {
                if (rd<uint8_t>(madt + off) == 0) {
                    if (rd<uint8_t>(madt + off + 3) == lapics && (rd<uint32_t>(madt + off + 4) & 1)) ++enabled;
                    ++lapics;
                } else {
                    ++others;
                }
            }
            print("acpi: MADT with %u local APIC entries\n", lapics);
            c.expect("MADT enabled LAPICs with APIC ID = vCPU", enabled, vcpus);
            c.expect("MADT entries other than LAPICs (no IO-APIC)", others, 0);
        }
    }

    print("acpi: tables 0x%llx-0x%llx\n", static_cast<unsigned long long>(lo), static_cast<unsigned long long>(hi));
    MemoryRange map[16];
    const size_t n = memory_map(map, 16);
    check_marked("start_info's memory map", map, n, lo, hi);
    static xen::e820_entry e820[16];
    xen::xen_memory_map mm{16, reinterpret_cast<uintptr_t>(e820)};
    MemoryRange hmap[16];
    size_t hn = 0;
    if (c.expect("XENMEM_memory_map", memory_op(xen::XENMEM_memory_map, &mm), 0)) {
        for (; hn < mm.nr_entries && hn < 16; ++hn) hmap[hn] = MemoryRange{e820[hn].addr, e820[hn].size, e820[hn].type};
        check_marked("XENMEM_memory_map", hmap, hn, lo, hi);
    }
    f.ok = regs_ok && s5;
    return f;
}

[[noreturn]] void still_running(const char* after) {
    print("acpi: still running after %s FAIL\n", after);
    crash();
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info* si) {
    print("acpi: started\n");
    char value[8];
    uint64_t vcpus = 1;   // the domain's, for the MADT check
    (void)cmdline_number(cmdline(), "vcpus", &vcpus);
    const Found f = check_tables(si, static_cast<uint32_t>(vcpus));
    const bool power = cmdline_option(cmdline(), "poweroff", value, sizeof value);
    const bool reset = cmdline_option(cmdline(), "reboot", value, sizeof value);
    if (f.ok) {
        // What the OS does first or may do: none of it ends the domain.
        c.expect("sleep status reads WAK_STS clear", inb(f.sleep_status) & 0x80, 0);
        outb(f.sleep_status, 0x80);                                                  // clear WAK_STS
        outb(f.sleep_control, static_cast<uint8_t>(f.s5_type << 2));                 // SLP_TYP without SLP_EN
        outb(f.sleep_control, static_cast<uint8_t>((((f.s5_type + 1) & 7) << 2) | 0x20));   // another state
        outb(f.reset_port, 0x02);                                                    // hard-reset select only
        c.expect("still running after harmless writes", 1, 1);
    }
    print("acpi: %u passed, %u failed\n", c.passed, c.failed);
    if (!f.ok || c.failed != 0) crash();
    if (power) {
        print("acpi: writing SLP_TYP %u | SLP_EN to port 0x%x\n", f.s5_type, f.sleep_control);
        outb(f.sleep_control, static_cast<uint8_t>((f.s5_type << 2) | 0x20));
        still_running("the S5 write");
    }
    if (reset) {
        print("acpi: writing 0x%x to the reset register, port 0x%x\n", f.reset_value, f.reset_port);
        outb(f.reset_port, f.reset_value);
        still_running("the reset write");
    }
    print("acpi: done\n");
    poweroff();
}
