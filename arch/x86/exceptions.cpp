#include "arch/x86/exceptions.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/idt.hpp"
#include "arch/x86/percpu.hpp"
#include "kernel/console.hpp"
#include "kernel/panic.hpp"

namespace menhir::exceptions {
namespace {

// Every exception raised by hypervisor code is a hypervisor bug.
void fatal(InterruptFrame& f) { panic_exception(f); }

// NMIs arrive from a panicking CPU (stop here) or from the platform.
void nmi(InterruptFrame&)
{
    if (panic_in_progress()) {
        this_cpu().stopped = true;
        cpu::halt_forever();
    }
    warning("NMI received on CPU%u", this_cpu().index);
}

} // namespace

void init()
{
    for (uint8_t v = 0; v < 32; ++v) idt::set_handler(v, fatal);
    idt::set_handler(vector::nmi, nmi);
}

} // namespace menhir::exceptions
