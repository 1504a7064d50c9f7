// Boot sequence of the bootstrap processor, from the 64-bit entry in
// boot/entry.S to the idle loop. Each step is one call; read top to bottom.
#include "arch/x86/cpu.hpp"
#include "arch/x86/exceptions.hpp"
#include "arch/x86/idt.hpp"
#include "arch/x86/ioapic.hpp"
#include "arch/x86/lapic.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/pit.hpp"
#include "arch/x86/platform.hpp"
#include "arch/x86/smp.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "boot/multiboot2.hpp"
#include "kernel/cmdline.hpp"
#include "kernel/lib/format.hpp"
#include "kernel/console.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/panic.hpp"
#include "kernel/sched/scheduler.hpp"
#include "kernel/time/rtc.hpp"
#include "vmm/domain_builder.hpp"
#include "vmm/vlapic.hpp"

extern "C" void (*__init_array_start[])();
extern "C" void (*__init_array_end[])();

namespace menhir {

uint64_t boot_tsc;   // TSC at kernel_main: boot costs are measured from here

namespace {
char command_line_copy[1024];   // as given, for XENVER_commandline (xl info)
}

const char* boot_command_line() { return command_line_copy; }

namespace {

mb2::BootInfo boot_info;
cmdline::Words words;
cmdline::Options options;

// GRUB keeps the boot information small; a bound keeps a corrupt total_size
// from sending the parser through all of memory.
constexpr size_t boot_info_limit = 1 << 20;

// "unknown option 'WORD'" is a contract with the tests; other problems say what is wrong.
void warn_option(void*, const char* word, const char* reason)
{
    if (__builtin_strncmp(reason, "unknown option", 14) == 0)
        warning("unknown option '%s'", word);
    else
        warning("option '%s': %s", word, reason);
}

void parse_command_line()
{
    const char* text = boot_info.cmdline ? boot_info.cmdline : "";
    info("command line: %s", text);
    format(command_line_copy, sizeof command_line_copy, "%s", text);
    const auto err = cmdline::split(text, words);
    if (err != cmdline::SplitError::none) {
        warning("command line ignored: %s", cmdline::to_string(err));
        words.count = 0;
    }
    options = cmdline::parse_options(words, warn_option, nullptr);
    console::configure(options);
}

void print_memory_map()
{
    info("memory map:");
    for (size_t i = 0; i < boot_info.region_count; ++i) {
        const auto& r = boot_info.regions[i];
        info(" 0x%016lx - 0x%016lx %s", r.base, r.base + r.length, mb2::to_string(r.type));
    }
}

void run_global_constructors()
{
    for (auto* f = __init_array_start; f != __init_array_end; ++f) (*f)();
}

void uart_interrupt(InterruptFrame&) { console::drain_uart(); }

// The VMX line is a contract with the tests: once, after every CPU tried.
void report_vmx(uint32_t online)
{
    uint32_t on = 0;
    for (uint32_t i = 0; i < percpu::count(); ++i) {
        PerCpu* c = percpu::get(i);
        if (!c || !c->online) continue;
        for (int t = 0; t < 100000 && !c->vmx_done; ++t) tsc::delay_us(10);
        if (c->vmx_on) ++on;
    }
    info("VMX on %u/%u CPUs", on, online);
}

volatile bool guests_go = false;   // set once the scheduler and the boot domains exist

void enable_vmx_here()
{
    PerCpu& c = this_cpu();
    const auto r = vmx::enable_this_cpu(c);
    if (r != vmx::EnableResult::ok) warning("CPU%u: %s", c.index, vmx::to_string(r));
    c.vmx_done = true;
}

// Application processors: VMX on, then run guests once the BSP says so.
void ap_work()
{
    enable_vmx_here();
    while (!guests_go) cpu::pause();
    if (this_cpu().vmx_on) scheduler::run();
}

bool check_guest_features()
{
    const auto& caps = vmx::read_capabilities();
    vmx::describe(caps, [](void*, const char* line) { info("VMX: %s", line); }, nullptr);
    if (const char* missing = vmx::missing_guest_feature(caps)) {
        info("cannot run guests: this CPU lacks %s", missing);
        return false;
    }
    return vmx::init_controls(options.apicv);
}

[[noreturn]] void idle()
{
    for (;;) {
        console::poll();
        cpu::sti_hlt();
    }
}

} // namespace

extern "C" [[noreturn]] void kernel_main(uint32_t magic, uint64_t info_phys)
{
    boot_tsc = cpu::rdtsc();
    console::init_early();
    if (magic != mb2::bootloader_magic) {
        error("not started by a Multiboot2 boot loader (magic 0x%x); halting", magic);
        cpu::halt_forever();
    }
    const auto* info_bytes = phys_to_virt<const uint8_t>(HostPhys{info_phys});
    const auto perr = mb2::parse(info_bytes, boot_info_limit, boot_info);
    if (perr != mb2::ParseError::none) {
        error("bad Multiboot2 boot information: %s; halting", mb2::to_string(perr));
        cpu::halt_forever();
    }
    info("Menhir hypervisor 0.1 (boot loader: %s)",
         boot_info.bootloader_name ? boot_info.bootloader_name : "unknown");
    parse_command_line();
    print_memory_map();

    // Exceptions are readable panics from here on (IST stacks come with the TSS below).
    idt::init();
    exceptions::init();
    idt::load();

    memory::init(boot_info, HostPhys{info_phys}, boot_info.total_size);
    run_global_constructors();

    PerCpu* bsp = percpu::create(0, 0);
    percpu::activate(*bsp);

    platform::init(boot_info);
    const auto& acpi = platform::acpi();
    lapic::init_bsp(options.x2apic, HostPhys{acpi.lapic_address});
    lapic::init_this_cpu();
    bsp->apic_id = lapic::id();
    bsp->online = true;

    const uint64_t tsc_khz = pit::calibrate_tsc_khz();
    tsc::set_khz(tsc_khz);
    console::set_tsc_khz(tsc_khz);
    info("TSC %lu kHz, local APIC timer %u kHz (calibrated against the PIT)", tsc_khz, lapic::calibrate_timer());

    rtc::read_at_boot();
    ioapic::init(acpi);
    idt::set_handler(static_cast<uint8_t>(vector::ioapic_base + console::irq()), uart_interrupt);
    if (!ioapic::route_isa_irq(console::irq(), static_cast<uint8_t>(vector::ioapic_base + console::irq()),
                               bsp->apic_id))
        warning("no I/O APIC pin for IRQ %u: serial input disabled", console::irq());
    console::enable_input_interrupts();

    // Every CPU must have VMX; without it on the BSP there is nothing to do.
    if (!vmx::cpu_has_vmx()) {
        info("VT-x (VMX) not available on this CPU");
        info("halting");
        cpu::halt_forever();
    }

    const uint32_t online = smp::start_aps(options.maxcpus, ap_work);
    enable_vmx_here();
    report_vmx(online);
    const bool guests = bsp->vmx_on && check_guest_features();

    if (guests) {
        scheduler::init(online);
        vlapic::describe();
        if (options.max_domid) {
            domains::limit_ids(options.max_domid);
            info("domain ids up to %u (max_domid)", domains::max_id());
        }
        builder::start_boot_domains(boot_info, options.dom0_mem);
    }
    info("*** Serial input to DOM0 (type 'CTRL-a' three times to switch input)");
    guests_go = true;
    if (guests) scheduler::run();
    idle();
}

} // namespace menhir
