#include "arch/x86/power.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/pit.hpp"
#include "arch/x86/platform.hpp"
#include "arch/x86/smp.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "kernel/console.hpp"
#include "kernel/debug_keys.hpp"
#include "kernel/mm/memory.hpp"

namespace menhir::power {
namespace {

constexpr uint16_t pm1_sci_en = 1u << 0;
constexpr uint16_t pm1_slp_en = 1u << 13;
constexpr int pm1_slp_typ_shift = 10;
constexpr uint8_t gas_memory = 0, gas_io = 1, gas_pci_config = 2;

void leave_vmx_everywhere()
{
    cpu::cli();
    smp::stop_other_cpus();
    vmx::disable_this_cpu();
}

// ACPI 6.4 4.8.3.2.1 / 7.4.2: SLP_TYPx from \_S5 with SLP_EN in PM1x_CNT.
void acpi_s5(const acpi::Platform& p)
{
    if (!p.has_fadt || !p.has_s5 || !p.pm1a_cnt) return;
    // Firmware still in legacy mode: ask it to switch to ACPI first.
    if (p.smi_cmd && p.acpi_enable && !(cpu::inw(static_cast<uint16_t>(p.pm1a_cnt)) & pm1_sci_en)) {
        cpu::outb(static_cast<uint16_t>(p.smi_cmd), p.acpi_enable);
        for (int i = 0; i < 300 && !(cpu::inw(static_cast<uint16_t>(p.pm1a_cnt)) & pm1_sci_en); ++i)
            tsc::delay_us(1000);
    }
    cpu::outw(static_cast<uint16_t>(p.pm1a_cnt),
              static_cast<uint16_t>((p.slp_typa << pm1_slp_typ_shift) | pm1_slp_en));
    if (p.pm1b_cnt)
        cpu::outw(static_cast<uint16_t>(p.pm1b_cnt),
                  static_cast<uint16_t>((p.slp_typb << pm1_slp_typ_shift) | pm1_slp_en));
    tsc::delay_us(100000);
}

void fadt_reset(const acpi::Platform& p)
{
    if (!p.has_fadt || !p.reset_supported) return;
    const auto& r = p.reset_reg;
    switch (r.space_id) {
    case gas_io:
        cpu::outb(static_cast<uint16_t>(r.address), p.reset_value);
        break;
    case gas_memory:
        *static_cast<volatile uint8_t*>(memory::map_mmio(HostPhys{r.address}, 1)) = p.reset_value;
        break;
    case gas_pci_config: {
        // Bus 0; device, function and register packed in the address (ACPI 6.4 5.2.3.2).
        const uint32_t dev = static_cast<uint32_t>((r.address >> 32) & 0x1f);
        const uint32_t fn = static_cast<uint32_t>((r.address >> 16) & 0x7);
        const uint32_t reg = static_cast<uint32_t>(r.address & 0xff);
        cpu::outl(0xcf8, 0x80000000u | (dev << 11) | (fn << 8) | (reg & 0xfc));
        cpu::outb(static_cast<uint16_t>(0xcfc + (reg & 3)), p.reset_value);
        break;
    }
    default: return;
    }
    tsc::delay_us(50000);
}

void key_reset(char)
{
    info("'R' pressed -> rebooting machine");
    reset();
}

void key_poweroff(char)
{
    info("'P' pressed -> powering off");
    poweroff();
}

struct KeyRegistrar {
    KeyRegistrar()
    {
        debug_keys::register_key('R', "reboot the machine", key_reset);
        debug_keys::register_key('P', "power off the machine", key_poweroff);
    }
} key_registrar;

} // namespace

// The console's queued lines go out before the machine does.
void poweroff()
{
    leave_vmx_everywhere();
    console::flush();
    acpi_s5(platform::acpi());
    info("power-off through ACPI S5 did not work; halting");
    console::flush();
    cpu::halt_forever();
}

void reset()
{
    leave_vmx_everywhere();
    console::flush();
    fadt_reset(platform::acpi());
    // The 8042's pulse-reset command, then the PCI reset control register
    // (Linux's order too: Bochs 2.7 with several CPUs hangs on 0xCF9).
    for (int i = 0; i < 100000 && (cpu::inb(0x64) & 0x02); ++i) cpu::pause();
    cpu::outb(0x64, 0xfe);
    tsc::delay_us(50000);
    cpu::outb(0xcf9, 0x02);
    tsc::delay_us(10);
    cpu::outb(0xcf9, 0x06);
    tsc::delay_us(50000);
    // Last resort: a triple fault with an empty IDT.
    struct [[gnu::packed]] { uint16_t limit; uint64_t base; } empty{0, 0};
    asm volatile("lidt %0; int3" :: "m"(empty));
    cpu::halt_forever();
}

} // namespace menhir::power
