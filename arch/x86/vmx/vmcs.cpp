#include "arch/x86/vmx/vmcs.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/gdt.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "kernel/console.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/msr_policy.hpp"

extern "C" char vmx_exit_landing[];

namespace menhir::vmx {
namespace {

struct Controls { uint32_t pin, proc, proc2, exit, entry; };
Controls controls;
HostPhys msr_bitmap;
HostPhys apicv_msr_bitmap;   // for a vCPU in x2APIC mode under APIC virtualisation
bool apicv_x2apic, apicv_xapic;

// What Menhir asks of the CPU. Required bits missing = no guests; optional
// ones are used when present.
struct Want { const char* name; ControlMsr msr; uint32_t required; uint32_t optional; uint32_t* out; };

constexpr uint32_t pin_required = pin_external_interrupt | pin_nmi | pin_preemption_timer;
// CR8 exits are required too: without them a 64-bit guest writes the real TPR.
// TSC offsetting gives each vCPU its own IA32_TSC/IA32_TSC_ADJUST.
constexpr uint32_t proc_required = proc_hlt | proc_unconditional_io | proc_msr_bitmaps | proc_activate_secondary |
                                   proc_cr8_load | proc_cr8_store | proc_tsc_offsetting;
// The APIC virtualisation sets (see apic_virtualisation()): off in setup(),
// on per vCPU as its APIC's mode asks. The two mode bits never go
// together (VM entry refuses it, SDM Vol 3C 27.2.1.1).
constexpr uint32_t apicv_proc = proc_tpr_shadow;
constexpr uint32_t apicv_common2 = proc2_apic_register_virt | proc2_virtual_interrupt_delivery;
constexpr uint32_t apicv_x2apic2 = apicv_common2 | proc2_virtualize_x2apic;
constexpr uint32_t apicv_xapic2 = apicv_common2 | proc2_virtualize_apic;
constexpr uint32_t apicv_proc2 = apicv_x2apic2 | apicv_xapic2;
constexpr uint32_t proc_optional = proc_mwait | proc_monitor | apicv_proc;
constexpr uint32_t proc2_required = proc2_ept | proc2_unrestricted;
constexpr uint32_t proc2_optional = proc2_vpid | proc2_rdtscp | proc2_invpcid | proc2_wbinvd | proc2_xsaves | apicv_proc2;
// DR7 and DEBUGCTL are per vCPU through GUEST_DR7/GUEST_IA32_DEBUGCTL: saved
// on exit and loaded on entry only with the debug-controls bits (SDM Vol 3C
// 25.7.1, 25.8.1, 27.3.2.1, 28.3.1).
constexpr uint32_t exit_required = exit_host_64bit | exit_save_efer | exit_load_efer | exit_save_pat |
                                   exit_load_pat | exit_save_preemption_timer | exit_save_debug;
constexpr uint32_t entry_required = entry_load_efer | entry_load_pat | entry_load_debug;

constexpr uint32_t ar_code32 = 0xc09b, ar_data32 = 0xc093, ar_tss32_busy = 0x8b, ar_unusable = 0x10000;
constexpr uint64_t cr0_pe = 1u << 0, cr0_et = 1u << 4, cr0_ne = 1u << 5, cr0_pg = 1u << 31;
constexpr uint64_t default_pat = 0x0007040600070406ull;   // the power-on PAT (SDM Vol 3A 12.12.4)

} // namespace

uint64_t guest_cr0_mask() { return cr0_pg | cr0_ne; }

uint32_t secondary_controls() { return controls.proc2; }

bool apic_virtualisation(ApicMode mode)
{
    return mode == ApicMode::x2apic ? apicv_x2apic : mode == ApicMode::xapic && apicv_xapic;
}

bool set_apic_virtualisation(ApicMode mode, HostPhys page, HostPhys access, uint16_t status)
{
    if (!apicv_x2apic && !apicv_xapic) return false;
    // CR8 goes to the TPR shadow instead of exiting (SDM Vol 3C 30.3).
    constexpr uint32_t cr8_exits = proc_cr8_load | proc_cr8_store;
    const uint32_t proc = static_cast<uint32_t>(read(Field::proc_controls));
    const uint32_t proc2 = static_cast<uint32_t>(read(Field::proc2_controls)) & ~apicv_proc2;
    const bool on = apic_virtualisation(mode) && (mode == ApicMode::x2apic || access.value());
    if (on) {
        write(Field::virtual_apic_page, page.value());
        // No level-triggered vectors (no IO-APIC): no EOI needs Menhir (30.1.4).
        for (Field f : {Field::eoi_exit_bitmap0, Field::eoi_exit_bitmap1, Field::eoi_exit_bitmap2, Field::eoi_exit_bitmap3})
            write(f, 0);
        write(Field::guest_interrupt_status, status);
        // xAPIC mode keeps the plain bitmap: its x2APIC MSRs #GP by exits.
        write(Field::msr_bitmap, (mode == ApicMode::x2apic ? apicv_msr_bitmap : msr_bitmap).value());
        if (mode == ApicMode::xapic) write(Field::apic_access_address, access.value());
        write(Field::proc_controls, (proc & ~cr8_exits) | apicv_proc);
        write(Field::proc2_controls, proc2 | (mode == ApicMode::x2apic ? apicv_x2apic2 : apicv_xapic2));
    } else {
        write(Field::msr_bitmap, msr_bitmap.value());
        write(Field::proc_controls, (proc | cr8_exits) & ~apicv_proc);
        write(Field::proc2_controls, proc2);
    }
    return on;
}

bool init_controls(bool allow_apicv)
{
    const Capabilities& c = capabilities();
    Want wants[] = {
        {"pin-based", c.pin, pin_required, 0, &controls.pin},
        {"primary processor-based", c.proc, proc_required, proc_optional, &controls.proc},
        {"secondary processor-based", c.proc2, proc2_required, proc2_optional, &controls.proc2},
        {"VM-exit", c.exit, exit_required, 0, &controls.exit},
        {"VM-entry", c.entry, entry_required, 0, &controls.entry},
    };
    bool ok = true;
    for (auto& w : wants) {
        const Adjusted a = adjust(w.msr, w.required | w.optional);
        *w.out = a.value;
        if (a.missing & w.required) {
            info("cannot run guests: %s controls lack 0x%08x", w.name, a.missing & w.required);
            ok = false;
        }
    }
    if (!c.vpid || !c.invvpid) controls.proc2 &= ~proc2_vpid;
    const bool shadow = allow_apicv && (controls.proc & apicv_proc) == apicv_proc;
    apicv_x2apic = shadow && (controls.proc2 & apicv_x2apic2) == apicv_x2apic2;
    apicv_xapic = shadow && (controls.proc2 & apicv_xapic2) == apicv_xapic2;
    controls.proc &= ~apicv_proc;
    controls.proc2 &= ~apicv_proc2;

    auto frames = memory::alloc_frames(2);
    if (!frames) return false;
    msr_bitmap = *frames;
    apicv_msr_bitmap = *frames + page_size;
    msr_policy::build_bitmap(phys_to_virt<uint8_t>(msr_bitmap));
    msr_policy::build_apicv_bitmap(phys_to_virt<uint8_t>(apicv_msr_bitmap));
    return ok;
}

void write_host_state()
{
    PerCpu& c = this_cpu();
    write(Field::host_cr0, cpu::read_cr0());
    write(Field::host_cr3, cpu::read_cr3());
    write(Field::host_cr4, cpu::read_cr4());
    write(Field::host_cs_selector, gdt::kernel_code);
    write(Field::host_ss_selector, gdt::kernel_data);
    write(Field::host_ds_selector, gdt::kernel_data);
    write(Field::host_es_selector, gdt::kernel_data);
    write(Field::host_fs_selector, 0);
    write(Field::host_gs_selector, 0);
    write(Field::host_tr_selector, gdt::tss);
    write(Field::host_fs_base, 0);
    write(Field::host_gs_base, reinterpret_cast<uint64_t>(&c));
    write(Field::host_tr_base, reinterpret_cast<uint64_t>(&c.tss));
    write(Field::host_gdtr_base, reinterpret_cast<uint64_t>(c.gdt));
    struct [[gnu::packed]] { uint16_t limit; uint64_t base; } idtr{};
    asm volatile("sidt %0" : "=m"(idtr));
    write(Field::host_idtr_base, idtr.base);
    write(Field::host_sysenter_cs, 0);
    write(Field::host_sysenter_esp, 0);
    write(Field::host_sysenter_eip, 0);
    write(Field::host_efer, cpu::rdmsr(cpu::msr::efer));
    write(Field::host_pat, cpu::rdmsr(0x277));
    write(Field::host_rip, reinterpret_cast<uint64_t>(vmx_exit_landing));
}

GuestStart pvh_start(uint32_t entry)
{
    GuestStart s{};
    s.rip = entry;
    s.rflags = 0x2;
    s.cr0 = cr0_pe | cr0_et;
    s.cs = Segment{0x08, 0, 0xffffffff, ar_code32};
    s.ds = Segment{0x10, 0, 0xffffffff, ar_data32};
    s.tr = Segment{0, 0, 0x67, ar_tss32_busy};
    return s;
}

void setup(const GuestStart& s)
{
    write(Field::pin_controls, controls.pin);
    write(Field::proc_controls, controls.proc);
    write(Field::proc2_controls, controls.proc2);
    write(Field::exit_controls, controls.exit);
    // EFER.LMA set means the vCPU starts in long mode: the entry control follows it.
    constexpr uint64_t efer_lma = 1u << 10;
    write(Field::entry_controls, controls.entry | ((s.efer & efer_lma) ? entry_ia32e_guest : 0));
    write(Field::exception_bitmap, 0);            // guests handle their own exceptions
    write(Field::page_fault_error_mask, 0);
    write(Field::page_fault_error_match, 0);
    write(Field::cr3_target_count, 0);
    write(Field::exit_msr_store_count, 0);
    write(Field::exit_msr_load_count, 0);
    write(Field::entry_msr_load_count, 0);
    write(Field::entry_interruption_info, 0);
    write(Field::msr_bitmap, msr_bitmap.value());
    write(Field::ept_pointer, s.eptp);
    write(Field::tsc_offset, 0);
    if (controls.proc2 & proc2_vpid) write(Field::vpid, s.vpid);
    write(Field::vmcs_link_pointer, ~0ull);

    // CR0.PG and CR0.NE belong to Menhir: PG so that EFER.LMA and the
    // "IA-32e mode guest" entry control stay in step, NE because VMX needs it
    // set while the guest may want it clear. CR4.VMXE is hidden likewise.
    write(Field::cr0_guest_host_mask, guest_cr0_mask());
    write(Field::cr0_read_shadow, s.cr0);
    write(Field::guest_cr0, s.cr0 | cr0_ne);
    write(Field::cr4_guest_host_mask, cpu::cr4_vmxe);
    write(Field::cr4_read_shadow, s.cr4);
    write(Field::guest_cr4, s.cr4 | cpu::cr4_vmxe);
    write(Field::guest_cr3, s.cr3);

    const Field data[][4] = {
        {Field::guest_es_selector, Field::guest_es_limit, Field::guest_es_access, Field::guest_es_base},
        {Field::guest_ss_selector, Field::guest_ss_limit, Field::guest_ss_access, Field::guest_ss_base},
        {Field::guest_ds_selector, Field::guest_ds_limit, Field::guest_ds_access, Field::guest_ds_base},
        {Field::guest_fs_selector, Field::guest_fs_limit, Field::guest_fs_access, Field::guest_fs_base},
        {Field::guest_gs_selector, Field::guest_gs_limit, Field::guest_gs_access, Field::guest_gs_base},
    };
    auto segment = [](const Field (&f)[4], const Segment& seg) {
        write(f[0], seg.selector);
        write(f[1], seg.limit);
        write(f[2], seg.access);
        write(f[3], seg.base);
    };
    for (const auto& f : data) segment(f, s.ds);
    segment({Field::guest_cs_selector, Field::guest_cs_limit, Field::guest_cs_access, Field::guest_cs_base}, s.cs);
    segment({Field::guest_tr_selector, Field::guest_tr_limit, Field::guest_tr_access, Field::guest_tr_base}, s.tr);
    segment({Field::guest_ldtr_selector, Field::guest_ldtr_limit, Field::guest_ldtr_access, Field::guest_ldtr_base},
            Segment{0, 0, 0, ar_unusable});
    write(Field::guest_gdtr_base, 0);
    write(Field::guest_gdtr_limit, 0);
    write(Field::guest_idtr_base, 0);
    write(Field::guest_idtr_limit, 0);

    write(Field::guest_rip, s.rip);
    write(Field::guest_rsp, s.rsp);
    write(Field::guest_rflags, s.rflags | 0x2);
    write(Field::guest_dr7, 0x400);
    write(Field::guest_debugctl, 0);
    write(Field::guest_efer, s.efer);
    write(Field::guest_pat, default_pat);
    write(Field::guest_sysenter_cs, 0);
    write(Field::guest_sysenter_esp, 0);
    write(Field::guest_sysenter_eip, 0);
    write(Field::guest_interruptibility, 0);
    write(Field::guest_activity_state, 0);
    write(Field::guest_pending_debug, 0);
    write(Field::preemption_timer_value, 0);

    write(Field::host_rsp, s.host_rsp);
    write_host_state();
}

const char* to_string(ExitReason r)
{
    switch (r) {
    case ExitReason::exception_or_nmi: return "exception";
    case ExitReason::external_interrupt: return "external interrupt";
    case ExitReason::triple_fault: return "triple fault";
    case ExitReason::cpuid: return "CPUID";
    case ExitReason::hlt: return "HLT";
    case ExitReason::vmcall: return "VMCALL";
    case ExitReason::cr_access: return "CR access";
    case ExitReason::task_switch: return "task switch";
    case ExitReason::io_instruction: return "I/O instruction";
    case ExitReason::rdmsr: return "RDMSR";
    case ExitReason::wrmsr: return "WRMSR";
    case ExitReason::invalid_guest_state: return "VM entry with invalid guest state";
    case ExitReason::msr_loading: return "VM entry MSR loading";
    case ExitReason::machine_check: return "machine check";
    case ExitReason::ept_violation: return "EPT violation";
    case ExitReason::ept_misconfig: return "EPT misconfiguration";
    case ExitReason::preemption_timer: return "preemption timer";
    case ExitReason::xsetbv: return "XSETBV";
    default: return "exit";
    }
}

} // namespace menhir::vmx
