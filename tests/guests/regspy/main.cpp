// regspy: no register state crosses domains. Two copies share one CPU,
// `role=writer` and `role=reader`, and switch with SCHEDOP_yield. The
// hypervisor never exits on these registers, so only its vCPU switch keeps
// them apart: XMM0-15, MXCSR, the x87 control word, CR2, DR0-DR3, DR6, DR7
// and IA32_DEBUGCTL. Both roles keep XCR0 at 1 (x87 only: SSE works with
// CR4.OSFXSR alone, XCR0 only says what XSAVE manages), the case where a
// hypervisor that saves by the guest's XCR0 misses SSE.
//
// Command line: `role=writer|reader`, `rounds=N` (yields while checking,
// default 30), `wait=N` (yields before the first look, default 4).
//
//  1. DEBUGCTL (MSR 0x1d9), as Xen answers an HVM guest without vPMU: reads
//     0, accepts 0, accepts BTF (kept) and LBR (dropped: no LBR support),
//     refuses every other bit with #GP.
//  2. `wait` yields (the reader: so that the writer's values are loaded on
//     the CPU before it looks), then the fresh state must be the initial one:
//     XMM 0, MXCSR 0x1f80, FCW 0x37f, CR2 0, DR0-3 0, DR6 0xffff0ff0, DR7 0x400,
//     DEBUGCTL 0.
//  3. Own markers into every register (the writer's DEBUGCTL gets BTF), then
//     `rounds` times: yield, read everything back. Each register must hold
//     its marker after every yield, and the reader must never see one of the
//     writer's markers.
// One line per check (lib/check.hpp); `regspy ROLE: markers set` after step 3
// starts, `regspy: N passed, M failed` at the end; then power off.
#include "../lib/check.hpp"
#include "../lib/hypercall.hpp"
#include "../lib/print.hpp"
#include "../lib/runtime.hpp"
#include "../lib/x86.hpp"

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
    unsigned wrong[25] = {};
    unsigned foreign[25] = {};
};
constexpr const char* reg_names[25] = {
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
    "xmm12", "xmm13", "xmm14", "xmm15", "mxcsr", "fcw", "cr2", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7"};

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

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    char role_text[16] = "";
    uint64_t rounds = 30, wait = 4;
    cmdline_option(cmdline(), "role", role_text, sizeof role_text);
    cmdline_number(cmdline(), "rounds", &rounds);
    cmdline_number(cmdline(), "wait", &wait);
    const bool writer = str_eq(role_text, "writer");
    if (!writer && !str_eq(role_text, "reader")) {
        print("regspy: FAIL role=writer or role=reader, not '%s'\n", role_text);
        return;
    }
    const char* role = writer ? "writer" : "reader";
    const State mine = markers(writer ? 'w' : 'r');
    const State theirs = markers(writer ? 'r' : 'w');

    // SSE needs CR4.OSFXSR (and OSXMMEXCPT for its exceptions); the runtime
    // leaves them clear. CR4.OSXSAVE stays clear: XCR0 keeps its reset value 1.
    asm volatile("mov %0, %%cr4" : : "r"(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT));
    idt_set_gate(13, regspy_gp_entry, 0);

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
    for (unsigned r = 0; r < 25; ++r) {
        format(what, sizeof what, "%s: yields after which it was not ours", reg_names[r]);
        c.expect(what, t.wrong[r], 0);
        format(what, sizeof what, "%s: yields after which it held the %s's", reg_names[r],
               writer ? "reader" : "writer");
        c.expect(what, t.foreign[r], 0);
    }
    const State last = read();
    c.expect("debugctl after the yields", static_cast<long>(last.debugctl), static_cast<long>(mine.debugctl));
    // Leave nothing armed behind (DR7 enables nothing, but be tidy).
    wrmsr(MSR_DEBUGCTL, 0);
    print("regspy %s: done\n", role);
    print("regspy: %u passed, %u failed\n", c.passed, c.failed);
}
