// Setting up ring-3 excursions (lib/user_mode.hpp): user access to the code
// and a stack, and the int $0x80 gate back.
#include "user_mode.hpp"
#include "runtime/runtime.hpp"

#include <cstddef>
#include <cstdint>

namespace guest {
namespace {

alignas(16) uint8_t user_stack[4096];

// The runtime maps 0..4 GiB with 2 MiB pages and no user access: allow it on
// the page holding p.
void make_user_accessible(const volatile void* p)
{
    uint64_t* pde = identity_pde(reinterpret_cast<uintptr_t>(p));
    if (pde != nullptr) *pde |= PTE_USER;
}

} // namespace

void* prepare_user_mode(const void* const* code, size_t count)
{
    for (size_t i = 0; i < count; ++i) make_user_accessible(code[i]);
    make_user_accessible(user_stack);
    make_user_accessible(user_stack + sizeof(user_stack) - 1);
    uintptr_t cr3;
    asm volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");   // drop the old PDEs from the TLB
    idt_set_gate(0x80, user_return_gate, 3);
    return user_stack + sizeof(user_stack);
}

} // namespace guest
