// Guest PDPTEs from guest memory into the VMCS (see guest_pdptes.hpp).
#include "vmm/guest_pdptes.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "vmm/domain.hpp"
#include "vmm/pae_pdptes.hpp"

namespace menhir::guest {

bool load_pdptes(Vcpu& v, uint64_t cr3)
{
    uint64_t pdpte[4] = {};
    if (!v.domain->read_phys(pae::table_address(cr3), pdpte, sizeof pdpte)) return false;
    const uint32_t width = cpu::phys_addr_bits();
    for (uint64_t e : pdpte)
        if (!pae::valid(e, width)) return false;
    vmx::write(vmx::Field::guest_pdpte0, pdpte[0]);
    vmx::write(vmx::Field::guest_pdpte1, pdpte[1]);
    vmx::write(vmx::Field::guest_pdpte2, pdpte[2]);
    vmx::write(vmx::Field::guest_pdpte3, pdpte[3]);
    return true;
}

} // namespace menhir::guest
