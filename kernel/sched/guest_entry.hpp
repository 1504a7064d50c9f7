// The last steps before a CPU resumes its loaded vCPU, inline because every
// VM exit takes them: a quiescent point for reaped domains, in_guest for EPT
// flushes on other CPUs, and a flush this CPU owes the domain.
#pragma once
#include "arch/x86/percpu.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "vmm/domain.hpp"

namespace menhir::scheduler {

// This CPU holds no domain pointer from a handler now: reaped domains that
// waited only for it can go.
inline void quiescent(PerCpu& c)
{
    __atomic_store_n(&c.quiescent, c.quiescent + 1, __ATOMIC_SEQ_CST);
    if (domains::reclaim_pending()) domains::reclaim();
}

inline void before_entry(PerCpu& c)
{
    quiescent(c);
    Domain& d = *c.current->domain;
    // Set before the mask is read (a full barrier): flush_ept_elsewhere
    // either sees this CPU in the guest and waits for its exit, or this CPU
    // sees the cleared bit and flushes (see scheduler.cpp).
    __atomic_store_n(&c.in_guest, true, __ATOMIC_SEQ_CST);
    if (!(__atomic_load_n(&d.tlb_flushed_cpus, __ATOMIC_SEQ_CST) & (1ull << c.index))) {
        vmx::invept_single(d.eptp);
        __atomic_or_fetch(&d.tlb_flushed_cpus, 1ull << c.index, __ATOMIC_SEQ_CST);
    }
}

} // namespace menhir::scheduler
