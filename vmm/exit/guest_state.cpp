#include "vmm/exit/guest_state.hpp"

namespace menhir::guest {
namespace {
// x86 register encoding -> GuestRegs member (4 = RSP is in the VMCS).
uint64_t* slot(Vcpu& v, uint32_t index)
{
    GuestRegs& r = v.ctx.regs;
    uint64_t* const slots[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, nullptr, &r.rbp, &r.rsi, &r.rdi,
                                 &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
    return slots[index & 15];
}
} // namespace

uint64_t read_gpr(Vcpu& v, uint32_t index)
{
    uint64_t* p = slot(v, index);
    return p ? *p : vmx::read(vmx::Field::guest_rsp);
}

void write_gpr(Vcpu& v, uint32_t index, uint64_t value)
{
    if (uint64_t* p = slot(v, index))
        *p = value;
    else
        vmx::write(vmx::Field::guest_rsp, value);
}

} // namespace menhir::guest
