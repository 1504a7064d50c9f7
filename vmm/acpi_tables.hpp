// A domU's ACPI tables (RSDP, XSDT, hardware-reduced FADT, DSDT, MADT) and the I/O registers they name.
//
// A domU finds them through hvm_start_info.rsdp_paddr. Pure: the tables are
// built into a caller's buffer for a guest-physical base, so the domain
// builders (hypervisor and dom0) and the host tests share it.
// Layouts follow ACPI 6.5 chapter 5.2; the register ports and values are
// Menhir's (docs/abi.md, "ACPI tables").
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::acpi_tables {

// Every domU gets a MADT listing one local APIC per vCPU (vmm/vlapic): Linux
// sets up its per-CPU timer and brings up secondary CPUs only from it.
inline constexpr bool domu_madt = true;

inline constexpr uint32_t lapic_address = 0xfee00000;
// The APIC ID of vCPU `vcpu`, as its MADT entry and its virtual LAPIC give it.
constexpr uint32_t apic_id(uint32_t vcpu) { return vcpu; }

// Hardware-reduced ACPI's sleep registers (ACPI 6.5 4.8.3.7, 4.8.3.8), one
// byte each in system I/O space. Ports 0xb000 and 0xb004 are where Xen's HVM
// FADT has its PM1a event and control blocks; nothing else of a PVH domU
// lives there.
inline constexpr uint16_t sleep_status_port = 0xb000;
inline constexpr uint16_t sleep_control_port = 0xb004;
inline constexpr uint8_t sleep_type_shift = 2;     // SLP_TYPx, bits 2-4
inline constexpr uint8_t sleep_type_mask = 0x1c;
inline constexpr uint8_t sleep_enable = 0x20;      // SLP_EN
inline constexpr uint8_t wake_status = 0x80;       // WAK_STS, in the status register
// \_S5's SLP_TYP (the value QEMU's hardware-reduced machines use too).
inline constexpr uint8_t s5_sleep_type = 5;
// The FADT reset register: the PIIX reset control port Xen's FADT names, with
// Xen's value (CPU reset, full reset).
inline constexpr uint16_t reset_port = 0xcf9;
inline constexpr uint8_t reset_value = 0x06;

// What a guest's access to one of those ports means.
enum class PortEffect { none, poweroff, reboot };
[[nodiscard]] bool is_acpi_port(uint16_t port, uint32_t size);
// A write of `size` bytes: SLP_EN with \_S5's type to the sleep control
// register powers off, a value with the CPU-reset bit (0x04, set in
// reset_value) to the reset register reboots; anything else has no effect.
[[nodiscard]] PortEffect port_write(uint16_t port, uint32_t size, uint32_t value);
// Reads: both sleep registers read 0 (WAK_STS clear: the domain never wakes
// from a sleep state), the reset register all ones (as a write-only port).
[[nodiscard]] uint32_t port_read(uint16_t port, uint32_t size);

struct Gas {   // Generic Address Structure, 5.2.3.2
    uint8_t space_id;
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size;   // 1 = byte
    uint64_t address;
} __attribute__((packed));
static_assert(sizeof(Gas) == 12);

struct Rsdp {   // 5.2.5.3, revision 2
    char signature[8];
    uint8_t checksum;          // of the first 20 bytes
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt_address;
    uint32_t length;
    uint64_t xsdt_address;
    uint8_t extended_checksum; // of all 36 bytes
    uint8_t reserved[3];
} __attribute__((packed));
static_assert(sizeof(Rsdp) == 36);
static_assert(__builtin_offsetof(Rsdp, revision) == 15 && __builtin_offsetof(Rsdp, xsdt_address) == 24);

struct Header {   // 5.2.6
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    char creator_id[4];
    uint32_t creator_revision;
};
static_assert(sizeof(Header) == 36);

struct Fadt {   // 5.2.9, revision 6
    Header header;
    uint32_t firmware_ctrl;
    uint32_t dsdt;
    uint8_t reserved0;
    uint8_t preferred_pm_profile;
    uint16_t sci_int;
    uint32_t smi_cmd;
    uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
    uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
    uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
    uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
    uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
    uint16_t iapc_boot_arch;
    uint8_t reserved1;
    uint32_t flags;
    Gas reset_reg;
    uint8_t reset_value;
    uint16_t arm_boot_arch;
    uint8_t minor_revision;
    uint64_t x_firmware_ctrl;
    uint64_t x_dsdt;
    Gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk, x_pm2_cnt_blk, x_pm_tmr_blk,
        x_gpe0_blk, x_gpe1_blk;
    Gas sleep_control_reg;
    Gas sleep_status_reg;
    uint64_t hypervisor_vendor_id;
} __attribute__((packed));
static_assert(sizeof(Fadt) == 276);
static_assert(__builtin_offsetof(Fadt, dsdt) == 40);
static_assert(__builtin_offsetof(Fadt, iapc_boot_arch) == 109);
static_assert(__builtin_offsetof(Fadt, flags) == 112);
static_assert(__builtin_offsetof(Fadt, reset_reg) == 116);
static_assert(__builtin_offsetof(Fadt, reset_value) == 128);
static_assert(__builtin_offsetof(Fadt, minor_revision) == 131);
static_assert(__builtin_offsetof(Fadt, x_dsdt) == 140);
static_assert(__builtin_offsetof(Fadt, x_pm1a_evt_blk) == 148);
static_assert(__builtin_offsetof(Fadt, sleep_control_reg) == 244);
static_assert(__builtin_offsetof(Fadt, sleep_status_reg) == 256);
static_assert(__builtin_offsetof(Fadt, hypervisor_vendor_id) == 268);

inline constexpr uint16_t boot_arch_no_vga = 1u << 2;        // Table 5.11
inline constexpr uint16_t boot_arch_no_cmos_rtc = 1u << 5;
inline constexpr uint32_t fadt_wbinvd = 1u << 0;             // Table 5.10
inline constexpr uint32_t fadt_proc_c1 = 1u << 2;
inline constexpr uint32_t fadt_pwr_button = 1u << 4;         // no power button device
inline constexpr uint32_t fadt_slp_button = 1u << 5;         // no sleep button device
inline constexpr uint32_t fadt_reset_reg_sup = 1u << 10;
inline constexpr uint32_t fadt_hw_reduced = 1u << 20;

struct Madt {   // 5.2.12
    Header header;
    uint32_t lapic_address;
    uint32_t flags;   // PCAT_COMPAT clear: no 8259s
};
static_assert(sizeof(Madt) == 44);

struct MadtLapic {   // 5.2.12.2, Processor Local APIC
    uint8_t type;     // 0
    uint8_t length;   // 8
    uint8_t processor_uid;
    uint8_t apic_id;
    uint32_t flags;   // bit 0: enabled
};
static_assert(sizeof(MadtLapic) == 8);

inline constexpr uint32_t max_vcpus = 255;   // an xAPIC entry's 8-bit UID and APIC ID

struct Input {
    uint64_t base;     // guest-physical address of the first byte (16-byte aligned)
    uint32_t vcpus;    // 1..max_vcpus
    bool madt;         // list a MADT with one enabled LAPIC per vCPU
};

// Guest-physical addresses of each table; madt is 0 when there is none.
struct Layout {
    uint64_t rsdp, xsdt, fadt, dsdt, madt;
    uint64_t bytes;    // from base to one past the last table
};

enum class Error { none, bad_vcpus, misaligned, above_4gib, too_small };
[[nodiscard]] const char* to_string(Error);

// Where each table goes from in.base, each on a 16-byte boundary. The whole
// must end below 4 GiB (the FADT's 32-bit DSDT field, and Xen keeps them
// there too).
[[nodiscard]] Error plan(const Input& in, Layout& out);
// The most bytes plan() asks for (max_vcpus with a MADT).
[[nodiscard]] uint64_t max_bytes();
// What a domain builder sets aside for them: one page, more than max_bytes().
inline constexpr uint64_t region_bytes = 4096;

// Fills out[0, layout.bytes) (out_size at least that) with the tables, every
// checksum right, padding zero.
[[nodiscard]] Error build(const Input& in, uint8_t* out, size_t out_size, Layout& layout);

} // namespace menhir::acpi_tables
