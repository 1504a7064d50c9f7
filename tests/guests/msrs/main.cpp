// msrs: the MSRs and CPUID leaves a PVH domU gets as Xen gives them to an
// HVM guest: IA32_TSC_ADJUST per vCPU (and its CPUID bit), IA32_XSS and
// CPUID leaf 0xD sub-leaf 1 consistent with whether XSAVES is offered,
// CPUID faulting (MSR_PLATFORM_INFO bit 31, MSR_MISC_FEATURES_ENABLES bit 0,
// then CPUID at CPL 3 takes #GP), and #GP for MSRs nobody knows (the
// hypervisor logs each once; the integration test counts those lines).
// One `msrs: CASE -> GOT (expected X) ok|FAIL` line per case.
#include "../lib/check.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"
#include "../lib/user_mode.hpp"

using namespace guest;

extern "C" const char guest_name[] = "msrs";

extern "C" {
void gp_catcher();
void user_cpuid();
extern volatile uint32_t gp_count;
}

namespace {

constexpr uint32_t TSC = 0x10, TSC_ADJUST = 0x3b, PLATFORM_INFO = 0xce, MISC_FEATURES = 0x140, XSS = 0xda0;
constexpr uint64_t BIG = 1ull << 40;

Checks c;

// RDMSR/WRMSR that report whether they took #GP (the catcher skips them).
bool rdmsr_gp(uint32_t msr, uint64_t& value) {
    uint32_t before = gp_count, lo = 0, hi = 0;
    asm volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
    value = (static_cast<uint64_t>(hi) << 32) | lo;
    return gp_count != before;
}
bool wrmsr_gp(uint32_t msr, uint64_t value) {
    uint32_t before = gp_count;
    asm volatile("wrmsr" : : "c"(msr), "a"(static_cast<uint32_t>(value)), "d"(static_cast<uint32_t>(value >> 32))
                 : "memory");
    return gp_count != before;
}
uint64_t read(uint32_t msr) {
    uint64_t v = 0;
    if (rdmsr_gp(msr, v)) c.fail("rdmsr took #GP");
    return v;
}

void tsc_adjust_cases() {
    c.expect("CPUID.7.0:EBX[1] (TSC_ADJUST)", (cpuid(7, 0).ebx >> 1) & 1, 1);
    uint64_t v = 1;
    c.expect("rdmsr TSC_ADJUST: no #GP", rdmsr_gp(TSC_ADJUST, v), 0);
    c.expect("TSC_ADJUST starts at 0", static_cast<long>(v), 0);
    uint64_t t0 = rdtsc();
    c.expect("wrmsr TSC_ADJUST 2^40: no #GP", wrmsr_gp(TSC_ADJUST, BIG), 0);
    uint64_t t1 = rdtsc();
    c.expect("TSC moved forward by 2^40", t1 - t0 >= BIG && t1 - t0 < 2 * BIG, 1);
    c.expect("TSC_ADJUST reads back 2^40", read(TSC_ADJUST) == BIG, 1);
    c.expect("rdmsr IA32_TSC agrees with RDTSC", read(TSC) >= t1, 1);
    c.expect("wrmsr TSC_ADJUST 0: no #GP", wrmsr_gp(TSC_ADJUST, 0), 0);
    uint64_t t2 = rdtsc();
    c.expect("TSC moved back by 2^40", t1 - t2 > BIG / 2 && t1 - t2 <= BIG, 1);
    // Writing IA32_TSC moves TSC_ADJUST by as much as the TSC moved.
    uint64_t target = rdtsc() + BIG;
    c.expect("wrmsr IA32_TSC: no #GP", wrmsr_gp(TSC, target), 0);
    uint64_t adj = read(TSC_ADJUST);
    c.expect("TSC_ADJUST follows a TSC write", adj <= BIG && adj > BIG - (1ull << 36), 1);
    c.expect("TSC is where it was written", rdtsc() >= target, 1);
    (void)wrmsr_gp(TSC_ADJUST, 0);
}

uint64_t xgetbv0() {
    uint32_t lo, hi;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}
void xsetbv0(uint64_t v) {
    asm volatile("xsetbv" : : "c"(0), "a"(static_cast<uint32_t>(v)), "d"(static_cast<uint32_t>(v >> 32)));
}

// The compacted XSAVE size for `mask`, from the CPUID sub-leaves we see.
uint32_t compacted_size(uint64_t mask) {
    uint32_t size = 576;
    for (unsigned i = 2; i < 63; ++i) {
        if (!((mask >> i) & 1)) continue;
        CpuidRegs r = cpuid(0xd, i);
        if (r.ecx & 2) size = (size + 63) & ~63u;
        size += r.eax;
    }
    return size;
}

void xss_cases() {
    if (!((cpuid(1).ecx >> 26) & 1)) {
        print("msrs: no XSAVE: XSS cases skipped\n");
        return;
    }
    CpuidRegs d1 = cpuid(0xd, 1);
    bool xsaves = (d1.eax >> 3) & 1, xsavec = (d1.eax >> 1) & 1;
    print("msrs: XSAVES %s, XSAVEC %s\n", xsaves ? "offered" : "not offered", xsavec ? "offered" : "not offered");
    uint64_t v = 1;
    if (xsaves) {
        c.expect("rdmsr XSS: no #GP", rdmsr_gp(XSS, v), 0);
        c.expect("XSS reads 0", static_cast<long>(v), 0);
        c.expect("wrmsr XSS 0: no #GP", wrmsr_gp(XSS, 0), 0);
        c.expect("wrmsr XSS with a supervisor bit: #GP", wrmsr_gp(XSS, 1u << 8), 1);
    } else {
        c.expect("rdmsr XSS without XSAVES: #GP", rdmsr_gp(XSS, v), 1);
        c.expect("wrmsr XSS without XSAVES: #GP", wrmsr_gp(XSS, 0), 1);
    }
    c.expect("CPUID.(0Dh,1):ECX, no XSS components", d1.ecx, 0);
    c.expect("CPUID.(0Dh,1):EDX, no XSS components", d1.edx, 0);
    // Sub-leaf 1 EBX: the size for XCR0 | XSS, which follows XCR0.
    asm volatile("mov %%cr4, %%rax; or $(1 << 18), %%rax; mov %%rax, %%cr4" : : : "rax", "memory");
    uint64_t supported = (static_cast<uint64_t>(cpuid(0xd, 0).edx) << 32) | cpuid(0xd, 0).eax;
    const uint64_t masks[] = {0x3, 0x7};
    for (uint64_t xcr0 : masks) {
        if ((xcr0 & supported) != xcr0) continue;
        xsetbv0(xcr0);
        c.expect("XCR0 set", static_cast<long>(xgetbv0()), static_cast<long>(xcr0));
        uint32_t ebx = cpuid(0xd, 1).ebx;
        c.expect(xcr0 == 3 ? "CPUID.(0Dh,1):EBX for XCR0=3" : "CPUID.(0Dh,1):EBX for XCR0=7", ebx,
                 (xsaves || xsavec) ? compacted_size(xcr0) : 0);
    }
    xsetbv0(1);
}


void cpuid_faulting_cases() {
    uint64_t v = 0;
    c.expect("rdmsr PLATFORM_INFO: no #GP", rdmsr_gp(PLATFORM_INFO, v), 0);
    c.expect("PLATFORM_INFO bit 31 (CPUID faulting)", (v >> 31) & 1, 1);
    c.expect("wrmsr PLATFORM_INFO: #GP", wrmsr_gp(PLATFORM_INFO, v), 1);
    c.expect("rdmsr MISC_FEATURES_ENABLES: no #GP", rdmsr_gp(MISC_FEATURES, v), 0);
    c.expect("MISC_FEATURES_ENABLES starts at 0", static_cast<long>(v), 0);
    c.expect("wrmsr MISC_FEATURES_ENABLES bit 1: #GP", wrmsr_gp(MISC_FEATURES, 2), 1);

    const void* code[] = {reinterpret_cast<const void*>(user_cpuid)};
    void* top = prepare_user_mode(code, 1);

    uint32_t before = gp_count;
    c.expect("CPUID at CPL 3, faulting off: runs", enter_user(user_cpuid, top) != 0, 1);
    c.expect("CPUID at CPL 3, faulting off: no #GP", gp_count - before, 0);
    c.expect("wrmsr MISC_FEATURES_ENABLES 1: no #GP", wrmsr_gp(MISC_FEATURES, 1), 0);
    c.expect("MISC_FEATURES_ENABLES reads back 1", static_cast<long>(read(MISC_FEATURES)), 1);
    before = gp_count;
    c.expect("CPUID at CPL 0, faulting on: runs", cpuid(0).eax != 0, 1);
    c.expect("CPUID at CPL 0, faulting on: no #GP", gp_count - before, 0);
    c.expect("CPUID at CPL 3, faulting on: did not run", enter_user(user_cpuid, top) != 0, 0);
    c.expect("CPUID at CPL 3, faulting on: #GP", gp_count - before, 1);
    c.expect("wrmsr MISC_FEATURES_ENABLES 0: no #GP", wrmsr_gp(MISC_FEATURES, 0), 0);
    before = gp_count;
    c.expect("CPUID at CPL 3, faulting off again: runs", enter_user(user_cpuid, top) != 0, 1);
    c.expect("CPUID at CPL 3, faulting off again: no #GP", gp_count - before, 0);
}

void unknown_cases() {
    uint64_t v = 0;
    c.expect("rdmsr 0x12345678: #GP", rdmsr_gp(0x12345678, v), 1);
    c.expect("wrmsr 0x12345678: #GP", wrmsr_gp(0x12345678, 0), 1);
    c.expect("rdmsr 0x12345678 again: #GP", rdmsr_gp(0x12345678, v), 1);
    // More distinct unknown MSRs than the hypervisor's per-domain log holds.
    unsigned gps = 0;
    for (uint32_t m = 0x5000; m < 0x5000 + 40; ++m) gps += rdmsr_gp(m, v);
    c.expect("40 more unknown MSRs: #GP each", gps, 40);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    idt_set_gate(13, gp_catcher, 0);
    tsc_adjust_cases();
    xss_cases();
    cpuid_faulting_cases();
    unknown_cases();
    print("msrs: %u passed, %u failed\n", c.passed, c.failed);
    poweroff();
}
