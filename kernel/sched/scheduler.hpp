// The per-CPU scheduling loop around the credit policy (kernel/sched/credit):
// which vCPU each CPU runs, loading its VMCS, slices on the VMX-preemption
// timer, idling with HLT, and waking CPUs with IPIs.
#pragma once
#include <cstdint>

namespace menhir {
struct Domain;
struct Vcpu;

namespace scheduler {
void init(uint32_t cpu_count);                 // BSP, after the APs are up
void add(Vcpu& v);                             // a new vCPU, blocked until wake()
void remove(Vcpu& v);                          // a vCPU about to be freed (not loaded anywhere)
void wake(Vcpu& v);                            // runnable; pokes the CPU that should run it
void block_current();                          // the running vCPU sleeps (HLT, SCHEDOP_block) unless an upcall is due
void kick(Vcpu& v);                            // an event may be due for v: wake it or make it look before entry
void yield_current();                          // SCHEDOP_yield
void preemption_timer_exit();                  // VMX-preemption timer exit: the slice's next part, or the end
void stop_domain(Domain& d);                   // shut down or crashed: run none of its vCPUs again
void stop_vcpu(Vcpu& v);                       // take one vCPU off whatever CPU runs it
// xl vcpu-pin: false if `hard` holds no CPU that exists. A vCPU running
// where it may no longer is moved at once.
[[nodiscard]] bool set_affinity(Vcpu& v, uint64_t hard, uint64_t soft);
// A consistent view of a vCPU's scheduling state (xl vcpu-list, xl list).
struct VcpuView { bool running; bool blocked; uint32_t cpu; uint64_t runtime_ns; uint64_t hard; uint64_t soft; };
[[nodiscard]] VcpuView view(const Vcpu& v);
void flush_ept_elsewhere(Domain& d);           // other CPUs running d leave guest mode and flush its EPT before re-entering
void schedule();                               // pick (or keep) the vCPU to run on this CPU
[[noreturn]] void run();                       // each CPU, once boot is done: never returns
[[nodiscard]] uint64_t now_ns();
} // namespace scheduler
} // namespace menhir
