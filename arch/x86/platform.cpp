#include "arch/x86/platform.hpp"
#include "kernel/console.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/panic.hpp"

namespace menhir::platform {
namespace {

acpi::Platform tables;

// ACPI tables live in memory the direct map covers (available, ACPI data or
// NVS) or in the BIOS area below 1 MiB; anything else is not trusted.
const uint8_t* map_phys(void*, uint64_t phys, size_t len)
{
    if (phys + len < phys) return nullptr;
    auto* p = static_cast<const uint8_t*>(memory::map_mmio(HostPhys{phys}, len));
    return p;
}

} // namespace

void init(const mb2::BootInfo& boot)
{
    const uint8_t* rsdp = boot.rsdp_new ? boot.rsdp_new : boot.rsdp_old;
    size_t rsdp_len = boot.rsdp_new ? boot.rsdp_new_len : boot.rsdp_old_len;
    if (!rsdp) {
        // No multiboot2 ACPI tag: look where the BIOS puts it (ACPI 6.4 5.2.5.1).
        auto found = acpi::scan_rsdp(map_phys, nullptr, 0xe0000, 0x20000);
        if (!found) panic("no ACPI RSDP: Menhir needs ACPI's MADT to find the CPUs");
        rsdp = map_phys(nullptr, *found, 36);
        rsdp_len = 36;
    }
    const auto err = acpi::parse(rsdp, rsdp_len, map_phys, nullptr, tables);
    if (err != acpi::Error::none) panic("cannot use the ACPI tables: %s", acpi::to_string(err));

    info("ACPI: OEM '%s', revision %u, %zu CPUs, %zu I/O APICs, local APIC at 0x%lx", tables.oem_id,
         tables.rsdp_revision, tables.cpu_count, tables.ioapic_count, tables.lapic_address);
    if (tables.has_fadt)
        info("ACPI: PM1a_CNT 0x%x, PM timer 0x%x, reset register %s 0x%lx, S5 %s", tables.pm1a_cnt,
             tables.pm_tmr_blk, tables.reset_supported ? "at" : "absent,", tables.reset_reg.address,
             tables.has_s5 ? "found" : "not found");
}

const acpi::Platform& acpi() { return tables; }

} // namespace menhir::platform
