#include "vmm/domain_builder.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "kernel/cmdline.hpp"
#include "kernel/console.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/sched/scheduler.hpp"
#include "vmm/abi/xen_console.hpp"
#include "vmm/acpi_tables.hpp"
#include "vmm/vlapic.hpp"
#include "vmm/console_rings.hpp"
#include "vmm/store_pages.hpp"
#include "vmm/elf_image.hpp"
#include "vmm/events.hpp"
#include "vmm/guest_pdptes.hpp"
#include "vmm/pae_pdptes.hpp"
#include "vmm/pirq.hpp"
#include "vmm/vcpu_timer.hpp"

namespace menhir::builder {
namespace {

bool write_guest(void* ctx, uint64_t gpa, const void* src, size_t len)
{
    return static_cast<Domain*>(ctx)->write_phys(gpa, src, len);
}

// A fresh VMCS is prepared while another may be current on this CPU (dom0's,
// when the toolstack builds a domain): put that one back afterwards.
class VmcsScope final {
public:
    explicit VmcsScope(HostPhys vmcs) : vmcs_{vmcs}, previous_{vmx::current_vmcs()}
    {
        auto* region = phys_to_virt<uint32_t>(vmcs);
        __builtin_memset(region, 0, page_size);
        region[0] = vmx::capabilities().revision;
        ok_ = vmx::vmclear(vmcs) && vmx::vmptrld(vmcs);
    }
    ~VmcsScope()
    {
        (void)vmx::vmclear(vmcs_);
        if (previous_ != ~0ull) (void)vmx::vmptrld(HostPhys{previous_});
    }
    VmcsScope(const VmcsScope&) = delete;
    VmcsScope& operator=(const VmcsScope&) = delete;
    [[nodiscard]] bool ok() const { return ok_; }

private:
    HostPhys vmcs_;
    uint64_t previous_{~0ull};
    bool ok_{false};
};

} // namespace

bool start_vcpu(Vcpu& v, vmx::GuestStart start)
{
    VmcsScope scope{v.vmcs};
    if (!scope.ok()) return false;
    start.eptp = v.domain->eptp;
    start.vpid = v.vpid;
    start.host_rsp = reinterpret_cast<uint64_t>(&v.ctx.regs) + sizeof(GuestRegs);
    vmx::setup(start);
    vlapic::configure(v);   // a vCPU restarted after INIT keeps its APIC's mode
    vmx::write(vmx::Field::tsc_offset, v.tsc.offset);   // a restarted vCPU keeps its TSC
    // A vCPU started in PAE paging (VCPUOP_initialise, 32-bit form) enters
    // with the PDPTEs of its CR3, as if it had turned paging on itself.
    if (pae::paging(start.cr0, start.cr4, start.efer) && !guest::load_pdptes(v, start.cr3)) return false;
    v.long_mode = start.efer & (1u << 10);
    v.host_cpu = this_cpu().index;
    v.ctx.launched = 0;
    return true;
}

namespace {

} // namespace

Domain* build_pvh(uint16_t id, const DomainConfig& config, const Kernel& k)
{
    elf::Image image;
    const auto err = elf::parse(k.image, k.size, image);
    if (err != elf::Error::none) {
        info("cannot build domain %u (%s): %s", id, config.name, elf::to_string(err));
        return nullptr;
    }
    pvh::BootInput in{};
    in.memory_bytes = align_up(config.memory_bytes, page_size);
    in.kernel_end = image.highest;
    // A domU's memory map marks Xen's HVM special pages reserved, as Xen's
    // PVH toolstack does; its console ring lives there (vmm/console_rings).
    const bool special_pages = id != 0 && in.memory_bytes <= xen::special_first_gfn * page_size;
    if (special_pages) {
        in.special_base = xen::special_first_gfn * page_size;
        in.special_bytes = xen::special_pages * page_size;
    }
    // Every domU gets ACPI tables, as Xen's toolstack gives PVH guests
    // (vmm/acpi_tables); dom0 has the machine's own.
    if (id != 0) {
        in.acpi_vcpus = config.vcpus;
        in.acpi_madt = acpi_tables::domu_madt;
    }
    in.cmdline = k.cmdline;
    in.module_count = k.module_count;
    for (size_t i = 0; i < k.module_count && i < pvh::max_modules; ++i) in.modules[i] = k.modules[i];
    pvh::Layout layout{};
    const auto perr = pvh::plan(in, layout);
    if (perr != pvh::Error::none) {
        info("cannot build domain %u (%s): %s", id, config.name, pvh::to_string(perr));
        return nullptr;
    }
    const char* why = nullptr;
    Domain* d = domains::create(id, config, &why);
    if (!d) {
        info("cannot build domain %u (%s): %s", id, config.name, why);
        return nullptr;
    }
    d->acpi_tables = in.acpi_vcpus != 0;
    bool ok = elf::load(image, k.image, write_guest, d) && pvh::write(in, layout, write_guest, d);
    if (ok && id != 0 && !console_rings::attach(*d))
        info("domain %u (%s): no console ring; it has console_io only", id, config.name);
    if (ok && id != 0 && !store_pages::attach(*d))
        info("domain %u (%s): no xenstore page", id, config.name);
    if (ok) {
        Vcpu& v = *d->vcpus[0];
        v.ctx.regs.rbx = layout.start_info;
        ok = start_vcpu(v, vmx::pvh_start(image.pvh_entry));
    }
    if (!ok) {
        info("cannot build domain %u (%s): out of memory or bad image layout", id, config.name);
        d->state = DomainState::dying;
        domains::reap(*d);
        return nullptr;
    }
    d->state = DomainState::running;
    d->vcpus[0]->up = true;
    d->vcpus[0]->initialised = true;
    scheduler::wake(*d->vcpus[0]);
    info("domain %u (%s): %lu MiB, %u vCPU%s, weight %u, entry 0x%x, %s kernel", id, d->name,
         d->memory_bytes >> 20, d->vcpu_count, d->vcpu_count == 1 ? "" : "s", d->account.weight, image.pvh_entry,
         image.is64 ? "ELF64" : "ELF32");
    return d;
}

namespace {

bool starts_with_domain(const char* s)
{
    return s && __builtin_strncmp(s, "domain", 6) == 0 && (s[6] == '\0' || s[6] == ' ');
}

const uint8_t* module_bytes(const mb2::Module& m) { return phys_to_virt<const uint8_t>(m.start); }
size_t module_size(const mb2::Module& m) { return static_cast<size_t>(m.end.value() - m.start.value()); }

// "domain name=NAME memory=MIB vcpus=N [weight=W] [cap=C] [cmdline=...]"
struct DomainLine {
    DomainConfig config{"", 0, 1, sched::default_weight, 0, false};
    const char* cmdline{nullptr};
};

bool parse_number(const char* text, uint64_t max, uint64_t& out)
{
    auto v = cmdline::parse_uint(text);
    if (!v || *v == 0 || *v > max) return false;
    out = *v;
    return true;
}

const char* parse_domain_line(const cmdline::Words& w, DomainLine& line)
{
    bool have_name = false, have_memory = false;
    for (size_t i = 1; i < w.count; ++i) {
        const char* word = w.word[i];
        const char* eq = __builtin_strchr(word, '=');
        if (!eq) return "expected key=value";
        const size_t key_len = static_cast<size_t>(eq - word);
        const char* value = eq + 1;
        auto key_is = [&](const char* k) { return __builtin_strlen(k) == key_len && __builtin_strncmp(word, k, key_len) == 0; };
        uint64_t n = 0;
        if (key_is("name")) {
            if (!*value || __builtin_strlen(value) >= domain_name_max) return "name must be 1-31 characters";
            line.config.name = value;
            have_name = true;
        } else if (key_is("memory")) {
            if (!parse_number(value, 1u << 20, n)) return "memory must be a number of MiB";
            line.config.memory_bytes = n << 20;
            have_memory = true;
        } else if (key_is("vcpus")) {
            if (!parse_number(value, max_vcpus_per_domain, n)) return "vcpus must be 1-8";
            line.config.vcpus = static_cast<uint32_t>(n);
        } else if (key_is("weight")) {
            if (!parse_number(value, 65535, n)) return "weight must be 1-65535";
            line.config.weight = static_cast<uint32_t>(n);
        } else if (key_is("cap")) {
            auto c = cmdline::parse_uint(value);
            if (!c || *c > 100u * max_cpus) return "cap must be a percentage";
            line.config.cap = static_cast<uint32_t>(*c);
        } else if (key_is("cmdline")) {
            line.cmdline = value;
        } else {
            return "unknown key";
        }
    }
    if (!have_name) return "name= is missing";
    if (!have_memory) return "memory= is missing";
    return nullptr;
}

cmdline::Words words;   // boot is single-threaded; too big for the stack

bool is_ramdisk(const char* s)
{
    return s && __builtin_strncmp(s, "ramdisk", 7) == 0 && s[7] == '\0';
}

} // namespace

void start_boot_domains(const mb2::BootInfo& boot, uint64_t dom0_mem)
{
    size_t first_domu = 0;
    if (boot.module_count > 0 && !starts_with_domain(boot.modules[0].cmdline)) {
        Kernel k{module_bytes(boot.modules[0]), module_size(boot.modules[0]), boot.modules[0].cmdline, 0, {}};
        first_domu = 1;
        if (boot.module_count > 1 && !starts_with_domain(boot.modules[1].cmdline)) {
            k.module_count = 1;
            k.modules[0] = pvh::ModuleInput{module_bytes(boot.modules[1]), module_size(boot.modules[1]),
                                            boot.modules[1].cmdline};
            first_domu = 2;
        }
        const DomainConfig dom0{"Domain-0", dom0_mem ? dom0_mem : (64ull << 20), 1, sched::default_weight, 0, true};
        if (Domain* d0 = build_pvh(0, dom0, k)) {
            // dom0 drives the disk controllers (ATA: ports and IRQs 14, 15).
            (void)d0->allow_ports(0x1f0, 8, true);
            (void)d0->allow_ports(0x3f6, 1, true);
            (void)d0->allow_ports(0x170, 8, true);
            (void)d0->allow_ports(0x376, 1, true);
            (void)pirq::permit(*d0, 14, true);
            (void)pirq::permit(*d0, 15, true);
            // The first 2 MiB above its RAM is where dom0's runtime maps
            // shared_info, grant frames and foreign pages (alloc_unused_gfn):
            // its EPT table is made now, so dom0's shell and back ends taking
            // it into use cost no frame after the accounting line below.
            (void)d0->prepare_map_window(align_up(d0->memory_bytes, 2ull << 20));
            console::set_input_listener([] {
                if (Domain* d = domains::get(0)) events::raise_virq(*d, xen::virq_console);
            });
        } else {
            info("dom0 was not started");
        }
    } else {
        info("no dom0 kernel among the modules: running the boot-time domains only");
    }

    // Serial input reaches the domUs whose console rings the hypervisor serves.
    console::set_guest_input(console::GuestInput{console_rings::served_ids, console_rings::input});

    // The integration tests compare this with the count after every domU died.
    info("frames free before the boot-time domUs: %lu", memory::stats().free_frames);
    uint16_t next_id = 1;
    for (size_t i = first_domu; i < boot.module_count; ++i) {
        const mb2::Module& m = boot.modules[i];
        if (!starts_with_domain(m.cmdline)) {
            // A ramdisk module belongs to the domain module before it (taken there).
            info("module %zu ignored: its command line does not start with 'domain'%s", i + 1,
                 is_ramdisk(m.cmdline) ? " (a ramdisk goes right after its domain's module)" : "");
            continue;
        }
        const uint16_t id = next_id++;
        DomainLine line;
        const auto serr = cmdline::split(m.cmdline, words);
        const char* problem = serr != cmdline::SplitError::none ? cmdline::to_string(serr) : parse_domain_line(words, line);
        if (problem) {
            info("module %zu: bad domain line (%s): domain %u skipped", i + 1, problem, id);
            continue;
        }
        Kernel k{module_bytes(m), module_size(m), line.cmdline, 0, {}};
        // `ramdisk` as the next module's whole command line: this domain's
        // initrd, start_info module 0 (as xl.cfg's ramdisk=).
        if (i + 1 < boot.module_count && is_ramdisk(boot.modules[i + 1].cmdline)) {
            const mb2::Module& r = boot.modules[++i];
            k.module_count = 1;
            k.modules[0] = pvh::ModuleInput{module_bytes(r), module_size(r), nullptr};
        }
        (void)build_pvh(id, line.config, k);
    }
}

} // namespace menhir::builder
