// regspy: no register state crosses domains. Copies share one CPU as
// `role=writer`, `role=reader` and `role=avx`, and switch with SCHEDOP_yield.
// The hypervisor never exits on these registers, so only its vCPU switch
// keeps them apart: XMM0-15, MXCSR, the x87 control word, tags and top of
// stack, CR2, DR0-DR3, DR6, DR7, IA32_DEBUGCTL, and the YMM/ZMM/opmask
// state. The writer and reader keep XCR0 at 1 (x87 only: SSE works with
// CR4.OSFXSR alone, XCR0 only says what XSAVE manages), the case where a
// hypervisor that saves by the guest's XCR0 misses SSE.
//
// Command line: `role=writer|reader|avx`, `rounds=N` (yields while checking,
// default 30), `wait=N` (yields before the first look, default 4).
//
// writer and reader:
//  1. DEBUGCTL (MSR 0x1d9), as Xen answers an HVM guest without vPMU: reads
//     0, accepts 0, accepts BTF (kept) and LBR (dropped: no LBR support),
//     refuses other bits with #GP.
//  2. `wait` yields (the reader: so that the writer's values are loaded on
//     the CPU before it looks), then the fresh state must be the initial one:
//     XMM 0, MXCSR 0x1f80, FCW 0x37f, x87 stack empty, CR2 0, DR0-3 0, DR6 0xffff0ff0, DR7 0x400,
//     DEBUGCTL 0.
//  3. Own markers into every register (the writer's DEBUGCTL gets BTF), then
//     `rounds` times: yield, read everything back. Each register must hold
//     its marker after every yield, and never the other role's marker.
//  4. The reader only: CR4.OSXSAVE and XCR0 = x87|SSE|AVX (|AVX-512), then
//     the wide registers must be its own (its XMM markers below, 0 above),
//     never the avx domain's, right after XSETBV and after 8 more yields.
// avx: XCR0 = x87|SSE|AVX (|AVX-512 when the CPU has it), `wait` yields, the
//  fresh YMM0-15 (ZMM0-31, k0-7) must be 0; then its markers must survive
//  `rounds` yields.
// One line per check (lib/check.hpp); `regspy ROLE: markers set` when step 3
// starts, `regspy ROLE: done`, `regspy: N passed, M failed`; then power off.
#include "../lib/check.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"

using namespace guest;

extern "C" const char guest_name[] = "regspy";

// #GP from a probed RDMSR/WRMSR (both 2 bytes long): note it and go on after
// the instruction. The runtime's handler would crash the domain.
extern "C" volatile uint32_t regspy_gp_count;
volatile uint32_t regspy_gp_count = 0;
extern "C" void regspy_gp_entry();
asm(R"(
    .text
    .globl regspy_gp_entry
regspy_gp_entry:
    addq $8, %rsp
    addq $2, (%rsp)
    lock incl regspy_gp_count(%rip)
    iretq
)");

namespace {

Checks c;

constexpr uint32_t MSR_DEBUGCTL = 0x1d9;
constexpr uint64_t DEBUGCTL_LBR = 1u << 0, DEBUGCTL_BTF = 1u << 1;
constexpr uint64_t CR4_OSFXSR = 1u << 9, CR4_OSXMMEXCPT = 1u << 10;

struct alignas(16) Xmm {
    uint64_t lo, hi;
};

// Everything checked, as one value per register.
struct State {
    Xmm xmm[16];
    uint32_t mxcsr;
    uint16_t fcw;
    uint16_t ftw;        // the x87 tag word (fnstenv): 0xffff with the stack empty
    uint64_t st0;        // the x87 top of stack as a double, when it is not empty
    uint64_t cr2, dr[4], dr6, dr7, debugctl;
};

// Markers: a role's own pattern in each register. DR7 enables no breakpoint
// (L0-3/G0-3 clear), only the R/W and LEN fields carry the pattern; DR6 sets
// only the B0-B3 bits, the rest reads as the CPU fixes it.
State markers(char role) {
    State s{};
    const uint64_t r = static_cast<uint8_t>(role);
    for (unsigned i = 0; i < 16; ++i) {
        s.xmm[i].lo = (r * 0x0101010101010101ull) ^ (i + 1);
        s.xmm[i].hi = (r * 0x0001000100010001ull) ^ (static_cast<uint64_t>(i + 1) << 40);
    }
    const bool w = role == 'w';
    s.mxcsr = w ? 0x3f80 : 0x5f80;        // RC round-down / round-up, all masked
    s.fcw = w ? 0x0f7f : 0x027f;          // RC truncate / PC 53 bits, all masked
    s.ftw = 0x3fff;                       // one value pushed: physical register 7 valid
    s.st0 = w ? 0x400921fb54442d18ull : 0x4005bf0a8b145769ull;   // pi / e
    s.cr2 = r * 0x0001010101010101ull;
    for (unsigned i = 0; i < 4; ++i) s.dr[i] = (r << 36) + 0x1000 * (i + 1);
    s.dr6 = w ? 0xffff0ff5 : 0xffff0ffa;
    s.dr7 = w ? 0xdddd0400 : 0x11110400;
    s.debugctl = w ? DEBUGCTL_BTF : 0;
    return s;
}

State initial() {
    State s{};
    s.mxcsr = 0x1f80;
    s.fcw = 0x37f;
    s.ftw = 0xffff;
    s.dr6 = 0xffff0ff0;
    s.dr7 = 0x400;
    return s;
}

#define XMM_ALL(op) \
    op " 0x00(%0), %%xmm0\n" op " 0x10(%0), %%xmm1\n" op " 0x20(%0), %%xmm2\n" op " 0x30(%0), %%xmm3\n" \
    op " 0x40(%0), %%xmm4\n" op " 0x50(%0), %%xmm5\n" op " 0x60(%0), %%xmm6\n" op " 0x70(%0), %%xmm7\n" \
    op " 0x80(%0), %%xmm8\n" op " 0x90(%0), %%xmm9\n" op " 0xa0(%0), %%xmm10\n" op " 0xb0(%0), %%xmm11\n" \
    op " 0xc0(%0), %%xmm12\n" op " 0xd0(%0), %%xmm13\n" op " 0xe0(%0), %%xmm14\n" op " 0xf0(%0), %%xmm15\n"

#define XMM_STORE_ALL \
    "movdqu %%xmm0, 0x00(%0)\n movdqu %%xmm1, 0x10(%0)\n movdqu %%xmm2, 0x20(%0)\n movdqu %%xmm3, 0x30(%0)\n" \
    "movdqu %%xmm4, 0x40(%0)\n movdqu %%xmm5, 0x50(%0)\n movdqu %%xmm6, 0x60(%0)\n movdqu %%xmm7, 0x70(%0)\n" \
    "movdqu %%xmm8, 0x80(%0)\n movdqu %%xmm9, 0x90(%0)\n movdqu %%xmm10, 0xa0(%0)\n movdqu %%xmm11, 0xb0(%0)\n" \
    "movdqu %%xmm12, 0xc0(%0)\n movdqu %%xmm13, 0xd0(%0)\n movdqu %%xmm14, 0xe0(%0)\n movdqu %%xmm15, 0xf0(%0)\n"

// The compiler never uses these registers here (-mgeneral-regs-only), so
// nothing between load() and read() touches them but the hypervisor.
void load(const State& s) {
    asm volatile(XMM_ALL("movdqu") : : "r"(s.xmm) : "memory");
    asm volatile("ldmxcsr %0" : : "m"(s.mxcsr));
    asm volatile("fldcw %0" : : "m"(s.fcw));
    asm volatile("fldl %0" : : "m"(s.st0));
    asm volatile("mov %0, %%cr2" : : "r"(s.cr2));
    asm volatile("mov %0, %%dr0" : : "r"(s.dr[0]));
    asm volatile("mov %0, %%dr1" : : "r"(s.dr[1]));
    asm volatile("mov %0, %%dr2" : : "r"(s.dr[2]));
    asm volatile("mov %0, %%dr3" : : "r"(s.dr[3]));
    asm volatile("mov %0, %%dr6" : : "r"(s.dr6));
    asm volatile("mov %0, %%dr7" : : "r"(s.dr7));
    wrmsr(MSR_DEBUGCTL, s.debugctl);
}

State read() {
    State s{};
    asm volatile(XMM_STORE_ALL : : "r"(s.xmm) : "memory");
    asm volatile("stmxcsr %0" : "=m"(s.mxcsr));
    asm volatile("fnstcw %0" : "=m"(s.fcw));
    // FNSTENV also masks every x87 exception: all markers have them masked already.
    uint16_t env[14];
    asm volatile("fnstenv %0" : "=m"(env));
    s.ftw = env[4];
    const unsigned top = (env[2] >> 11) & 7;
    if (((s.ftw >> (2 * top)) & 3) != 3) asm volatile("fstl %0" : "=m"(s.st0));
    asm volatile("mov %%cr2, %0" : "=r"(s.cr2));
    asm volatile("mov %%dr0, %0" : "=r"(s.dr[0]));
    asm volatile("mov %%dr1, %0" : "=r"(s.dr[1]));
    asm volatile("mov %%dr2, %0" : "=r"(s.dr[2]));
    asm volatile("mov %%dr3, %0" : "=r"(s.dr[3]));
    asm volatile("mov %%dr6, %0" : "=r"(s.dr6));
    asm volatile("mov %%dr7, %0" : "=r"(s.dr7));
    s.debugctl = rdmsr(MSR_DEBUGCTL);
    return s;
}

// Per register: how many of `count` reads differed from `want`, and how many
// equalled `foreign` (another domain's marker).
struct Tally {
    unsigned wrong[27] = {};
    unsigned foreign[27] = {};
};
constexpr unsigned TAGS = 25;   // index of the x87 tag word below
constexpr const char* reg_names[27] = {
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
    "xmm12", "xmm13", "xmm14", "xmm15", "mxcsr", "fcw", "cr2", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7",
    "x87 tags", "st0"};

bool same_xmm(const Xmm& a, const Xmm& b) { return a.lo == b.lo && a.hi == b.hi; }

void compare(const State& got, const State& want, const State& other, Tally& t) {
    auto note = [&](unsigned i, bool is_want, bool is_other) {
        if (!is_want) ++t.wrong[i];
        if (is_other) ++t.foreign[i];
    };
    for (unsigned i = 0; i < 16; ++i)
        note(i, same_xmm(got.xmm[i], want.xmm[i]), same_xmm(got.xmm[i], other.xmm[i]));
    note(16, got.mxcsr == want.mxcsr, got.mxcsr == other.mxcsr);
    note(17, got.fcw == want.fcw, got.fcw == other.fcw);
    note(18, got.cr2 == want.cr2, got.cr2 == other.cr2);
    for (unsigned i = 0; i < 4; ++i) note(19 + i, got.dr[i] == want.dr[i], got.dr[i] == other.dr[i]);
    note(23, got.dr6 == want.dr6, got.dr6 == other.dr6);
    note(24, got.dr7 == want.dr7, got.dr7 == other.dr7);
    note(TAGS, got.ftw == want.ftw, false);
    note(26, got.st0 == want.st0, got.st0 == other.st0);
}

// The wide vector state that only XSAVE manages (XCR0 bits 2 and 5-7): the
// upper halves of YMM0-15 (AVX) and, with AVX-512, ZMM0-31 and k0-7. `v[i]`
// is register i, 512 bits; without AVX-512 only v[0..15][0..3] (YMM) count.
struct alignas(64) Wide {
    uint64_t v[32][8];
    uint16_t k[8];
};
static_assert(sizeof(Wide::v) == 2048, "the asm below addresses k at 2048");

constexpr uint64_t XCR0_X87 = 1, XCR0_SSE = 2, XCR0_AVX = 4, XCR0_AVX512 = 0xe0;
constexpr uint64_t CR4_OSXSAVE = 1u << 18;

// x87|SSE|AVX, plus the three AVX-512 components when the CPU has AVX-512F
// and all three; 0 without XSAVE or AVX.
uint64_t wide_xcr0() {
    const auto l1 = cpuid(1);
    if (!((l1.ecx >> 26) & 1) || !((l1.ecx >> 28) & 1)) return 0;
    const auto d = cpuid(0xd, 0);
    const uint64_t supported = (static_cast<uint64_t>(d.edx) << 32) | d.eax;
    uint64_t x = XCR0_X87 | XCR0_SSE | XCR0_AVX;
    if ((supported & x) != x) return 0;
    if (((cpuid(7, 0).ebx >> 16) & 1) && (supported & XCR0_AVX512) == XCR0_AVX512) x |= XCR0_AVX512;
    return x;
}

void set_xcr0(uint64_t x) {
    asm volatile("mov %0, %%cr4" : : "r"(read_cr4() | CR4_OSXSAVE));
    asm volatile("xsetbv" : : "c"(0), "a"(static_cast<uint32_t>(x)), "d"(static_cast<uint32_t>(x >> 32)));
}

void wide_load(const Wide& w, bool avx512) {
    if (!avx512) {
        asm volatile(
            "vmovdqu 0x0(%0), %%ymm0\n"
            "vmovdqu 0x40(%0), %%ymm1\n"
            "vmovdqu 0x80(%0), %%ymm2\n"
            "vmovdqu 0xc0(%0), %%ymm3\n"
            "vmovdqu 0x100(%0), %%ymm4\n"
            "vmovdqu 0x140(%0), %%ymm5\n"
            "vmovdqu 0x180(%0), %%ymm6\n"
            "vmovdqu 0x1c0(%0), %%ymm7\n"
            "vmovdqu 0x200(%0), %%ymm8\n"
            "vmovdqu 0x240(%0), %%ymm9\n"
            "vmovdqu 0x280(%0), %%ymm10\n"
            "vmovdqu 0x2c0(%0), %%ymm11\n"
            "vmovdqu 0x300(%0), %%ymm12\n"
            "vmovdqu 0x340(%0), %%ymm13\n"
            "vmovdqu 0x380(%0), %%ymm14\n"
            "vmovdqu 0x3c0(%0), %%ymm15\n"
            : : "r"(w.v) : "memory");
        return;
    }
    asm volatile(
        "vmovdqu64 0x0(%0), %%zmm0\n"
        "vmovdqu64 0x40(%0), %%zmm1\n"
        "vmovdqu64 0x80(%0), %%zmm2\n"
        "vmovdqu64 0xc0(%0), %%zmm3\n"
        "vmovdqu64 0x100(%0), %%zmm4\n"
        "vmovdqu64 0x140(%0), %%zmm5\n"
        "vmovdqu64 0x180(%0), %%zmm6\n"
        "vmovdqu64 0x1c0(%0), %%zmm7\n"
        "vmovdqu64 0x200(%0), %%zmm8\n"
        "vmovdqu64 0x240(%0), %%zmm9\n"
        "vmovdqu64 0x280(%0), %%zmm10\n"
        "vmovdqu64 0x2c0(%0), %%zmm11\n"
        "vmovdqu64 0x300(%0), %%zmm12\n"
        "vmovdqu64 0x340(%0), %%zmm13\n"
        "vmovdqu64 0x380(%0), %%zmm14\n"
        "vmovdqu64 0x3c0(%0), %%zmm15\n"
        "vmovdqu64 0x400(%0), %%zmm16\n"
        "vmovdqu64 0x440(%0), %%zmm17\n"
        "vmovdqu64 0x480(%0), %%zmm18\n"
        "vmovdqu64 0x4c0(%0), %%zmm19\n"
        "vmovdqu64 0x500(%0), %%zmm20\n"
        "vmovdqu64 0x540(%0), %%zmm21\n"
        "vmovdqu64 0x580(%0), %%zmm22\n"
        "vmovdqu64 0x5c0(%0), %%zmm23\n"
        "vmovdqu64 0x600(%0), %%zmm24\n"
        "vmovdqu64 0x640(%0), %%zmm25\n"
        "vmovdqu64 0x680(%0), %%zmm26\n"
        "vmovdqu64 0x6c0(%0), %%zmm27\n"
        "vmovdqu64 0x700(%0), %%zmm28\n"
        "vmovdqu64 0x740(%0), %%zmm29\n"
        "vmovdqu64 0x780(%0), %%zmm30\n"
        "vmovdqu64 0x7c0(%0), %%zmm31\n"
        "kmovw 0x800(%0), %%k0\n"
        "kmovw 0x802(%0), %%k1\n"
        "kmovw 0x804(%0), %%k2\n"
        "kmovw 0x806(%0), %%k3\n"
        "kmovw 0x808(%0), %%k4\n"
        "kmovw 0x80a(%0), %%k5\n"
        "kmovw 0x80c(%0), %%k6\n"
        "kmovw 0x80e(%0), %%k7\n"
        : : "r"(&w) : "memory");
}

void wide_read(Wide& w, bool avx512) {
    __builtin_memset(&w, 0, sizeof w);
    if (!avx512) {
        asm volatile(
            "vmovdqu %%ymm0, 0x0(%0)\n"
            "vmovdqu %%ymm1, 0x40(%0)\n"
            "vmovdqu %%ymm2, 0x80(%0)\n"
            "vmovdqu %%ymm3, 0xc0(%0)\n"
            "vmovdqu %%ymm4, 0x100(%0)\n"
            "vmovdqu %%ymm5, 0x140(%0)\n"
            "vmovdqu %%ymm6, 0x180(%0)\n"
            "vmovdqu %%ymm7, 0x1c0(%0)\n"
            "vmovdqu %%ymm8, 0x200(%0)\n"
            "vmovdqu %%ymm9, 0x240(%0)\n"
            "vmovdqu %%ymm10, 0x280(%0)\n"
            "vmovdqu %%ymm11, 0x2c0(%0)\n"
            "vmovdqu %%ymm12, 0x300(%0)\n"
            "vmovdqu %%ymm13, 0x340(%0)\n"
            "vmovdqu %%ymm14, 0x380(%0)\n"
            "vmovdqu %%ymm15, 0x3c0(%0)\n"
            : : "r"(w.v) : "memory");
        return;
    }
    asm volatile(
        "vmovdqu64 %%zmm0, 0x0(%0)\n"
        "vmovdqu64 %%zmm1, 0x40(%0)\n"
        "vmovdqu64 %%zmm2, 0x80(%0)\n"
        "vmovdqu64 %%zmm3, 0xc0(%0)\n"
        "vmovdqu64 %%zmm4, 0x100(%0)\n"
        "vmovdqu64 %%zmm5, 0x140(%0)\n"
        "vmovdqu64 %%zmm6, 0x180(%0)\n"
        "vmovdqu64 %%zmm7, 0x1c0(%0)\n"
        "vmovdqu64 %%zmm8, 0x200(%0)\n"
        "vmovdqu64 %%zmm9, 0x240(%0)\n"
        "vmovdqu64 %%zmm10, 0x280(%0)\n"
        "vmovdqu64 %%zmm11, 0x2c0(%0)\n"
        "vmovdqu64 %%zmm12, 0x300(%0)\n"
        "vmovdqu64 %%zmm13, 0x340(%0)\n"
        "vmovdqu64 %%zmm14, 0x380(%0)\n"
        "vmovdqu64 %%zmm15, 0x3c0(%0)\n"
        "vmovdqu64 %%zmm16, 0x400(%0)\n"
        "vmovdqu64 %%zmm17, 0x440(%0)\n"
        "vmovdqu64 %%zmm18, 0x480(%0)\n"
        "vmovdqu64 %%zmm19, 0x4c0(%0)\n"
        "vmovdqu64 %%zmm20, 0x500(%0)\n"
        "vmovdqu64 %%zmm21, 0x540(%0)\n"
        "vmovdqu64 %%zmm22, 0x580(%0)\n"
        "vmovdqu64 %%zmm23, 0x5c0(%0)\n"
        "vmovdqu64 %%zmm24, 0x600(%0)\n"
        "vmovdqu64 %%zmm25, 0x640(%0)\n"
        "vmovdqu64 %%zmm26, 0x680(%0)\n"
        "vmovdqu64 %%zmm27, 0x6c0(%0)\n"
        "vmovdqu64 %%zmm28, 0x700(%0)\n"
        "vmovdqu64 %%zmm29, 0x740(%0)\n"
        "vmovdqu64 %%zmm30, 0x780(%0)\n"
        "vmovdqu64 %%zmm31, 0x7c0(%0)\n"
        "kmovw %%k0, 0x800(%0)\n"
        "kmovw %%k1, 0x802(%0)\n"
        "kmovw %%k2, 0x804(%0)\n"
        "kmovw %%k3, 0x806(%0)\n"
        "kmovw %%k4, 0x808(%0)\n"
        "kmovw %%k5, 0x80a(%0)\n"
        "kmovw %%k6, 0x80c(%0)\n"
        "kmovw %%k7, 0x80e(%0)\n"
        : : "r"(&w) : "memory");
}

Wide wide_markers(char role) {
    Wide w{};
    const uint64_t r = static_cast<uint8_t>(role);
    for (unsigned i = 0; i < 32; ++i)
        for (unsigned j = 0; j < 8; ++j) w.v[i][j] = (r * 0x0101010101010101ull) ^ (i << 8) ^ (j + 1);
    for (unsigned i = 0; i < 8; ++i) w.k[i] = static_cast<uint16_t>(r * 0x101 ^ (i + 1));
    return w;
}

// Registers (of the 16 YMM or 32 ZMM and 8 k) where got differs from want,
// and where it equals other.
struct WideDiff {
    unsigned wrong = 0, foreign = 0;
};
WideDiff wide_compare(const Wide& got, const Wide& want, const Wide& other, bool avx512) {
    WideDiff d;
    const unsigned regs = avx512 ? 32 : 16, qwords = avx512 ? 8 : 4;
    for (unsigned i = 0; i < regs; ++i) {
        bool same = true, theirs = true;
        for (unsigned j = 0; j < qwords; ++j) {
            same = same && got.v[i][j] == want.v[i][j];
            theirs = theirs && got.v[i][j] == other.v[i][j];
        }
        d.wrong += !same;
        d.foreign += theirs;
    }
    if (avx512)
        for (unsigned i = 0; i < 8; ++i) {
            d.wrong += got.k[i] != want.k[i];
            d.foreign += got.k[i] == other.k[i];
        }
    return d;
}

void yield() { (void)sched_op(xen::SCHEDOP_yield, nullptr); }

bool wrmsr_faults(uint32_t msr, uint64_t value) {
    const uint32_t before = regspy_gp_count;
    wrmsr(msr, value);
    return regspy_gp_count != before;
}

long rdmsr_or_gp(uint32_t msr) {
    const uint32_t before = regspy_gp_count;
    const uint64_t v = rdmsr(msr);
    return regspy_gp_count != before ? -1 : static_cast<long>(v);
}

void debugctl_policy() {
    c.expect("rdmsr DEBUGCTL (-1: #GP)", rdmsr_or_gp(MSR_DEBUGCTL), 0);
    c.expect("wrmsr DEBUGCTL 0 faults", wrmsr_faults(MSR_DEBUGCTL, 0), 0);
    c.expect("wrmsr DEBUGCTL BTF faults", wrmsr_faults(MSR_DEBUGCTL, DEBUGCTL_BTF), 0);
    c.expect("  ... reads back", rdmsr_or_gp(MSR_DEBUGCTL), static_cast<long>(DEBUGCTL_BTF));
    c.expect("wrmsr DEBUGCTL LBR faults", wrmsr_faults(MSR_DEBUGCTL, DEBUGCTL_LBR), 0);
    c.expect("  ... reads back (no LBR: dropped)", rdmsr_or_gp(MSR_DEBUGCTL), 0);
    c.expect("wrmsr DEBUGCTL TR (bit 6) faults", wrmsr_faults(MSR_DEBUGCTL, 1u << 6), 1);
    c.expect("wrmsr DEBUGCTL BTS (bit 7) faults", wrmsr_faults(MSR_DEBUGCTL, 1u << 7), 1);
    c.expect("wrmsr DEBUGCTL FREEZE_LBRS_ON_PMI (bit 11) faults", wrmsr_faults(MSR_DEBUGCTL, 1u << 11), 1);
    c.expect("wrmsr DEBUGCTL bit 32 faults", wrmsr_faults(MSR_DEBUGCTL, 1ull << 32), 1);
    c.expect("  ... still 0", rdmsr_or_gp(MSR_DEBUGCTL), 0);
}

void expect_state(const char* when, const State& got, const State& want) {
    char what[64];
    Tally t;
    compare(got, want, want, t);
    unsigned xmm_wrong = 0;
    for (unsigned i = 0; i < 16; ++i) xmm_wrong += t.wrong[i];
    format(what, sizeof what, "%s: xmm registers not as expected", when);
    c.expect(what, xmm_wrong, 0);
    format(what, sizeof what, "%s: mxcsr", when);
    c.expect(what, got.mxcsr, want.mxcsr);
    format(what, sizeof what, "%s: fcw", when);
    c.expect(what, got.fcw, want.fcw);
    format(what, sizeof what, "%s: x87 tags", when);
    c.expect(what, got.ftw, want.ftw);
    format(what, sizeof what, "%s: cr2", when);
    c.expect(what, static_cast<long>(got.cr2), static_cast<long>(want.cr2));
    for (unsigned i = 0; i < 4; ++i) {
        format(what, sizeof what, "%s: dr%u", when, i);
        c.expect(what, static_cast<long>(got.dr[i]), static_cast<long>(want.dr[i]));
    }
    format(what, sizeof what, "%s: dr6", when);
    c.expect(what, static_cast<long>(got.dr6), static_cast<long>(want.dr6));
    format(what, sizeof what, "%s: dr7", when);
    c.expect(what, static_cast<long>(got.dr7), static_cast<long>(want.dr7));
    format(what, sizeof what, "%s: debugctl", when);
    c.expect(what, static_cast<long>(got.debugctl), static_cast<long>(want.debugctl));
}

// role=avx: the wide state survives switches with XCR0 beyond 1.
void avx_role(uint64_t rounds, uint64_t wait) {
    const uint64_t xcr0 = wide_xcr0();
    if (!xcr0) {
        c.fail("the CPU has no XSAVE with AVX");
        return;
    }
    const bool avx512 = (xcr0 & XCR0_AVX512) != 0;
    set_xcr0(xcr0);
    print("regspy avx: XCR0 0x%lx (%s)\n", xcr0, avx512 ? "ZMM0-31 and k0-7" : "YMM0-15");
    for (uint64_t i = 0; i < wait; ++i) yield();
    Wide got;
    const Wide zero{}, mine = wide_markers('a');
    wide_read(got, avx512);
    c.expect("fresh wide registers not 0", wide_compare(got, zero, zero, avx512).wrong, 0);
    wide_load(mine, avx512);
    print("regspy avx: markers set\n");
    unsigned wrong = 0;
    for (uint64_t i = 0; i < rounds; ++i) {
        yield();
        wide_read(got, avx512);
        wrong += wide_compare(got, mine, zero, avx512).wrong;
    }
    c.expect("wide registers not ours after the yields", wrong, 0);
}

// The reader, once its XCR0=1 rounds are done, enables the wide state
// itself: what it finds must be its own (its XMM markers in the low 128 bits,
// zero above: a fresh vCPU's), never the avx domain's, also after yields.
void reader_widens(const State& mine, uint64_t rounds) {
    const uint64_t xcr0 = wide_xcr0();
    if (!xcr0) {
        c.fail("the CPU has no XSAVE with AVX");
        return;
    }
    const bool avx512 = (xcr0 & XCR0_AVX512) != 0;
    Wide want{};
    for (unsigned i = 0; i < 16; ++i) {
        want.v[i][0] = mine.xmm[i].lo;
        want.v[i][1] = mine.xmm[i].hi;
    }
    const Wide theirs = wide_markers('a');
    Wide got;
    set_xcr0(xcr0);
    wide_read(got, avx512);
    print("regspy reader: XCR0 0x%lx\n", xcr0);
    WideDiff d = wide_compare(got, want, theirs, avx512);
    c.expect("wide registers after XSETBV: not ours", d.wrong, 0);
    c.expect("wide registers after XSETBV: the avx domain's", d.foreign, 0);
    unsigned wrong = 0, foreign = 0;
    for (uint64_t i = 0; i < rounds; ++i) {
        yield();
        wide_read(got, avx512);
        d = wide_compare(got, want, theirs, avx512);
        wrong += d.wrong;
        foreign += d.foreign;
    }
    c.expect("wide registers after the yields: not ours", wrong, 0);
    c.expect("wide registers after the yields: the avx domain's", foreign, 0);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    char role_text[16] = "";
    uint64_t rounds = 30, wait = 4;
    cmdline_option(cmdline(), "role", role_text, sizeof role_text);
    cmdline_number(cmdline(), "rounds", &rounds);
    cmdline_number(cmdline(), "wait", &wait);
    const bool writer = str_eq(role_text, "writer");
    const bool avx = str_eq(role_text, "avx");
    if (!writer && !avx && !str_eq(role_text, "reader")) {
        print("regspy: FAIL role=writer, reader or avx, not '%s'\n", role_text);
        return;
    }

    // SSE needs CR4.OSFXSR (and OSXMMEXCPT for its exceptions); the runtime
    // leaves them clear. CR4.OSXSAVE stays clear here: XCR0 keeps its reset value 1.
    asm volatile("mov %0, %%cr4" : : "r"(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT));
    idt_set_gate(13, regspy_gp_entry, 0);

    if (avx) {
        avx_role(rounds, wait);
        print("regspy avx: done\n");
        print("regspy: %u passed, %u failed\n", c.passed, c.failed);
        return;
    }

    const char* role = writer ? "writer" : "reader";
    const State mine = markers(writer ? 'w' : 'r');
    const State theirs = markers(writer ? 'r' : 'w');

    debugctl_policy();

    for (uint64_t i = 0; i < wait; ++i) yield();
    expect_state("fresh state", read(), initial());

    load(mine);
    print("regspy %s: markers set\n", role);
    Tally t;
    for (uint64_t i = 0; i < rounds; ++i) {
        yield();
        compare(read(), mine, theirs, t);
    }
    char what[64];
    for (unsigned r = 0; r < 27; ++r) {
        format(what, sizeof what, "%s: yields after which it was not ours", reg_names[r]);
        c.expect(what, t.wrong[r], 0);
        if (r == TAGS) continue;   // both hold one value: the tags cannot tell whose
        format(what, sizeof what, "%s: yields after which it held the %s's", reg_names[r],
               writer ? "reader" : "writer");
        c.expect(what, t.foreign[r], 0);
    }
    const State last = read();
    c.expect("debugctl after the yields", static_cast<long>(last.debugctl), static_cast<long>(mine.debugctl));
    // Leave nothing armed behind (DR7 enables nothing, but be tidy).
    wrmsr(MSR_DEBUGCTL, 0);
    if (!writer) reader_widens(mine, 8);
    print("regspy %s: done\n", role);
    print("regspy: %u passed, %u failed\n", c.passed, c.failed);
}
