#include "vmm/guest_memory.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/domain.hpp"
#include "vmm/guest_paging.hpp"

namespace menhir::guest {
namespace {

// Page-table entries are read through the domain's EPT, like the CPU does.
struct EptReader {
    Domain* d;
    bool operator()(uint64_t gpa, uint64_t& value, size_t bytes) const
    {
        value = 0;
        return d->read_phys(gpa, &value, bytes);
    }
};

template <typename Copy>
bool copy(Vcpu& v, uint64_t linear, size_t len, Access access, bool through_grants, Copy&& fn)
{
    const uint64_t cr0 = vmx::read(vmx::Field::guest_cr0);
    const uint64_t cr3 = vmx::read(vmx::Field::guest_cr3);
    const uint64_t cr4 = vmx::read(vmx::Field::guest_cr4);
    const PagingMode mode = paging_mode(cr0, cr4, vmx::read(vmx::Field::guest_efer));
    const EptReader reader{v.domain};
    // The whole copy under the domain's p2m lock: another vCPU's
    // remove_from_physmap cannot free a frame between its translation and
    // the copy. Nothing here allocates or takes another lock.
    SpinGuard g{v.domain->p2m_lock};
    size_t done = 0;
    while (done < len) {
        const Translation t = translate(mode, cr0, cr3, cr4, linear + done, access, reader);
        if (!t.ok) return false;
        // Not through a grant mapping, as Xen's __hvm_copy refuses one
        // (HVMTRANS_unhandleable): hypercall arguments live in the
        // caller's own memory, not in a page another domain may revoke.
        // An emulated instruction's access goes wherever the CPU's would
        // (a grant unmap takes the p2m lock held here, so the frame stays).
        const auto e = v.domain->ept().translate(GuestPhys{t.gpa});
        if (!e || !e->flags.read || (access == Access::write && !e->flags.write) || (e->flags.grant && !through_grants))
            return false;
        const uint64_t contiguous = e->page_size - (t.gpa & (e->page_size - 1));
        const HostPhys hpa = e->phys;
        uint64_t chunk = t.page_bytes_left < contiguous ? t.page_bytes_left : contiguous;
        if (chunk > len - done) chunk = len - done;
        fn(phys_to_virt<uint8_t>(hpa), done, chunk);
        done += chunk;
    }
    return true;
}

bool read(Vcpu& v, uint64_t linear, void* dst, size_t len, bool through_grants)
{
    return copy(v, linear, len, Access::read, through_grants, [dst](const uint8_t* host, size_t off, size_t n) {
        __builtin_memcpy(static_cast<uint8_t*>(dst) + off, host, n);
    });
}

bool write(Vcpu& v, uint64_t linear, const void* src, size_t len, bool through_grants)
{
    return copy(v, linear, len, Access::write, through_grants, [src](uint8_t* host, size_t off, size_t n) {
        __builtin_memcpy(host, static_cast<const uint8_t*>(src) + off, n);
    });
}

} // namespace

bool copy_from(Vcpu& v, uint64_t linear, void* dst, size_t len) { return read(v, linear, dst, len, false); }
bool copy_to(Vcpu& v, uint64_t linear, const void* src, size_t len) { return write(v, linear, src, len, false); }
bool emulated_read(Vcpu& v, uint64_t linear, void* dst, size_t len) { return read(v, linear, dst, len, true); }
bool emulated_write(Vcpu& v, uint64_t linear, const void* src, size_t len) { return write(v, linear, src, len, true); }

bool writable_gpa(Vcpu& v, uint64_t linear, uint64_t& gpa)
{
    const uint64_t cr0 = vmx::read(vmx::Field::guest_cr0);
    const uint64_t cr4 = vmx::read(vmx::Field::guest_cr4);
    const PagingMode mode = paging_mode(cr0, cr4, vmx::read(vmx::Field::guest_efer));
    SpinGuard g{v.domain->p2m_lock};
    const Translation t =
        translate(mode, cr0, vmx::read(vmx::Field::guest_cr3), cr4, linear, Access::write, EptReader{v.domain});
    gpa = t.gpa;
    return t.ok;
}

} // namespace menhir::guest
