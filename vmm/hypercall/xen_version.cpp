// xen_version: the version Menhir speaks (a subset of Xen 4.17's ABI) and
// the strings guests ask for, NUL-padded to their fixed sizes.
#include "kernel/lib/format.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir {
const char* boot_command_line();   // kernel/main.cpp
}

namespace menhir::hypercall {
namespace {

int64_t put_string(Vcpu& v, uint64_t buffer, const char* text, size_t size)
{
    char out[xen::xen_capabilities_len];
    __builtin_memset(out, 0, size);
    format(out, size, "%s", text);
    return guest::copy_to(v, buffer, out, size) ? 0 : xen::err::efault;
}

} // namespace

int64_t xen_version(Vcpu& v, Args& args)
{
    const uint64_t cmd = args[0];
    const uint64_t buffer = args[1];
    switch (cmd) {
    case xen::xenver_version:
        return (xen::version_major << 16) | xen::version_minor;
    case xen::xenver_extraversion:
        return put_string(v, buffer, ".0-menhir", xen::xen_extraversion_len);
    case xen::xenver_capabilities:
        return put_string(v, buffer, "hvm-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p", xen::xen_capabilities_len);
    case xen::xenver_changeset:
        return put_string(v, buffer, "menhir", xen::xen_changeset_len);
    case xen::xenver_compile_info: {
        // struct xen_compile_info: compiler[64], compile_by[16], compile_domain[32], compile_date[32].
        char info[144];
        __builtin_memset(info, 0, sizeof info);
        format(info, 64, "g++ %s", __VERSION__);
        format(info + 64, 16, "menhir");
        format(info + 112, 32, "%s", __DATE__);
        return guest::copy_to(v, buffer, info, sizeof info) ? 0 : xen::err::efault;
    }
    case xen::xenver_platform_parameters: {
        // struct xen_platform_parameters { unsigned long virt_start; }: the
        // start of the hypervisor's reserved range, meaningless for PVH.
        const uint64_t start = args.is64 ? 0xffff800000000000ull : 0xf5800000ull;
        return guest::copy_to(v, buffer, &start, args.is64 ? 8 : 4) ? 0 : xen::err::efault;
    }
    case xen::xenver_get_features: {
        xen::FeatureInfo fi{};
        if (!guest::copy_from(v, buffer, &fi, sizeof fi)) return xen::err::efault;
        if (fi.submap_idx != 0) return xen::err::einval;
        // What Xen reports for HVM-type guests: events arrive through a
        // vector, and pvclock is safe to use.
        fi.submap = (1u << xen::xenfeat_writable_page_tables) | (1u << xen::xenfeat_auto_translated_physmap) |
                    (1u << xen::xenfeat_hvm_callback_vector) | (1u << xen::xenfeat_hvm_safe_pvclock) |
                    (v.domain->privileged ? 1u << xen::xenfeat_dom0 : 0);
        return guest::copy_to(v, buffer, &fi, sizeof fi) ? 0 : xen::err::efault;
    }
    case xen::xenver_pagesize:
        return 4096;
    case xen::xenver_guest_handle: {
        uint8_t handle[16]{};
        return guest::copy_to(v, buffer, handle, sizeof handle) ? 0 : xen::err::efault;
    }
    case xen::xenver_commandline:
        // Privileged information in Xen's default policy: xen_commandline_t, 1024 bytes.
        if (!v.domain->privileged) return xen::err::eperm;
        return put_string(v, buffer, boot_command_line(), xen::xen_capabilities_len);
    case xen::xenver_build_id:
        // Privileged information in Xen's default policy.
        return v.domain->privileged ? xen::err::enosys : xen::err::eperm;
    default:
        return xen::err::enosys;
    }
}

} // namespace menhir::hypercall
