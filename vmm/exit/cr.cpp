// MOV to CR0/CR4 exits, for the bits Menhir owns (see vmx::setup): CR0.PG
// (to keep EFER.LMA and the "IA-32e mode guest" entry control in step when
// the guest enters or leaves long mode), CR0.NE and CR4.VMXE. An emulated
// write that turns on (or changes) PAE paging loads the PDPTEs the CPU
// would have loaded: with EPT, VM entry takes them from the VMCS.
#include "arch/x86/cpu.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/guest_state.hpp"
#include "vmm/exit/handlers.hpp"
#include "vmm/guest_pdptes.hpp"
#include "vmm/pae_pdptes.hpp"
#include "vmm/vlapic.hpp"

namespace menhir::exit {
namespace {

constexpr uint64_t cr0_pe = 1u << 0, cr0_ne = 1u << 5, cr0_nw = 1u << 29, cr0_cd = 1u << 30, cr0_pg = 1u << 31;
constexpr uint64_t cr4_pae = 1u << 5;
constexpr uint64_t efer_lme = 1u << 8, efer_lma = 1u << 10;

bool write_cr0(Vcpu& v, uint64_t value)
{
    // #GP cases of MOV to CR0 (SDM Vol 2B, MOV—Move to/from Control Registers),
    // including leaving paging while running 64-bit code.
    if ((value >> 32) || ((value & cr0_pg) && !(value & cr0_pe)) || ((value & cr0_nw) && !(value & cr0_cd)))
        return false;
    if (!(value & cr0_pg) && guest::in_64bit_code(v)) return false;
    uint64_t efer = vmx::read(vmx::Field::guest_efer);
    const bool paging_was_on = vmx::read(vmx::Field::guest_cr0) & cr0_pg;
    const bool paging_on = value & cr0_pg;
    uint64_t entry = vmx::read(vmx::Field::entry_controls);
    if (paging_on && !paging_was_on && (efer & efer_lme)) {
        if (!(vmx::read(vmx::Field::guest_cr4) & cr4_pae)) return false;   // long mode needs PAE
        efer |= efer_lma;
        entry |= vmx::entry_ia32e_guest;
    } else if (!paging_on && paging_was_on) {
        efer &= ~efer_lma;
        entry &= ~vmx::entry_ia32e_guest;
    }
    // PDPTEs before anything changes: a bad one faults the MOV with CR0 as it
    // was. The guest-state CR0/CR4 hold every bit the guest owns, the read
    // shadows only Menhir's.
    const uint64_t cr4 = vmx::read(vmx::Field::guest_cr4);
    if (pae::cr_write_loads(vmx::read(vmx::Field::guest_cr0), cr4, value, cr4, efer) &&
        !guest::load_pdptes(v, vmx::read(vmx::Field::guest_cr3)))
        return false;
    vmx::write(vmx::Field::guest_efer, efer);
    vmx::write(vmx::Field::entry_controls, entry);
    v.long_mode = entry & vmx::entry_ia32e_guest;
    vmx::write(vmx::Field::cr0_read_shadow, value);
    vmx::write(vmx::Field::guest_cr0, value | cr0_ne);
    return true;
}

bool write_cr4(Vcpu& v, uint64_t value)
{
    const auto& caps = vmx::capabilities();
    if (value & cpu::cr4_vmxe) return false;   // no nested VMX
    const uint64_t hw = value | cpu::cr4_vmxe;
    if ((hw & ~caps.cr4_fixed1) || (hw & caps.cr4_fixed0) != caps.cr4_fixed0) return false;
    // Only VMXE exits today, and it is refused above; kept so that owning
    // another CR4 bit cannot forget the PDPTEs.
    const uint64_t cr0 = vmx::read(vmx::Field::guest_cr0);
    if (pae::cr_write_loads(cr0, vmx::read(vmx::Field::guest_cr4), cr0, value, vmx::read(vmx::Field::guest_efer)) &&
        !guest::load_pdptes(v, vmx::read(vmx::Field::guest_cr3)))
        return false;
    vmx::write(vmx::Field::cr4_read_shadow, value);
    vmx::write(vmx::Field::guest_cr4, hw);
    return true;
}

} // namespace

void cr_access(Vcpu& v)
{
    // Exit qualification for control-register accesses (SDM Vol 3C Table 28-3).
    const uint64_t q = vmx::read(vmx::Field::exit_qualification);
    const uint32_t cr = q & 15;
    const uint32_t type = (q >> 4) & 3;   // 0 MOV to CR, 1 MOV from CR
    const uint32_t reg = (q >> 8) & 15;
    bool ok = true;
    if (type == 0) {
        const uint64_t value = guest::read_gpr(v, reg);
        switch (cr) {
        case 0: ok = write_cr0(v, value); break;
        case 4: ok = write_cr4(v, value); break;
        // CPUs without the TRUE controls cannot turn CR3 exits off. In PAE
        // paging the MOV loads the PDPTEs from the new table (SDM Vol 3A 4.4.1).
        case 3:
            ok = !pae::paging(vmx::read(vmx::Field::guest_cr0), vmx::read(vmx::Field::guest_cr4),
                              vmx::read(vmx::Field::guest_efer)) ||
                 guest::load_pdptes(v, value);
            if (ok) {
                vmx::write(vmx::Field::guest_cr3, value);
                vmx::invvpid_single(v.vpid);   // as the MOV itself would, drop the old translations
            }
            break;
        // CR8 exits keep the guest away from the real TPR: it is the vLAPIC's TPR[7:4].
        case 8: ok = (value >> 4) == 0; if (ok) vlapic::write_cr8(v, value); break;
        default: ok = false;
        }
    } else if (type == 1 && (cr == 3 || cr == 8)) {
        guest::write_gpr(v, reg, cr == 3 ? vmx::read(vmx::Field::guest_cr3) : vlapic::read_cr8(v));
    } else {
        domains::crash(*v.domain, "unexpected CR access exit (qualification 0x%lx)", q);
        return;
    }
    if (!ok) {
        guest::inject_gp();
        return;
    }
    guest::skip_instruction();
}

} // namespace menhir::exit
