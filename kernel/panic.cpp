#include "kernel/panic.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/idt.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/percpu.hpp"
#include "kernel/console.hpp"
#include "kernel/debug_keys.hpp"
#include "kernel/lib/format.hpp"
#include "kernel/mm/memory.hpp"
#include <cstdarg>

extern "C" char __text_start[];

namespace menhir {
namespace {

volatile bool in_panic = false;

// Panic lines are printed at error level, so loglvl never hides them.
void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void say(const char* fmt, ...)
{
    char line[256];
    size_t n = format(line, sizeof line, "menhir: ");
    va_list ap;
    va_start(ap, fmt);
    vformat(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    console::write_line(LogLevel::error, line);
}

const char* const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD error", "#VE virtualization exception", "#CP control protection", "reserved", "reserved",
    "reserved", "reserved", "reserved", "reserved", "#HV hypervisor injection", "#VC VMM communication",
    "#SX security exception", "reserved"};

uint32_t cpu_index()
{
    // GS may not be set up yet if the fault comes very early.
    return cpu::rdmsr(cpu::msr::gs_base) ? this_cpu().index : 0;
}

// Only one CPU prints. The others are stopped with an NMI before it does,
// so no line of theirs lands in the middle of the dump; the console lock one
// of them may hold is then ignored.
void enter_panic()
{
    cpu::cli();
    if (__atomic_exchange_n(&in_panic, true, __ATOMIC_ACQ_REL)) cpu::halt_forever();
    if (lapic::ready()) {
        lapic::send_nmi_all_but_self();
        for (int i = 0; i < 1000000; ++i) cpu::pause();   // let them reach their NMI handler
    }
    console::emergency();
}

bool plausible_frame(uint64_t rbp)
{
    return rbp >= direct_map_base && (rbp & 7) == 0;
}

void backtrace(uint64_t rbp)
{
    say("backtrace:");
    // Walk the frame-pointer chain (the kernel is built with frame pointers).
    for (int depth = 0; depth < 32 && plausible_frame(rbp); ++depth) {
        const auto* frame = reinterpret_cast<const uint64_t*>(rbp);
        if (frame[1] == 0) break;
        say("  [<%016lx>]", frame[1]);
        if (frame[0] <= rbp) break;   // the chain must go up the stack
        rbp = frame[0];
    }
}

[[noreturn]] void stop_all()
{
    say("all CPUs stopped");
    cpu::halt_forever();
}

void crash_key(char)
{
    info("'C' pressed -> crashing the hypervisor (testing the panic path)");
    // A write to the kernel's read-only text: a real page fault through the
    // normal exception path, so the test exercises what a bug would.
    *reinterpret_cast<volatile uint32_t*>(__text_start + 0x10) = 0xdead;
}

struct KeyRegistrar {
    KeyRegistrar() { debug_keys::register_key('C', "crash the hypervisor (tests the panic path)", crash_key); }
} key_registrar;

} // namespace

bool panic_in_progress() { return in_panic; }

void panic(const char* fmt, ...)
{
    enter_panic();
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vformat(msg, sizeof msg, fmt, ap);
    va_end(ap);
    say("PANIC on CPU%u: %s", cpu_index(), msg);
    backtrace(cpu::read_rbp());
    stop_all();
}

void panic_exception(const InterruptFrame& f)
{
    enter_panic();
    const auto v = static_cast<uint32_t>(f.vector & 0xff);
    say("PANIC on CPU%u: %s in the hypervisor", cpu_index(), v < 32 ? exception_names[v] : "interrupt");
    say("vector %u, error code 0x%lx", v, f.error_code);
    say("RIP %04lx:%016lx RFLAGS %016lx", f.cs, f.rip, f.rflags);
    say("RSP %04lx:%016lx", f.ss, f.rsp);
    say("RAX %016lx RBX %016lx RCX %016lx", f.rax, f.rbx, f.rcx);
    say("RDX %016lx RSI %016lx RDI %016lx", f.rdx, f.rsi, f.rdi);
    say("RBP %016lx R8  %016lx R9  %016lx", f.rbp, f.r8, f.r9);
    say("R10 %016lx R11 %016lx R12 %016lx", f.r10, f.r11, f.r12);
    say("R13 %016lx R14 %016lx R15 %016lx", f.r13, f.r14, f.r15);
    say("CR0 %016lx CR2 %016lx CR3 %016lx CR4 %016lx", cpu::read_cr0(), cpu::read_cr2(), cpu::read_cr3(),
         cpu::read_cr4());
    say("fault at [<%016lx>]", f.rip);
    backtrace(f.rbp);
    stop_all();
}

} // namespace menhir
