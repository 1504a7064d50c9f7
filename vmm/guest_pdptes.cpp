// Guest PDPTEs from guest memory into the VMCS (see guest_pdptes.hpp).
#include "vmm/guest_pdptes.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "vmm/domain.hpp"
#include "vmm/pae_pdptes.hpp"

namespace menhir::guest {
namespace {

// The guest sees the host's physical-address width (CPUID 0x80000008 passes through).
uint32_t maxphyaddr()
{
    const auto max = cpu::cpuid(0x80000000, 0).eax;
    return max >= 0x80000008 ? (cpu::cpuid(0x80000008, 0).eax & 0xff) : 36;
}

} // namespace

bool load_pdptes(Vcpu& v, uint64_t cr3)
{
    uint64_t pdpte[4] = {};
    if (!v.domain->read_phys(pae::table_address(cr3), pdpte, sizeof pdpte)) return false;
    const uint32_t width = maxphyaddr();
    for (uint64_t e : pdpte)
        if (!pae::valid(e, width)) return false;
    vmx::write(vmx::Field::guest_pdpte0, pdpte[0]);
    vmx::write(vmx::Field::guest_pdpte1, pdpte[1]);
    vmx::write(vmx::Field::guest_pdpte2, pdpte[2]);
    vmx::write(vmx::Field::guest_pdpte3, pdpte[3]);
    return true;
}

} // namespace menhir::guest
