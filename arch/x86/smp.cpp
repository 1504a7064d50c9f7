#include "arch/x86/smp.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/idt.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/pit.hpp"
#include "arch/x86/platform.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "kernel/console.hpp"
#include "kernel/mm/memory.hpp"

extern "C" char ap_trampoline_start[], ap_trampoline_end[];
extern "C" char ap_tr_boot_cr3[], ap_tr_nx[], ap_tr_alive[], ap_tr_kernel_cr3[], ap_tr_stack[], ap_tr_entry[],
    ap_tr_arg[];
extern "C" char ap_entry_high[];
extern "C" char boot_pml4[];

namespace menhir {
namespace {

// Page 8 (0x8000): below 1 MiB as a SIPI vector must be, and reserved with
// the rest of the first MiB.
constexpr uint64_t trampoline_phys = 0x8000;
smp::ApMain ap_work = nullptr;

template <typename T>
T* field(char* symbol)
{
    return phys_to_virt<T>(HostPhys{trampoline_phys + static_cast<uint64_t>(symbol - ap_trampoline_start)});
}

void stop_this_cpu(InterruptFrame&)
{
    vmx::disable_this_cpu();
    this_cpu().stopped = true;
    cpu::halt_forever();
}

bool wait_until(volatile bool& flag, uint32_t ms)
{
    for (uint32_t i = 0; i < ms * 10 && !flag; ++i) tsc::delay_us(100);
    return flag;
}

} // namespace

extern "C" [[noreturn]] void ap_main(PerCpu* self)
{
    percpu::activate(*self);
    lapic::init_this_cpu();
    self->online = true;
    ap_work();
    for (;;) cpu::sti_hlt();
}

namespace smp {

uint32_t start_aps(uint32_t maxcpus, ApMain work)
{
    ap_work = work;
    idt::set_handler(vector::stop_cpu, stop_this_cpu);
    const auto& acpi = platform::acpi();
    const uint32_t bsp_id = lapic::id();
    const size_t size = static_cast<size_t>(ap_trampoline_end - ap_trampoline_start);
    __builtin_memcpy(phys_to_virt(HostPhys{trampoline_phys}), ap_trampoline_start, size);
    *field<uint32_t>(ap_tr_boot_cr3) = static_cast<uint32_t>(reinterpret_cast<uint64_t>(boot_pml4));
    *field<uint32_t>(ap_tr_nx) = (cpu::cpuid(0x80000001).edx >> 20) & 1;
    *field<uint64_t>(ap_tr_kernel_cr3) = memory::kernel_cr3().value();
    *field<uint64_t>(ap_tr_entry) = reinterpret_cast<uint64_t>(ap_entry_high);

    uint32_t online = 1;
    for (size_t i = 0; i < acpi.cpu_count; ++i) {
        const auto& entry = acpi.cpus[i];
        if (!entry.enabled || entry.apic_id == bsp_id) continue;
        if (maxcpus && online >= maxcpus) {
            info("CPU with APIC id %u not started (maxcpus=%u)", entry.apic_id, maxcpus);
            continue;
        }
        if (lapic::mode() == lapic::Mode::xapic && entry.apic_id > 0xfe) {
            warning("CPU with APIC id %u needs x2APIC mode; not started", entry.apic_id);
            continue;
        }
        PerCpu* c = percpu::create(online, entry.apic_id);
        if (!c) break;
        *field<uint64_t>(ap_tr_stack) = c->stack_top;
        *field<uint64_t>(ap_tr_arg) = reinterpret_cast<uint64_t>(c);
        *field<volatile uint32_t>(ap_tr_alive) = 0;

        // INIT, 10 ms, SIPI, 200 us, SIPI (SDM Vol 3A 9.4.4.1).
        lapic::send_init(entry.apic_id);
        tsc::delay_us(10000);
        for (int sipi = 0; sipi < 2 && !c->online; ++sipi) {
            lapic::send_startup(entry.apic_id, static_cast<uint8_t>(trampoline_phys >> 12));
            tsc::delay_us(200);
        }
        if (!wait_until(c->online, 1000)) {
            warning("CPU with APIC id %u did not come up", entry.apic_id);
            continue;
        }
        info("CPU%u: APIC id %u online", c->index, entry.apic_id);
        ++online;
    }
    return online;
}

void stop_other_cpus()
{
    if (percpu::count() <= 1) return;
    lapic::send_fixed_all_but_self(vector::stop_cpu);
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        PerCpu* c = percpu::get(i);
        if (c && c != &this_cpu() && c->online) (void)wait_until(c->stopped, 100);
    }
}

} // namespace smp
} // namespace menhir
