// Xen hypercalls: VMCALL with the number in RAX and arguments in RDI, RSI,
// RDX, R10, R8 (32-bit guests: EBX, ECX, EDX, ESI, EDI), the result in RAX.
// One table maps numbers to handlers and says who may call them.
#pragma once
#include "vmm/abi/menhir.hpp"
#include "vmm/vcpu.hpp"
#include <cstdint>

namespace menhir {
struct Domain;
}

namespace menhir::hypercall {

// The argument registers, read only when a handler asks for them.
struct Args {
    GuestRegs* regs;
    bool is64;                    // the caller runs 64-bit code
    [[nodiscard]] uint64_t operator[](int i) const;
};

// A handler's result: an errno (negative), a value, or `preempted`, which
// means the handler updated the arguments to what is left and the guest
// re-executes the VMCALL (Xen's hypercall continuation), so no hypercall
// holds a CPU for long.
inline constexpr int64_t preempted = -0x7fffffffffffffffll;
using Handler = int64_t (*)(Vcpu& v, Args& args);

// Writes argument `i` back to the guest's register (for continuations).
void set_arg(const Args& args, int i, uint64_t value);

namespace detail {
inline constexpr uint8_t offsets64[5] = {offsetof(GuestRegs, rdi), offsetof(GuestRegs, rsi), offsetof(GuestRegs, rdx),
                                         offsetof(GuestRegs, r10), offsetof(GuestRegs, r8)};
inline constexpr uint8_t offsets32[5] = {offsetof(GuestRegs, rbx), offsetof(GuestRegs, rcx), offsetof(GuestRegs, rdx),
                                         offsetof(GuestRegs, rsi), offsetof(GuestRegs, rdi)};
} // namespace detail

inline uint64_t Args::operator[](int i) const
{
    const auto* base = reinterpret_cast<const uint8_t*>(regs);
    uint64_t v;
    __builtin_memcpy(&v, base + (is64 ? detail::offsets64[i] : detail::offsets32[i]), sizeof v);
    return is64 ? v : (v & 0xffffffff);   // 32-bit callers: upper halves are ignored
}

// The domain a hypercall names: itself (DOMID_SELF or its own id), or, for
// dom0 only, any other. nullptr with err = -EPERM or -ESRCH otherwise.
[[nodiscard]] Domain* target_domain(Vcpu& v, uint16_t domid, int64_t& err);

// MSR 0x40000000: fill the guest page at (value & ~0xfff) with one 32-byte
// stub per hypercall. False for #GP.
[[nodiscard]] bool write_page(Vcpu& v, uint64_t msr_value);

int64_t console_io(Vcpu& v, Args& args);
int64_t xen_version(Vcpu& v, Args& args);
int64_t sched_op(Vcpu& v, Args& args);
int64_t memory_op(Vcpu& v, Args& args);
int64_t hvm_op(Vcpu& v, Args& args);
int64_t vcpu_op(Vcpu& v, Args& args);
int64_t vm_assist(Vcpu& v, Args& args);
int64_t event_channel_op(Vcpu& v, Args& args);
int64_t grant_table_op(Vcpu& v, Args& args);
int64_t domctl(Vcpu& v, Args& args);
int64_t sysctl(Vcpu& v, Args& args);
// A domain as domctl get_info and sysctl domain_list describe it.
[[nodiscard]] abi::DomainInfo domain_info(const Domain& d);

} // namespace menhir::hypercall
