#include "arch/x86/ioapic.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/idt.hpp"
#include "kernel/console.hpp"
#include "kernel/mm/memory.hpp"

namespace menhir::ioapic {
namespace {

// IOREGSEL/IOWIN indirection and register numbers (82093AA data sheet).
constexpr uint32_t reg_version = 0x01;
constexpr uint32_t reg_redirection = 0x10;
constexpr uint64_t entry_masked = 1u << 16;
constexpr uint64_t entry_level = 1u << 15;
constexpr uint64_t entry_active_low = 1u << 13;

struct Chip { volatile uint32_t* mmio; uint32_t gsi_base; uint32_t pins; };
Chip chips[acpi::max_ioapics];
size_t chip_count = 0;
const acpi::Platform* platform = nullptr;

uint32_t read(const Chip& c, uint32_t reg)
{
    c.mmio[0] = reg;
    return c.mmio[4];
}

void write(const Chip& c, uint32_t reg, uint32_t v)
{
    c.mmio[0] = reg;
    c.mmio[4] = v;
}

void write_entry(const Chip& c, uint32_t pin, uint64_t entry)
{
    // High half first, so the entry is never live with a stale destination.
    write(c, reg_redirection + 2 * pin + 1, static_cast<uint32_t>(entry >> 32));
    write(c, reg_redirection + 2 * pin, static_cast<uint32_t>(entry));
}

void disable_8259()
{
    // Remap both PICs to vector::legacy_pic_base (ICW1-ICW4) so a spurious
    // IRQ7/15 can never look like an exception, then mask every line.
    cpu::outb(0x20, 0x11); cpu::outb(0xa0, 0x11);
    cpu::outb(0x21, vector::legacy_pic_base); cpu::outb(0xa1, vector::legacy_pic_base + 8);
    cpu::outb(0x21, 0x04); cpu::outb(0xa1, 0x02);
    cpu::outb(0x21, 0x01); cpu::outb(0xa1, 0x01);
    cpu::outb(0x21, 0xff); cpu::outb(0xa1, 0xff);
}

} // namespace

void init(const acpi::Platform& p)
{
    platform = &p;
    disable_8259();
    for (size_t i = 0; i < p.ioapic_count && chip_count < acpi::max_ioapics; ++i) {
        Chip c{static_cast<volatile uint32_t*>(memory::map_mmio(HostPhys{p.ioapics[i].address}, 0x20)),
               p.ioapics[i].gsi_base, 0};
        c.pins = ((read(c, reg_version) >> 16) & 0xff) + 1;
        for (uint32_t pin = 0; pin < c.pins; ++pin) write_entry(c, pin, entry_masked);
        chips[chip_count++] = c;
        info("I/O APIC %u at 0x%x: GSIs %u-%u", p.ioapics[i].id, p.ioapics[i].address, c.gsi_base,
             c.gsi_base + c.pins - 1);
    }
}

bool route_isa_irq(uint8_t irq, uint8_t vec, uint32_t apic_id)
{
    uint16_t flags = 0;
    const uint32_t gsi = acpi::isa_irq_to_gsi(*platform, irq, &flags);
    for (size_t i = 0; i < chip_count; ++i) {
        const Chip& c = chips[i];
        if (gsi < c.gsi_base || gsi >= c.gsi_base + c.pins) continue;
        uint64_t entry = vec;   // fixed delivery, physical destination
        // MPS INTI flags: polarity bits 1:0 (3 = active low), trigger bits 3:2 (3 = level); ISA default is edge/high.
        if ((flags & 3) == 3) entry |= entry_active_low;
        if (((flags >> 2) & 3) == 3) entry |= entry_level;
        entry |= static_cast<uint64_t>(apic_id & 0xff) << 56;
        write_entry(c, gsi - c.gsi_base, entry);
        return true;
    }
    return false;
}

} // namespace menhir::ioapic
