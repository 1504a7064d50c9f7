// A virtual CPU: its register file, its VMCS and its scheduling unit.
#pragma once
#include "kernel/lib/spinlock.hpp"
#include "kernel/lib/types.hpp"
#include "kernel/sched/credit.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/guest_area.hpp"
#include "vmm/msr_policy.hpp"
#include "vmm/runstate_account.hpp"
#include "vmm/vlapic_state.hpp"
#include <cstddef>
#include <cstdint>

namespace menhir {

struct Domain;

// Saved by the exit stub (arch/x86/vmx/world_switch.S) with pushes that end
// at HOST_RSP = &regs + 1, so the order is the reverse of the pushes.
struct GuestRegs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};

struct VcpuContext {
    GuestRegs regs;
    uint64_t launched;   // 0 until the first VMLAUNCH; read by the stub
};
static_assert(offsetof(VcpuContext, launched) == 120, "world_switch.S relies on this offset");

// MSRs the guest uses directly (no exits) that VM entry/exit do not switch:
// Menhir does not use them itself, so they change only when vCPUs do.
struct LazyMsrs {
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base, tsc_aux;
};

// Registers with no VMCS field that the guest uses without exits: the
// guest's own while it is loaded, switched when the vCPU changes. The
// hypervisor neither faults (CR2) nor arms breakpoints: VM exit sets DR7 to
// 0x400 and DEBUGCTL to 0 (SDM Vol 3C 28.5.1), so DR0-DR3 are inert on it.
struct LazyRegs {
    uint64_t cr2, dr0, dr1, dr2, dr3, dr6;
};

struct Vcpu {
    VcpuContext ctx;              // first: the stub addresses it directly
    Domain* domain;
    uint32_t id;
    uint16_t vpid;
    HostPhys vmcs;
    bool up;                      // started (vCPU 0 at build, others by VCPUOP_up)
    bool initialised;             // has a start state (vCPU 0 at build, others by VCPUOP_initialise)
    bool long_mode;               // EFER.LMA, mirrored from the "IA-32e mode guest" entry control
    uint32_t host_cpu;            // CPU whose host state the VMCS holds (~0u: none yet)
    // Loaded on a CPU, from load() to the end of unload(). A vCPU woken on
    // another CPU may be picked there while the CPU it blocked on is still
    // unloading it: that CPU's VMPTRLD waits for this to clear, else both
    // would use the VMCS at once (the VMCLEAR here turning the other's
    // VMRESUME into VM-instruction error 5, SDM Vol 3C 31.4).
    bool resident;
    LazyMsrs msrs;
    LazyRegs lazy;                // CR2, DR0-DR3, DR6 (DR7 and DEBUGCTL are VMCS guest-state fields)
    uint64_t xcr0;                // the guest's XCR0 (1 until it sets one)
    HostPhys fpu;                 // its x87/SSE/AVX state while it is not loaded (fpu::area_frames() frames)
    msr_policy::TscState tsc;     // TSC offset (in the VMCS too) and IA32_TSC_ADJUST
    bool cpuid_faulting;          // MSR_MISC_FEATURES_ENABLES bit 0: CPUID at CPL > 0 takes #GP
    sched::Unit unit;
    uint64_t exits;               // VM exits taken, for the `d` debug key
    xen::VcpuInfo* info;          // its vcpu_info: in shared_info, or where VCPUOP_register_vcpu_info put it
    HostPhys info_page;           // the frame of a registered vcpu_info (a reference is held on it)
    volatile bool kick;           // an upcall may be due: look before the next VM entry
    volatile bool polling;        // blocked in SCHEDOP_poll
    uint64_t timer_deadline_ns;   // singleshot timer (scheduler::now_ns() time), 0 = none
    uint64_t poll_deadline_ns;    // SCHEDOP_poll timeout, 0 = none
    // Its local APIC (vmm/vlapic.cpp). Other CPUs deliver IPIs and timer
    // interrupts into it: lapic_lock covers lapic and lapic_nmi.
    Spinlock lapic_lock;
    vlapic::State lapic;          // CR8 is its TPR[7:4]
    bool lapic_nmi;               // an NMI IPI waits for the next entry
    bool lapic_virtualised;       // its VMCS has the CPU's APIC virtualisation on (vlapic::configure)
    bool wait_for_sipi;           // INIT parked it: a SIPI starts it in real mode
    uint64_t lapic_deadline_ns;   // the LVT timer's (vcpu_timer's list), 0 = none
    // Its runstate (vmm/runstate.cpp) and where the guest registered its
    // copy: runstate_lock covers the frames against a re-registration.
    Spinlock runstate_lock;
    runstate::Account runstate;
    GuestArea runstate_area;
    // The second copy of its time info the guest may register
    // (VCPUOP_register_vcpu_time_memory_area, Linux's vDSO clock), kept with
    // vcpu_info's: time_area_lock covers the frames against a re-registration.
    Spinlock time_area_lock;
    GuestArea time_area;
};

} // namespace menhir
