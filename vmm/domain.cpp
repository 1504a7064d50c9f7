#include "vmm/domain.hpp"
#include "arch/x86/fpu.hpp"
#include "arch/x86/percpu.hpp"
#include "arch/x86/power.hpp"
#include "arch/x86/vmx/vmcs.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "kernel/console.hpp"
#include "kernel/console_share.hpp"
#include "kernel/lib/format.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/mm/memory.hpp"
#include "kernel/sched/scheduler.hpp"
#include "vmm/abi/xen_console.hpp"
#include "vmm/console_rings.hpp"
#include "vmm/events.hpp"
#include "arch/x86/cpu.hpp"
#include "kernel/mm/frame_refs.hpp"
#include "vmm/grants.hpp"
#include "vmm/pirq.hpp"
#include "vmm/runstate.hpp"
#include "vmm/vcpu_timer.hpp"
#include "vmm/vlapic.hpp"
#include <cstdarg>
#include <new>

namespace menhir {

Optional<HostPhys> EptMemory::alloc_table()
{
    if (tables >= max_tables) return {};
    auto f = memory::alloc_frames(1);
    if (!f) return {};
    __builtin_memset(phys_to_virt(*f), 0, page_size);
    ++tables;
    return f;
}

uint64_t* EptMemory::table(HostPhys p) { return phys_to_virt<uint64_t>(p); }

const char* to_string(DomainState s)
{
    switch (s) {
    case DomainState::running: return "running";
    case DomainState::paused: return "paused";
    case DomainState::shutdown: return "shutdown";
    case DomainState::crashed: return "crashed";
    case DomainState::dying: return "dying";
    }
    return "?";
}

const char* to_string(xen::ShutdownReason r)
{
    switch (r) {
    case xen::ShutdownReason::poweroff: return "poweroff";
    case xen::ShutdownReason::reboot: return "reboot";
    case xen::ShutdownReason::suspend: return "suspend";
    case xen::ShutdownReason::crash: return "crash";
    case xen::ShutdownReason::watchdog: return "watchdog";
    }
    return "unknown";
}

namespace domains {
Domain* table[max_domains];
} // namespace domains

namespace {

uint64_t generations;   // Domain::generation of the last domain created
uint32_t last_id;       // the id of the last domain created
uint32_t top_id = max_domains - 1;   // domains::max_id
Spinlock vpid_lock;
uint64_t vpid_used[64];   // 4096 VPIDs; VPID 0 is the host's (SDM Vol 3C 29.1)

uint16_t alloc_vpid()
{
    SpinGuard g{vpid_lock};
    for (uint32_t i = 1; i < 4096; ++i) {
        if (!(vpid_used[i / 64] & (1ull << (i % 64)))) {
            vpid_used[i / 64] |= 1ull << (i % 64);
            return static_cast<uint16_t>(i);
        }
    }
    return 0;
}

void free_vpid(uint16_t v)
{
    SpinGuard g{vpid_lock};
    vpid_used[v / 64] &= ~(1ull << (v % 64));
}

// Guest RAM [0, bytes): 2 MiB frames where the allocator has them (one EPT
// leaf each), 4 KiB frames for the rest. `scrub`: zero them first, so no
// domain sees what an earlier one left.
bool populate_ram(Domain& d, uint64_t bytes, bool scrub)
{
    Ept ept = d.ept();
    for (uint64_t gpa = 0; gpa < bytes;) {
        if (bytes - gpa >= large_page) {
            if (auto big = memory::alloc_frames(large_page / page_size, large_page / page_size)) {
                if (ept.map(GuestPhys{gpa}, *big, large_page, ept::ram, true, false) != paging::MapError::none) {
                    (void)memory::free_frames(*big, large_page / page_size);
                    return false;
                }
                if (scrub) __builtin_memset(phys_to_virt(*big), 0, large_page);
                gpa += large_page;
                continue;
            }
        }
        auto f = memory::alloc_frames(1);
        if (!f) return false;
        if (ept.map(GuestPhys{gpa}, *f, page_size, ept::ram, false, false) != paging::MapError::none) {
            (void)memory::free_frames(*f, 1);
            return false;
        }
        if (scrub) __builtin_memset(phys_to_virt(*f), 0, page_size);
        gpa += page_size;
    }
    return true;
}

void release_memory(Domain& d)
{
    if (d.ept_root.value() == 0) return;
    ept::destroy(d.ept_tables, d.ept_root, paging::levels - 1,
                 [](HostPhys frame, uint64_t bytes, const ept::Flags& f) {
                     // Its own RAM is released (frames others still map stay
                     // until they unmap); what it mapped of others is put.
                     for (uint64_t off = 0; off < bytes; off += page_size) {
                         if (f.owned)
                             frame_refs::release(frame + off);
                         else
                             frame_refs::put(frame + off);
                     }
                 },
                 [](HostPhys t) { (void)memory::free_frames(t, 1); });
    d.ept_root = HostPhys{0};
}

// Objects live in whole frames, not the heap, so that a dead domain gives
// back exactly the frames it took.
template <typename T>
constexpr size_t frames_for() { return (sizeof(T) + page_size - 1) / page_size; }

template <typename T>
T* new_in_frames()
{
    auto f = memory::alloc_frames(frames_for<T>());
    if (!f) return nullptr;
    void* p = phys_to_virt(*f);
    __builtin_memset(p, 0, frames_for<T>() * page_size);
    return new (p) T{};
}

template <typename T>
void delete_in_frames(T* p)
{
    (void)memory::free_frames(virt_to_phys(p), frames_for<T>());
}

void vcpu_timer_stop_all(Domain& d)
{
    for (uint32_t i = 0; i < d.vcpu_count; ++i) {
        vcpu_timer::set(*d.vcpus[i], 0);
        vcpu_timer::set_poll_timeout(*d.vcpus[i], 0);
        vlapic::stop_timer(*d.vcpus[i]);
    }
}

void release_vcpu(Vcpu* v)
{
    if (!v) return;
    if (v->vmcs.value()) (void)memory::free_frames(v->vmcs, 1);
    if (v->fpu.value()) (void)memory::free_frames(v->fpu, fpu::area_frames());
    if (v->vpid) free_vpid(v->vpid);
    delete_in_frames(v);
}

void release(Domain* d)
{
    for (uint32_t i = 0; i < d->vcpu_count; ++i) release_vcpu(d->vcpus[i]);
    release_memory(*d);
    if (d->shared_info.value()) frame_refs::release(d->shared_info);
    if (d->apic_access.value()) frame_refs::release(d->apic_access);
    if (d->grant_frames.value())
        for (uint32_t i = 0; i < grant::max_frames; ++i) frame_refs::release(d->grant_frames + i * page_size);
    delete_in_frames(d);
}

// A new vCPU inherits nothing: its FPU/SSE/AVX state is the initial one,
// its CR2 and DR0-DR3 are 0 and DR6 has its power-on value (SDM Vol 3A
// Table 10-1; DR7 and DEBUGCTL start in the VMCS, vmcs.cpp).
void init_fpu(Vcpu& v)
{
    fpu::init_area(phys_to_virt<uint8_t>(v.fpu));
    v.xcr0 = 1;
    v.lazy = LazyRegs{0, 0, 0, 0, 0, 0xffff0ff0};
}

Vcpu* create_vcpu(Domain& d, uint32_t id)
{
    auto* v = new_in_frames<Vcpu>();
    if (!v) return nullptr;
    v->domain = &d;
    v->id = id;
    v->host_cpu = ~0u;
    vlapic::init(*v);
    runstate::reset(v->runstate, scheduler::now_ns());
    v->vpid = alloc_vpid();
    auto frame = memory::alloc_frames(1);
    if (!frame || !v->vpid) {
        if (frame) (void)memory::free_frames(*frame, 1);
        release_vcpu(v);
        return nullptr;
    }
    v->vmcs = *frame;
    v->unit.owner = v;
    auto area = memory::alloc_frames(fpu::area_frames());
    if (!area) {
        release_vcpu(v);
        return nullptr;
    }
    v->fpu = *area;
    init_fpu(*v);
    return v;
}

// The APIC-access page at the xAPIC base, if the CPU virtualises xAPIC
// mode and the domain's RAM leaves the base free. All ones, as the hole
// there read before (x2APIC mode, or the APIC disabled).
bool map_apic_access(Domain& d)
{
    constexpr uint64_t base = vlapic::default_base;
    if (!vmx::apic_virtualisation(vmx::ApicMode::xapic) || d.memory_bytes > base) return true;
    auto frame = memory::alloc_frames(1);
    if (!frame) return false;
    __builtin_memset(phys_to_virt(*frame), 0xff, page_size);
    d.apic_access = *frame;
    return d.map_foreign_page(base / page_size, *frame, true) == MapStatus::ok;
}

} // namespace

namespace domains {

Domain* create(uint16_t id, const DomainConfig& c, const char** why)
{
    const char* unused = nullptr;
    const char*& reason = why ? *why : unused;
    if (id > top_id) {
        reason = "domain id above max_domid";
        return nullptr;
    }
    if (table[id]) {
        reason = "domain id in use";
        return nullptr;
    }
    if (c.vcpus == 0 || c.vcpus > max_vcpus_per_domain) {
        reason = "1 to 8 vCPUs are allowed";
        return nullptr;
    }
    if (c.memory_bytes == 0 || c.memory_bytes > memory::stats().free_frames * page_size) {
        reason = "not enough free memory";
        return nullptr;
    }
    auto* d = new_in_frames<Domain>();
    if (!d) {
        reason = "out of memory";
        return nullptr;
    }
    d->id = id;
    d->generation = __atomic_add_fetch(&generations, 1, __ATOMIC_RELAXED);
    format(d->name, sizeof d->name, "%s", c.name);
    d->state = DomainState::paused;
    d->created_ns = scheduler::now_ns();
    d->shutdown_code = -1;
    d->privileged = c.privileged;
    d->memory_bytes = align_up(c.memory_bytes, page_size);
    d->account.weight = c.weight ? c.weight : sched::default_weight;
    d->account.cap = c.cap;
    d->special_slack = 0;
    d->toolstack_owned = false;
    d->acpi_tables = false;

    d->ept_tables.max_tables = ept_tables_for(d->memory_bytes) + ept_table_margin;
    for (auto& gfn : d->special_gfn) gfn = Domain::no_gfn;
    auto root = d->ept_tables.alloc_table();
    auto shared = memory::alloc_frames(1);
    bool ok = root.has_value() && shared.has_value();
    if (shared) {
        __builtin_memset(phys_to_virt(*shared), 0, page_size);
        d->shared_info = *shared;
    }
    if (ok) {
        d->ept_root = *root;
        d->eptp = ept::eptp(d->ept_root);
        if (c.populate) ok = domains::populate(*d);
    }
    if (ok) ok = map_apic_access(*d);
    for (uint32_t i = 0; ok && i < c.vcpus; ++i) {
        d->vcpus[i] = create_vcpu(*d, i);
        ok = d->vcpus[i] != nullptr;
        d->vcpu_count = i + 1;
    }
    if (!ok) {
        if (root && !d->ept_root.value()) (void)memory::free_frames(*root, 1);
        reason = "out of memory";
        release(d);
        return nullptr;
    }
    d->events.init(id, d->vcpu_count);
    for (uint32_t i = 0; i < d->vcpu_count; ++i) d->vcpus[i]->info = &d->shared()->vcpu_info[i];
    vcpu_timer::init_wallclock(*d);
    // Published whole: another CPU that finds it (a grant unmap comparing
    // generations, an event send) sees what was set up above.
    __atomic_store_n(&table[id], d, __ATOMIC_RELEASE);
    last_id = id;
    for (uint32_t i = 0; i < d->vcpu_count; ++i) scheduler::add(*d->vcpus[i]);
    return d;
}

Domain* get(uint32_t id) { return id < max_domains ? table[id] : nullptr; }

bool populate(Domain& d)
{
    if (d.populated) return true;
    // dom0's RAM, taken at boot before any other domain ran, holds nothing
    // but what firmware and the boot loader left: as Xen's PVH dom0 builder
    // does (pvh_populate_memory_range: MEMF_no_scrub), it is not zeroed.
    // That is most of the boot's cost (in Bochs, 8M instructions for 64 MiB).
    // Every other domain's RAM, which may have been an earlier domain's, is.
    // The loader zero-fills the kernel's .bss and writes the boot data whole.
    const bool boot_dom0 = d.id == 0 && d.privileged;
    d.populated = populate_ram(d, d.memory_bytes, !boot_dom0);
    return d.populated;
}

// The console counts each domain's bytes in its transmit ring by id.
static_assert(max_domains <= ShareTracker::domains);

void limit_ids(uint32_t max_id) { top_id = max_id < max_domains - 1 ? max_id : max_domains - 1; }

uint32_t max_id() { return top_id; }

uint16_t next_free_id(uint16_t from)
{
    // As Xen's domain id rover: the search starts after the last id given
    // out, so a destroyed domain's id comes back only after all the others.
    if (from > top_id) return 0;
    const uint32_t span = top_id + 1 - from;
    const uint32_t start = last_id >= from ? last_id - from + 1 : 0;
    for (uint32_t k = 0; k < span; ++k) {
        const uint32_t i = from + (start + k) % span;
        if (!table[i]) return static_cast<uint16_t>(i);
    }
    return 0;
}

void shutdown(Domain& d, xen::ShutdownReason reason)
{
    if (d.state == DomainState::shutdown || d.state == DomainState::crashed || d.state == DomainState::dying) return;
    d.state = DomainState::shutdown;
    d.shutdown_reason = reason;
    info("domain %u (%s) shut down: %s", d.id, d.name, to_string(reason));
    // As Xen's hardware domain: dom0 powering off or rebooting takes the
    // machine with it (its crash leaves it for the debug keys to show).
    if (d.privileged && reason == xen::ShutdownReason::poweroff) {
        info("dom0 halted: powering off the machine");
        power::poweroff();
    }
    if (d.privileged && reason == xen::ShutdownReason::reboot) {
        info("dom0 rebooted: rebooting the machine");
        power::reset();
    }
    scheduler::stop_domain(d);
    events::domain_exception();
    reap(d);   // nothing left to wait for if none of its vCPUs is loaded
}

void crash(Domain& d, const char* fmt, ...)
{
    if (d.state == DomainState::crashed || d.state == DomainState::dying) return;
    char reason[160];
    va_list ap;
    va_start(ap, fmt);
    vformat(reason, sizeof reason, fmt, ap);
    va_end(ap);
    d.state = DomainState::crashed;
    d.shutdown_reason = xen::ShutdownReason::crash;
    info("domain %u (%s) crashed: %s", d.id, d.name, reason);
    scheduler::stop_domain(d);
    events::domain_exception();
    reap(d);
}

void destroy(Domain& d)
{
    if (d.state == DomainState::dying) return;
    d.state = DomainState::dying;
    scheduler::stop_domain(d);
    reap(d);
}

namespace {

Spinlock zombie_lock;
Domain* zombies;         // reaped, waiting for the other CPUs (Domain::next_zombie)

// Every other CPU has passed a quiescent point since d was reaped (or had
// not started scheduling then); the caller is at one itself.
bool passed_by_all(const Domain& d)
{
    const PerCpu& self = this_cpu();
    for (uint32_t i = 0; i < percpu::count() && i < 64; ++i) {
        const PerCpu* c = percpu::get(i);
        if (!c || c == &self || !c->online || d.quiescent_seen[i] == 0) continue;
        if (__atomic_load_n(&c->quiescent, __ATOMIC_SEQ_CST) == d.quiescent_seen[i]) return false;
    }
    return true;
}

void finish(Domain& d)
{
    const uint16_t id = d.id;
    char name[domain_name_max];
    __builtin_memcpy(name, d.name, sizeof name);
    release(&d);
    info("domain %u (%s) destroyed, frames free: %lu", id, name, memory::stats().free_frames);
}

} // namespace

uint32_t zombie_count;   // domains on the zombie list (domain.hpp: reclaim_pending)

void reap(Domain& d)
{
    // Boot-time domains have no toolstack to destroy them: a domain that
    // stopped is destroyed as soon as none of its vCPUs is loaded.
    if (__atomic_load_n(&d.running_vcpus, __ATOMIC_SEQ_CST) != 0 || d.state == DomainState::running || d.state == DomainState::paused) return;
    if (d.privileged && d.state != DomainState::dying) return;   // dom0 stays for the debug keys to show
    // A domain dom0 built is its toolstack's to destroy, as in Xen: it stays
    // shut down or crashed (for `xl list`, on_poweroff/on_crash "preserve")
    // until a domctl destroy.
    if (d.toolstack_owned && d.state != DomainState::dying) return;
    // Dying from here on, under each lock another CPU takes to reach this
    // domain (grants, events, its physical map): a grant map or copy or an
    // event send that comes after fails cleanly, and what is already in one
    // finishes before its lock is let go.
    grants::retire(d);
    console_rings::detach(d);   // it leaves the serial input cycle; its ring frame goes with its RAM
    {
        // No port of another domain may keep pointing here.
        SpinGuard g{events::lock()};
        d.state = DomainState::dying;
        evtchn::close_all(d.events, events::table_of, nullptr);
    }
    {
        SpinGuard g{d.p2m_lock};
        d.state = DomainState::dying;
    }
    vcpu_timer_stop_all(d);
    pirq::release_all(d);
    for (uint32_t i = 0; i < d.vcpu_count; ++i)
        if (d.vcpus[i]->info_page.value()) frame_refs::put(d.vcpus[i]->info_page);
    for (uint32_t i = 0; i < d.vcpu_count; ++i) {
        runstate::release(*d.vcpus[i]);
        vcpu_timer::release_time_area(*d.vcpus[i]);
    }
    for (uint32_t i = 0; i < d.vcpu_count; ++i) scheduler::remove(*d.vcpus[i]);
    __atomic_store_n(&table[d.id], nullptr, __ATOMIC_SEQ_CST);
    // A CPU that looked it up before that store is still in the handler
    // that did (no lock protects a domain pointer from the table): free it
    // once each has passed a quiescent point, as Xen's RCU does.
    bool others = false;
    const PerCpu& self = this_cpu();
    for (uint32_t i = 0; i < percpu::count() && i < 64; ++i) {
        const PerCpu* c = percpu::get(i);
        d.quiescent_seen[i] = c ? __atomic_load_n(&c->quiescent, __ATOMIC_SEQ_CST) : 0;
        if (c && c != &self && c->online && d.quiescent_seen[i] != 0) others = true;
    }
    if (!others) {
        finish(d);
        return;
    }
    SpinGuard g{zombie_lock};
    d.next_zombie = zombies;
    zombies = &d;
    __atomic_add_fetch(&zombie_count, 1, __ATOMIC_SEQ_CST);
}


void reclaim()
{
    Domain* ready = nullptr;
    {
        SpinGuard g{zombie_lock};
        for (Domain** p = &zombies; *p;) {
            Domain* d = *p;
            if (passed_by_all(*d)) {
                *p = d->next_zombie;
                d->next_zombie = ready;
                ready = d;
                __atomic_sub_fetch(&zombie_count, 1, __ATOMIC_SEQ_CST);
            } else {
                p = &d->next_zombie;
            }
        }
    }
    while (ready) {
        Domain* next = ready->next_zombie;
        finish(*ready);
        ready = next;
    }
}

} // namespace domains

Optional<HostPhys> Domain::translate(uint64_t gpa, bool write, uint64_t& contiguous)
{
    auto t = ept().translate(GuestPhys{gpa});
    if (!t || !t->flags.read || (write && !t->flags.write)) return {};
    contiguous = t->page_size - (gpa & (t->page_size - 1));
    return t->phys;
}

Optional<HostPhys> Domain::get_own_frame(uint64_t gfn, bool write)
{
    if (gfn >= ept::Format::max_phys / page_size) return {};
    SpinGuard g{p2m_lock};
    auto t = ept().translate(GuestPhys{gfn * page_size});
    if (!t || !t->flags.owned || !t->flags.read || (write && !t->flags.write)) return {};
    const HostPhys frame = t->phys.align_down(page_size);
    if (!frame_refs::get(frame)) return {};
    return frame;
}

namespace {
template <typename Copy>
bool copy_phys(Domain& d, uint64_t gpa, size_t len, bool write, Copy&& copy)
{
    size_t done = 0;
    while (done < len) {
        uint64_t chunk = 0;
        auto hpa = d.translate(gpa + done, write, chunk);
        if (!hpa) return false;
        if (chunk > len - done) chunk = len - done;
        copy(phys_to_virt<uint8_t>(*hpa), done, chunk);
        done += chunk;
    }
    return true;
}
} // namespace

bool Domain::write_phys(uint64_t gpa, const void* src, size_t len)
{
    return copy_phys(*this, gpa, len, true, [src](uint8_t* host, size_t off, size_t n) {
        if (src)
            __builtin_memcpy(host, static_cast<const uint8_t*>(src) + off, n);
        else
            __builtin_memset(host, 0, n);
    });
}

bool Domain::read_phys(uint64_t gpa, void* dst, size_t len)
{
    return copy_phys(*this, gpa, len, false, [dst](uint8_t* host, size_t off, size_t n) {
        __builtin_memcpy(static_cast<uint8_t*>(dst) + off, host, n);
    });
}

namespace {

// The 4 KiB EPT entry for gpa, splitting a large page on the way so one
// page can change (SDM Vol 3C 29.3.2); nullptr if out of memory.
uint64_t* ept_leaf_4k(Domain& d, uint64_t gpa)
{
    using F = ept::Format;
    HostPhys table = d.ept_root;
    for (int level = paging::levels - 1; level > 0; --level) {
        uint64_t& e = d.ept_tables.table(table)[paging::table_index(gpa, level)];
        if (!F::is_present(e)) {
            auto t = d.ept_tables.alloc_table();
            if (!t) return nullptr;
            e = F::table_entry(*t, {});
        } else if (F::is_leaf(e, level)) {
            auto t = d.ept_tables.alloc_table();
            if (!t) return nullptr;
            const uint64_t span = paging::entry_span(level - 1);
            const HostPhys base{F::leaf_address(e, level)};
            uint64_t* small = d.ept_tables.table(*t);
            for (uint64_t i = 0; i < paging::entries_per_table; ++i)
                small[i] = F::leaf_entry(base + i * span, F::leaf_flags(e), level - 1);
            e = F::table_entry(*t, {});
        }
        table = HostPhys{F::table_address(e)};
    }
    return &d.ept_tables.table(table)[paging::table_index(gpa, 0)];
}

// A page of the domain's own RAM leaving its physical map is released, as in
// Xen when something else is put at that frame; a page of someone else's
// (or one of its special pages) loses the reference its mapping held. Called
// with the old leaf after the EPT flush: until every CPU dropped its cached
// translation, the frame may still be written through it.
void drop_leaf(Domain& d, uint64_t leaf)
{
    using F = ept::Format;
    if (!F::is_present(leaf)) return;
    const HostPhys frame{F::leaf_address(leaf, 0)};
    if (F::leaf_flags(leaf).owned) {
        frame_refs::release(frame);
        ++d.ballooned_pages;   // as in Xen, RAM replaced or removed leaves the reservation: populate may refill it
    } else {
        frame_refs::put(frame);
        --d.extra_mappings;
    }
}

MapStatus unmap_locked(Domain& d, uint64_t gfn)
{
    if (gfn >= ept::Format::max_phys / page_size) return MapStatus::not_mapped;
    const uint64_t gpa = gfn * page_size;
    if (!d.ept().translate(GuestPhys{gpa})) return MapStatus::not_mapped;
    uint64_t* leaf = ept_leaf_4k(d, gpa);   // splits a 2 MiB page of RAM: may need a table
    if (!leaf) return MapStatus::no_memory;
    const uint64_t old = *leaf;
    *leaf = 0;
    d.flush_ept();
    drop_leaf(d, old);
    return MapStatus::ok;
}

MapStatus map_locked(Domain& d, uint64_t gfn, HostPhys frame, bool writable, Mapped kind)
{
    if (gfn >= ept::Format::max_phys / page_size) return MapStatus::bad_gfn;
    const uint64_t gpa = gfn * page_size;
    // Anywhere in the guest's physical space (its CPUID width; 4-level EPT's
    // 48 bits are checked above): Linux puts grant frames and foreign maps
    // above RAM and above 4 GiB. The count of such mappings is what is
    // limited, below.
    static const uint32_t width = cpu::phys_addr_bits();
    if (gpa >> width) return MapStatus::bad_gfn;
    uint64_t* leaf = ept_leaf_4k(d, gpa);
    if (!leaf) return MapStatus::no_memory;
    using F = ept::Format;
    const bool replaces_extra = F::is_present(*leaf) && !F::leaf_flags(*leaf).owned;
    if (!replaces_extra && d.extra_mappings >= max_extra_mappings) return MapStatus::too_many;
    // Taken before the old leaf is dropped: it may be the same frame.
    if (!frame_refs::get(frame)) return MapStatus::too_many;
    const uint64_t old = *leaf;
    *leaf = F::leaf_entry(frame, ept::Flags{true, writable, false, false, kind == Mapped::grant}, 0);
    ++d.extra_mappings;
    d.flush_ept();
    drop_leaf(d, old);
    return MapStatus::ok;
}

} // namespace

MapStatus Domain::map_foreign_page(uint64_t gfn, HostPhys frame, bool writable, Mapped kind)
{
    SpinGuard g{p2m_lock};
    return map_locked(*this, gfn, frame, writable, kind);
}

MapStatus Domain::map_special_page(uint32_t slot, HostPhys frame, uint64_t gfn)
{
    if (slot >= special_slots) return MapStatus::bad_gfn;
    SpinGuard g{p2m_lock};
    const uint64_t old = special_gfn[slot];
    const MapStatus st = map_locked(*this, gfn, frame, true, Mapped::foreign);
    if (st != MapStatus::ok) return st;
    // Its old place goes, if the page is still there (the guest may have
    // put something else at that frame since).
    if (old != no_gfn && old != gfn) {
        auto t = ept().translate(GuestPhys{old * page_size});
        if (t && !t->flags.owned && t->phys.align_down(page_size) == frame) (void)unmap_locked(*this, old);
    }
    special_gfn[slot] = gfn;
    return MapStatus::ok;
}

bool Domain::prepare_map_window(uint64_t gpa)
{
    SpinGuard g{p2m_lock};
    return ept_leaf_4k(*this, gpa) != nullptr;
}

MapStatus Domain::unmap_page(uint64_t gfn)
{
    SpinGuard g{p2m_lock};
    return unmap_locked(*this, gfn);
}

uint64_t Domain::balloon_out(uint64_t gfn, uint64_t pages)
{
    // Leaves are cleared in batches; a batch's frames are released only
    // after the flush, so no CPU's cached translation outlives its frame.
    constexpr uint64_t batch = 64;
    HostPhys frames[batch];
    SpinGuard guard{p2m_lock};
    uint64_t done = 0;
    bool stop = false;
    while (done < pages && !stop) {
        uint64_t n = 0;
        for (; n < batch && done + n < pages; ++n) {
            const uint64_t g = gfn + done + n;
            if (g >= (ept::Format::max_phys >> 12)) break;
            auto t = ept().translate(GuestPhys{g * page_size});
            if (!t || !t->flags.owned) break;   // only its own RAM (Xen's guest_remove_page refuses the rest)
            uint64_t* leaf = ept_leaf_4k(*this, g * page_size);
            if (!leaf) break;
            frames[n] = HostPhys{ept::Format::leaf_address(*leaf, 0)};
            *leaf = 0;
        }
        stop = done + n < pages;
        if (n == 0) break;
        flush_ept();
        for (uint64_t i = 0; i < n; ++i) frame_refs::release(frames[i]);
        ballooned_pages += n;
        done += n;
    }
    return done;
}

uint64_t Domain::balloon_in(uint64_t gfn, uint64_t pages)
{
    SpinGuard guard{p2m_lock};
    uint64_t done = 0;
    for (; done < pages; ++done) {
        const uint64_t g = gfn + done;
        const uint64_t gpa = g * page_size;
        const bool placeable = g < (1ull << 20) || (g < (1ull << 36) && gpa < memory_bytes);
        if (!placeable) break;                                 // inside its RAM, or anywhere below 4 GiB
        const bool special = g >= xen::special_first_gfn && g < xen::special_first_gfn + xen::special_pages;
        const bool from_slack = special && special_slack > 0;
        if (!from_slack && ballooned_pages == 0) break;        // its reservation is full
        if (ept().translate(GuestPhys{gpa})) break;            // something is there already
        auto f = memory::alloc_frames(1);
        if (!f) break;
        __builtin_memset(phys_to_virt(*f), 0, page_size);
        uint64_t* leaf = ept_leaf_4k(*this, gpa);
        if (!leaf) {
            (void)memory::free_frames(*f, 1);
            break;
        }
        *leaf = ept::Format::leaf_entry(*f, ept::ram, 0);
        if (from_slack)
            --special_slack;
        else
            --ballooned_pages;
    }
    // A hole that became RAM needs no flush (EPT caches no translation that
    // would fault, SDM Vol 3C 29.4.1), but the split of a large page on the way might.
    if (done) flush_ept();
    return done;
}

void Domain::flush_ept()
{
    vmx::invept_single(eptp);
    __atomic_store_n(&tlb_flushed_cpus, 1ull << this_cpu().index, __ATOMIC_SEQ_CST);
    // CPUs running one of its vCPUs leave guest mode now and flush before
    // their next VM entry; this returns once none can use an old translation.
    scheduler::flush_ept_elsewhere(*this);
}

namespace {
// Ports of devices the hypervisor drives itself: never handed to a guest.
struct Reserved { uint16_t first, last; };
constexpr Reserved hypervisor_ports[] = {
    {0x20, 0x21}, {0xa0, 0xa1},        // 8259 PICs
    {0x40, 0x43}, {0x61, 0x61},        // PIT, its gate
    {0x60, 0x64},                      // keyboard controller (reset)
    {0x70, 0x71},                      // CMOS RTC
    {0x3f8, 0x3ff},                    // COM1, the console
    {0xcf8, 0xcff},                    // PCI configuration, reset control
};
} // namespace

bool Domain::allow_ports(uint32_t first, uint32_t count, bool allow)
{
    if (count == 0 || count > 0xffff || first > 0xffff || count > 0x10000 - first) return false;
    const uint32_t last = first + count - 1;
    for (const auto& r : hypervisor_ports)
        if (first <= r.last && r.first <= last) return false;
    for (auto& r : ports) {
        if (!allow && r.first == first && r.count == count) {
            r = PortRange{};
            return true;
        }
        if (allow && r.count == 0) {
            r = PortRange{static_cast<uint16_t>(first), static_cast<uint16_t>(count)};
            return true;
        }
    }
    return false;
}

void Domain::put(Line& l, char c)
{
    if (c == '\r') return;
    // Control characters (escape sequences among them) would drive the
    // administrator's terminal: shown as '.'.
    if (c != '\n' && c != '\t' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) c = '.';
    if (c != '\n' && l.len + 1 < sizeof l.text) {
        l.text[l.len++] = c;
        return;
    }
    l.text[l.len] = '\0';
    console::write_guest_line(id, l.text, console_out, !privileged);
    l.len = 0;
    if (c != '\n') l.text[l.len++] = c;
}

} // namespace menhir
