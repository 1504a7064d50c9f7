// Domains: a guest's memory (one EPT hierarchy), its vCPUs, its state, and
// the id by which guests and the toolstack name it.
#pragma once
#include "arch/x86/vmx/ept.hpp"
#include "kernel/console.hpp"
#include "kernel/sched/credit.hpp"
#include "kernel/mm/memory.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/event_channel.hpp"
#include "vmm/grant_table.hpp"
#include "vmm/vcpu.hpp"

namespace menhir {

enum class DomainState : uint8_t { running, paused, shutdown, crashed, dying };
[[nodiscard]] const char* to_string(DomainState s);
[[nodiscard]] const char* to_string(xen::ShutdownReason r);

// EPT tables come from the frame allocator and are reached via the direct map.
struct EptMemory {
    Optional<HostPhys> alloc_table();
    uint64_t* table(HostPhys p);
};
using Ept = ept::Table<EptMemory>;
extern EptMemory ept_memory;

inline constexpr uint32_t max_domains = 128;
inline constexpr uint32_t max_vcpus_per_domain = 8;
inline constexpr size_t domain_name_max = 32;

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
    char name[domain_name_max];
    DomainState state;
    xen::ShutdownReason shutdown_reason;
    bool privileged;
    uint64_t memory_bytes;
    bool populated;               // its RAM exists
    HostPhys ept_root;
    uint64_t eptp;
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
    uint64_t hvm_params[xen::hvm_nr_params];
    HostPhys shared_info;         // the shared_info page, from creation on (the guest maps it where it wants)
    int32_t shutdown_code;        // SCHEDOP_shutdown_code, -1 if none
    evtchn::Table events;         // event-channel ports (vmm/event_channel)
    grant::Granter granter;       // its grant table's pins (vmm/grant_table)
    grant::Maptrack maptrack;     // grants of others it has mapped
    HostPhys grant_frames;        // grant::max_frames contiguous frames of v1 entries, 0 until set up
    uint8_t callback_vector;      // from HVM_PARAM_CALLBACK_IRQ (vector type); 0 = none

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

    [[nodiscard]] Ept ept() const { return Ept{ept_memory, ept_root}; }
    // Copies into guest-physical memory; false if [gpa, gpa+len) is not all RAM.
    [[nodiscard]] bool write_phys(uint64_t gpa, const void* src, size_t len);
    [[nodiscard]] bool read_phys(uint64_t gpa, void* dst, size_t len);
    // Host address of guest-physical `gpa` and how many bytes follow it in
    // the same page; empty if not mapped with the access asked for.
    [[nodiscard]] Optional<HostPhys> translate(uint64_t gpa, bool write, uint64_t& contiguous);
    // Maps `frame` (not the domain's own RAM: it takes a reference on it) at
    // guest frame `gfn`, in place of whatever was there (released).
    [[nodiscard]] bool map_foreign_page(uint64_t gfn, HostPhys frame, bool writable);
    // Removes whatever is mapped at guest frame `gfn` (a hole afterwards);
    // false if nothing was.
    bool unmap_page(uint64_t gfn);
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
[[nodiscard]] uint16_t next_free_id(uint16_t from);
void shutdown(Domain& d, xen::ShutdownReason reason);
void destroy(Domain& d);   // dying now; memory goes once no vCPU runs and nothing maps it
void crash(Domain& d, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// Frees the domain once no vCPU of it is loaded anywhere; called by the scheduler.
void reap(Domain& d);
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
