// Domains: a guest's memory (one EPT hierarchy), its vCPUs, its state, and
// the id by which guests and the toolstack name it.
#pragma once
#include "arch/x86/vmx/ept.hpp"
#include "kernel/lib/spinlock.hpp"
#include "kernel/console.hpp"
#include "kernel/sched/credit.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/event_channel.hpp"
#include "vmm/grant_table.hpp"
#include "vmm/msr_policy.hpp"
#include "vmm/vcpu.hpp"

namespace menhir {

enum class DomainState : uint8_t { running, paused, shutdown, crashed, dying };
[[nodiscard]] const char* to_string(DomainState s);
[[nodiscard]] const char* to_string(xen::ShutdownReason r);

// EPT tables come from the frame allocator and are reached via the direct
// map. Each domain has its own: the tables its mappings cause are charged to
// it, up to max_tables (as Xen's per-domain paging pool is), so no domain can
// make the hypervisor spend memory on its physical map beyond its share.
struct EptMemory {
    uint32_t tables{0};       // table frames allocated, root included (freed only with the domain)
    uint32_t max_tables{0};
    Optional<HostPhys> alloc_table();
    uint64_t* table(HostPhys p);
};
using Ept = ept::Table<EptMemory>;

inline constexpr uint32_t max_domains = 128;
inline constexpr uint32_t max_vcpus_per_domain = 8;
inline constexpr size_t domain_name_max = 32;

// Per-domain limits (docs/abi.md, "Per-domain limits").
// EPT table frames beyond what its RAM needs at 4 KiB granularity: room for
// the pages it maps outside RAM (shared_info, grant frames, grants, foreign
// frames) in up to this many separate 2 MiB regions.
inline constexpr uint32_t ept_table_margin = 64;
// Frames mapped into its physical space that are not its own RAM (grant and
// foreign mappings, its special pages), at once.
inline constexpr uint32_t max_extra_mappings = 4096;

// EPT table frames needed to map [0, bytes) with 4 KiB leaves: one per 2 MiB,
// 1 GiB and 512 GiB of it, and the root.
[[nodiscard]] constexpr uint32_t ept_tables_for(uint64_t bytes)
{
    auto per = [bytes](uint64_t span) { return static_cast<uint32_t>((bytes + span - 1) / span); };
    return 1 + per(1ull << 39) + per(1ull << 30) + per(1ull << 21);
}
static_assert(ept_tables_for(8ull << 20) == 7 && ept_tables_for(2ull << 30) == 1028);

// What a frame that is not the domain's own RAM is, in its physical map.
enum class Mapped : uint8_t { foreign, grant };

// Why a change to a domain's physical map did not happen.
enum class MapStatus : uint8_t {
    ok,
    bad_gfn,       // outside the space a mapping may use
    not_mapped,    // nothing there to remove
    no_memory,     // its EPT table budget (or the host) is out of frames
    too_many,      // max_extra_mappings reached
};

struct DomainConfig {
    const char* name;
    uint64_t memory_bytes;
    uint32_t vcpus;
    uint32_t weight;
    uint32_t cap;
    bool privileged;
    bool populate{true};          // allocate its RAM now (domctl populates later)
};

struct Domain {
    uint16_t id;
    // Which domain of that id: a reference that outlives the domain (a grant
    // mapping's granter) checks it, so it never acts on a new domain that got
    // the same id.
    uint64_t generation;
    char name[domain_name_max];
    DomainState state;
    xen::ShutdownReason shutdown_reason;
    bool privileged;
    uint64_t memory_bytes;        // its maximum (and boot-time) RAM, the memory map's one RAM range
    uint64_t ballooned_pages;     // of that, pages given back with XENMEM_decrease_reservation
    // Pages outside RAM the toolstack may still populate at Xen's HVM special
    // gfns (console, xenstore), as Xen's toolstack allows for them above the
    // RAM target; a domain dom0 builds starts with xen::special_pages.
    uint32_t special_slack;
    bool toolstack_owned;         // built by dom0 (domctl create): only dom0 destroys it
    bool acpi_tables;             // its builder gave it ACPI tables (vmm/pvh_start_info places them)
    uint64_t created_ns;          // scheduler::now_ns() when it was created (xl uptime)
    bool populated;               // its RAM exists
    HostPhys ept_root;
    uint64_t eptp;
    EptMemory ept_tables;         // its EPT's table frames and their budget
    // Serialises changes to its physical map with the hypervisor's own uses
    // of it (copies to and from its memory, lookups that take a frame
    // reference), so no frame is freed while one of those still uses it.
    Spinlock p2m_lock;
    Spinlock vcpu_lock;           // VCPUOP_initialise: one start state loaded at a time
    uint32_t extra_mappings;      // leaves of its EPT that are not its own RAM
    sched::Account account;
    uint32_t vcpu_count;
    Vcpu* vcpus[max_vcpus_per_domain];
    uint64_t tlb_flushed_cpus;    // CPUs that flushed stale EPT/VPID state for this domain
    uint32_t running_vcpus;       // vCPUs loaded on a CPU now
    // Output not yet ended by a newline, one line each for console_io and
    // port 0xE9 (as in Xen), so the two never mix on a line.
    struct Line { char text[160]; size_t len; };
    Line console_line;
    Line debug_line;
    // Its console rate limit and the characters dropped since its last line
    // (kernel/console.hpp); dom0's output is not limited, as in Xen.
    console::GuestOutput console_out;
    uint32_t io_warnings;         // rate limit for ignored-port messages
    msr_policy::UnknownLog unknown_msrs;   // unknown MSRs already logged
    bool lapic_init_logged;       // an ignored INIT/SIPI IPI was said once
    bool runstate_update_flag;    // VMASST_TYPE_runstate_update_flag enabled
    uint32_t unbacked_warnings;   // rate limit for accesses to unbacked memory
    uint64_t hvm_params[xen::hvm_nr_params];
    HostPhys shared_info;         // the shared_info page, from creation on (the guest maps it where it wants)
    int32_t shutdown_code;        // SCHEDOP_shutdown_code, -1 if none
    evtchn::Table events;         // event-channel ports (vmm/event_channel)
    grant::Granter granter;       // its grant table's pins (vmm/grant_table)
    grant::Maptrack maptrack;     // grants of others it has mapped
    HostPhys grant_frames;        // grant::max_frames contiguous frames of v1 entries, 0 until set up
    // Where shared_info (slot 0) and grant frame i (slot 1 + i) are mapped in
    // its physical space, no_gfn if nowhere: each lives at one gfn at most,
    // and mapping it elsewhere moves it, as in Xen.
    static constexpr uint64_t no_gfn = ~0ull;
    static constexpr uint32_t special_slots = 1 + grant::max_frames;
    uint64_t special_gfn[special_slots];
    uint8_t callback_vector;      // from HVM_PARAM_CALLBACK_IRQ (vector type); 0 = none
    // The APIC-access page (SDM Vol 3C 30.4), mapped at the xAPIC base
    // when the CPU virtualises xAPIC mode: the CPU recognises the guest's
    // accesses to its local APIC by this frame. Its contents are seen only
    // while the CPU does not virtualise (x2APIC mode, APIC disabled); it is
    // the domain's own, so nothing written there reaches another. 0 if none.
    HostPhys apic_access;
    // Reaped but not yet freed: another CPU may still be in a hypercall
    // that looked it up before it left the table (domains::reclaim).
    Domain* next_zombie;
    uint64_t quiescent_seen[64];  // each CPU's PerCpu::quiescent when it was reaped

    [[nodiscard]] xen::SharedInfo* shared() const { return phys_to_virt<xen::SharedInfo>(shared_info); }

    // Devices delegated to this domain (dom0): ISA IRQ lines and I/O port ranges.
    uint16_t irq_mask;
    struct PortRange { uint16_t first; uint16_t count; };
    PortRange ports[8];
    [[nodiscard]] bool irq_allowed(uint32_t irq) const { return irq < 16 && ((irq_mask >> irq) & 1); }
    [[nodiscard]] bool port_allowed(uint32_t port) const
    {
        for (const auto& r : ports)
            if (r.count && port >= r.first && port - r.first < r.count) return true;
        return false;
    }
    [[nodiscard]] bool allow_ports(uint32_t first, uint32_t count, bool allow);

    [[nodiscard]] Ept ept() { return Ept{ept_tables, ept_root}; }
    // Copies into guest-physical memory; false if [gpa, gpa+len) is not all
    // mapped. Callers hold p2m_lock, or the domain is not running yet.
    [[nodiscard]] bool write_phys(uint64_t gpa, const void* src, size_t len);
    [[nodiscard]] bool read_phys(uint64_t gpa, void* dst, size_t len);
    // Host address of guest-physical `gpa` and how many bytes follow it in
    // the same page; empty if not mapped with the access asked for.
    [[nodiscard]] Optional<HostPhys> translate(uint64_t gpa, bool write, uint64_t& contiguous);
    // The host frame of guest frame `gfn` if it is the domain's own RAM (the
    // EPT software bit), mapped with the access asked for: the only pages the
    // hypervisor writes on the guest's behalf or lets it grant.
    // Takes a frame reference (frame_refs::put it when done) under p2m_lock,
    // so the frame stays allocated even if the guest removes it meanwhile.
    [[nodiscard]] Optional<HostPhys> get_own_frame(uint64_t gfn, bool write);
    // Maps `frame` (not the domain's own RAM: it takes a reference on it) at
    // guest frame `gfn`, in place of whatever was there (released). Counts
    // against max_extra_mappings and the EPT table budget.
    [[nodiscard]] MapStatus map_foreign_page(uint64_t gfn, HostPhys frame, bool writable,
                                             Mapped kind = Mapped::foreign);
    // Maps special page `slot` (see special_gfn) at `gfn`, removing it from
    // where it was before.
    [[nodiscard]] MapStatus map_special_page(uint32_t slot, HostPhys frame, uint64_t gfn);
    // Makes the EPT tables down to 4 KiB pages for gpa's 2 MiB region,
    // mapping nothing: what is mapped there later costs no table frame.
    [[nodiscard]] bool prepare_map_window(uint64_t gpa);
    // Removes whatever is mapped at guest frame `gfn` (a hole afterwards).
    [[nodiscard]] MapStatus unmap_page(uint64_t gfn);
    // Ballooning (XENMEM_decrease_reservation / populate_physmap) on the
    // pages [gfn, gfn + pages), in order, stopping at the first that cannot
    // be done; they return how many were. Out: only pages of its own RAM;
    // they leave its physical map and, once no CPU can still reach them, go
    // back to the frame allocator. In: a fresh zeroed frame of RAM at a gfn
    // where nothing is mapped (below 4 GiB or inside its RAM), only while
    // the domain has fewer than memory_bytes of RAM.
    [[nodiscard]] uint64_t balloon_out(uint64_t gfn, uint64_t pages);
    [[nodiscard]] uint64_t balloon_in(uint64_t gfn, uint64_t pages);
    [[nodiscard]] uint64_t ram_pages() const { return memory_bytes / page_size - ballooned_pages; }
    // Drops cached EPT translations here and makes every other CPU drop them
    // before it runs this domain again.
    void flush_ept();
    // Console output of the guest: "(dN) " lines.
    void console_put(char c) { put(console_line, c); }   // console_io
    void debug_put(char c) { put(debug_line, c); }       // port 0xE9
    void put(Line& line, char c);
};

namespace domains {
// Allocates everything a domain needs; nullptr on failure, with `why` (if
// given) saying what was wrong.
[[nodiscard]] Domain* create(uint16_t id, const DomainConfig& config, const char** why = nullptr);
[[nodiscard]] Domain* get(uint32_t id);
[[nodiscard]] bool populate(Domain& d);   // allocates its RAM [0, memory_bytes) once
// A free id from `from` to max_id(), searched from just after the last id
// given out (Xen's rover); 0 if there is none.
[[nodiscard]] uint16_t next_free_id(uint16_t from);
// The highest id a domain may get: max_domains - 1 unless the command line's
// max_domid lowered it (a testing aid: a small id space makes a new domain
// reuse a dead one's id within a few creations). Set once, at boot.
void limit_ids(uint32_t max_id);
[[nodiscard]] uint32_t max_id();
void shutdown(Domain& d, xen::ShutdownReason reason);
void destroy(Domain& d);   // dying now; memory goes once no vCPU runs and nothing maps it
void crash(Domain& d, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// Tears the domain down once no vCPU of it is loaded anywhere (called by
// the scheduler): it leaves the table at once, its memory goes when no
// other CPU can still hold a pointer to it.
void reap(Domain& d);
// Frees reaped domains every other CPU has moved on from; the scheduler
// calls it at its quiescent points, cheaply when there are none.
void reclaim();
extern uint32_t zombie_count;   // reaped domains not yet freed
[[nodiscard]] inline bool reclaim_pending() { return __atomic_load_n(&zombie_count, __ATOMIC_RELAXED) != 0; }
template <typename Fn> void for_each(Fn&& fn);
extern Domain* table[max_domains];
} // namespace domains

template <typename Fn>
void domains::for_each(Fn&& fn)
{
    for (uint32_t i = 0; i < max_domains; ++i)
        if (table[i]) fn(*table[i]);
}

} // namespace menhir
