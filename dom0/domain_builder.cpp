// dom0's PVH domain builder: see domain_builder.hpp. The kernel and boot-data
// layout are the hypervisor's own pure code (vmm/elf_image, vmm/pvh_start_info),
// so a domain dom0 builds looks exactly like a boot-time domU.
#include "domain_builder.hpp"

#include "foreign_window.hpp"
#include "xl/hypervisor.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "vmm/abi/menhir.hpp"
#include "vmm/abi/xen_console.hpp"
#include "vmm/acpi_tables.hpp"
#include "vmm/elf_image.hpp"
#include "vmm/pvh_start_info.hpp"
#include "domctl.hpp"

using namespace guest;
namespace abi = menhir::abi;

namespace dom0 {
namespace {

constexpr uint64_t PAGE = 4096;

// A printf into `why` (the runtime's formatter, bounded).
void say(char* why, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
void say(char* why, size_t size, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    (void)vformat(why, size, fmt, ap);
    va_end(ap);
}

long populate_special(uint16_t domid, uint64_t gfn) {
    unsigned long g = gfn;
    xen::xen_memory_reservation r{};
    r.extent_start = reinterpret_cast<uintptr_t>(&g);
    r.nr_extents = 1;
    r.extent_order = 0;
    r.domid = domid;
    return memory_op(xen::XENMEM_populate_physmap, &r);   // extents done: 1
}

long set_param(uint16_t domid, uint32_t index, uint64_t value) {
    xen::xen_hvm_param p{domid, 0, index, value};
    return hvm_op(xen::HVMOP_set_param, &p);
}

// One special page and its unbound port for dom0, as Xen's toolstack sets
// them up (alloc_magic_pages, xc_evtchn_alloc_unbound, HVM params).
const char* special_ring(uint16_t domid, uint64_t gfn, uint32_t pfn_param, uint32_t evtchn_param, uint32_t* port) {
    if (populate_special(domid, gfn) != 1) return "populating a console or xenstore page failed";
    xen::evtchn_alloc_unbound a{domid, 0, 0};   // in the new domain, for dom0
    if (event_channel_op(xen::EVTCHNOP_alloc_unbound, &a) != 0)
        return "allocating a console or xenstore event channel failed";
    *port = a.port;
    if (set_param(domid, pfn_param, gfn) != 0 || set_param(domid, evtchn_param, *port) != 0)
        return "setting its HVM parameters failed";
    return nullptr;
}

}  // namespace

long unpause_domain(uint16_t domid) {
    abi::Domctl d = domctl_op(abi::DomctlCmd::unpause, domid);
    return domctl(&d);
}

long destroy_domain(uint16_t domid) {
    abi::Domctl d = domctl_op(abi::DomctlCmd::destroy, domid);
    const long rc = domctl(&d);
    if (rc != 0) return rc;
    // As libxl, return once it is gone: it is listed (dying) until none of
    // its vCPUs is loaded any more (a few scheduler rounds) and nothing maps
    // its memory, so what follows sees its memory back and the hypervisor's
    // line about it comes first. A domain something still maps stays
    // listed: the wait is bounded.
    for (int tries = 0; tries < 20000 && xl::hv::listed(domid); ++tries) sched_yield();
    return 0;
}

bool build_domain(const xl::DomainConfig& cfg, Blob kernel, Blob ramdisk, BuiltDomain& out, char* why,
                  size_t why_size) {
    out = BuiltDomain{};
    menhir::elf::Image image;
    const menhir::elf::Error ee = menhir::elf::parse(kernel.data, kernel.size, image);
    if (ee != menhir::elf::Error::none) {
        say(why, why_size, "kernel %s: %s", cfg.kernel, menhir::elf::to_string(ee));
        return false;
    }
    abi::Domctl d = domctl_op(abi::DomctlCmd::create, 0);
    const size_t name_len = str_len(cfg.name);
    if (name_len == 0 || name_len >= sizeof d.u.create.name) {
        say(why, why_size, "name '%s': 1 to %zu characters", cfg.name, sizeof d.u.create.name - 1);
        return false;
    }
    const uint64_t memory = static_cast<uint64_t>(cfg.memory_mib) << 20;
    menhir::pvh::BootInput in{};
    in.memory_bytes = memory;
    in.special_base = menhir::xen::special_first_gfn * PAGE;
    in.special_bytes = menhir::xen::special_pages * PAGE;
    in.kernel_end = image.highest;
    // ACPI tables as the hypervisor gives its boot-time domUs (and Xen's
    // toolstack its PVH guests); create_acpi_tables tells the hypervisor,
    // whose XENMEM_memory_map then marks their page too.
    in.acpi_vcpus = cfg.vcpus;
    in.acpi_madt = menhir::acpi_tables::domu_madt;
    in.cmdline = cfg.cmdline;
    if (ramdisk.data) {
        in.module_count = 1;
        in.modules[0] = menhir::pvh::ModuleInput{ramdisk.data, ramdisk.size, nullptr};
    }
    if (memory > in.special_base) {
        say(why, why_size, "memory %u MiB: at most %llu MiB (RAM ends below Xen's special pages)", cfg.memory_mib,
            static_cast<unsigned long long>(in.special_base >> 20));
        return false;
    }
    if (image.lowest < PAGE) {
        say(why, why_size, "kernel %s loads at 0x%llx, in page 0", cfg.kernel,
            static_cast<unsigned long long>(image.lowest));
        return false;
    }
    menhir::pvh::Layout layout;
    const menhir::pvh::Error pe = menhir::pvh::plan(in, layout);
    if (pe != menhir::pvh::Error::none) {
        say(why, why_size, "%s (memory %u MiB)", menhir::pvh::to_string(pe), cfg.memory_mib);
        return false;
    }

    d.u.create.memory_kb = memory / 1024;
    d.u.create.vcpus = cfg.vcpus;
    d.u.create.weight = cfg.cpu_weight;
    d.u.create.cap = cfg.cap;
    d.u.create.flags = abi::create_acpi_tables;
    __builtin_memcpy(d.u.create.name, cfg.name, name_len + 1);
    long rc = domctl(&d);
    if (rc != 0) {
        say(why, why_size, "creating the domain (%u MiB, %u vCPUs) failed: error %ld", cfg.memory_mib, cfg.vcpus,
            rc);
        return false;
    }
    const uint16_t id = d.domain;
    // From here every failure destroys the domain, which gives back every
    // frame it got (RAM, special pages, ports): free memory is where it was.
    auto fail = [&](const char* what, long err) {
        if (err != 0)
            say(why, why_size, "%s: error %ld", what, err);
        else
            say(why, why_size, "%s", what);
        (void)destroy_domain(id);
        return false;
    };
    // xl.cfg's `cpus`: each vCPU's hard affinity (all CPUs when not given).
    for (uint32_t v = 0; v < cfg.vcpus; ++v) {
        const uint64_t mask = v < cfg.nr_vcpu_cpus ? cfg.vcpu_cpus[v] : cfg.cpus_mask;
        if (mask == ~0ull) continue;
        abi::Domctl a = domctl_op(abi::DomctlCmd::set_vcpu_affinity, id);
        a.u.affinity.vcpu = v;
        a.u.affinity.flags = abi::affinity_set_hard;
        a.u.affinity.hard = mask;
        if ((rc = domctl(&a)) != 0) return fail("cpus: the hypervisor refused the vCPU affinity", rc);
    }
    d = domctl_op(abi::DomctlCmd::populate, id);
    if ((rc = domctl(&d)) != 0) return fail("allocating its RAM failed (not enough free memory?)", rc);
    if (const char* e = special_ring(id, menhir::xen::special_console_gfn, xen::HVM_PARAM_CONSOLE_PFN,
                                     xen::HVM_PARAM_CONSOLE_EVTCHN, &out.console_port))
        return fail(e, 0);
    if (const char* e = special_ring(id, menhir::xen::special_xenstore_gfn, xen::HVM_PARAM_STORE_PFN,
                                     xen::HVM_PARAM_STORE_EVTCHN, &out.store_port))
        return fail(e, 0);
    {
        ForeignWindow w(id, memory / PAGE);
        if (!menhir::elf::load(image, kernel.data, ForeignWindow::write_fn, &w) ||
            !menhir::pvh::write(in, layout, ForeignWindow::write_fn, &w) || !w.close())
            return fail(w.error(), 0);
    }
    d = domctl_op(abi::DomctlCmd::set_vcpu_context, id);
    d.u.vcpu.vcpu = 0;
    d.u.vcpu.entry = image.pvh_entry;
    d.u.vcpu.ebx = static_cast<uint32_t>(layout.start_info);
    if ((rc = domctl(&d)) != 0) return fail("setting vCPU 0's start state failed", rc);

    out.domid = id;
    out.entry = image.pvh_entry;
    out.start_info = layout.start_info;
    out.segments = static_cast<unsigned>(image.segment_count);
    out.console_gfn = menhir::xen::special_console_gfn;
    out.store_gfn = menhir::xen::special_xenstore_gfn;
    return true;
}

}  // namespace dom0
