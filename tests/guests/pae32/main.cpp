// pae32: a 32-bit guest that turns on PAE paging (CR4.PAE, CR3, CR0.PG with
// EFER.LME clear), as 32-bit PAE kernels do. With EPT the CPU takes the four
// PDPTEs from the VMCS at VM entry, so the hypervisor that emulates the MOV
// to CR0 must load them; then a MOV to CR3 must switch to a second table
// whose extra PDPTE maps an alias. First a table with a reserved PDPTE bit:
// enabling paging on it must take #GP and leave paging off.
#include "../lib/check.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

extern "C" const char guest_name[] = "pae32";

static_assert(sizeof(void*) == 4, "pae32 must be built with -m32");

extern "C" {
void gp_catcher();
volatile uint32_t gp_count;
volatile uint32_t gp_skip;   // bytes of the faulting instruction to step over
}

// #GP: count it, step over the instruction, drop the error code.
asm(R"(
    .text
    .globl gp_catcher
gp_catcher:
    push    %eax
    mov     gp_skip, %eax
    add     %eax, 8(%esp)
    incl    gp_count
    pop     %eax
    add     $4, %esp
    iret
)");

namespace {

constexpr uint64_t P = 1, RW = 2, PS = 1u << 7;
constexpr uint32_t CR0_PG = 1u << 31, CR4_PAE = 1u << 5;
constexpr uint32_t GIB = 1u << 30;

alignas(4096) uint64_t pd[512];          // 0..1 GiB with 2 MiB pages
alignas(32) uint64_t pdpt_main[4];       // [0] -> pd
alignas(32) uint64_t pdpt_alias[4];      // [0] and [1] -> pd: linear 1 GiB + x aliases x
alignas(32) uint64_t pdpt_bad[4];        // [0] -> pd with reserved bit 1 set

volatile uint32_t marker = 0x5a5a1234;

uint32_t cr0() { uint32_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }

// MOV to CR0 from %eax is 0F 22 C0: 3 bytes.
void write_cr0(uint32_t v) { asm volatile("mov %0, %%cr0" : : "a"(v) : "memory"); }
void write_cr3(uint32_t v) { asm volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
void write_cr4(uint32_t v) { asm volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
uint32_t cr4() { uint32_t v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }

uint32_t addr(const volatile void* p) { return reinterpret_cast<uint32_t>(p); }

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    Checks c;
    for (uint32_t i = 0; i < 512; ++i) pd[i] = (static_cast<uint64_t>(i) << 21) | P | RW | PS;
    pdpt_main[0] = addr(pd) | P;
    pdpt_alias[0] = addr(pd) | P;
    pdpt_alias[1] = addr(pd) | P;
    pdpt_bad[0] = addr(pd) | P | RW;     // bit 1 is reserved in a PDPTE (SDM Vol 3A Table 4-8)
    idt_set_gate(13, gp_catcher, 0);
    gp_skip = 3;

    write_cr4(cr4() | CR4_PAE);
    write_cr3(addr(pdpt_bad));
    write_cr0(cr0() | CR0_PG);
    c.expect("CR0.PG with a reserved PDPTE bit: #GP", gp_count, 1);
    c.expect("CR0.PG with a reserved PDPTE bit: paging stays off", (cr0() & CR0_PG) != 0, 0);

    write_cr3(addr(pdpt_main));
    write_cr0(cr0() | CR0_PG);
    print("pae32: paging on\n");
    c.expect("CR0.PG with a good PDPT: no #GP", gp_count, 1);
    c.expect("CR0.PG set", (cr0() & CR0_PG) != 0, 1);

    write_cr3(addr(pdpt_alias));
    const volatile uint32_t* alias = reinterpret_cast<const volatile uint32_t*>(addr(&marker) + GIB);
    c.expect("read through the second PDPT's alias", *alias == 0x5a5a1234, 1);
    marker = 0x77;
    c.expect("write seen through the alias", *alias == 0x77, 1);
    write_cr3(addr(pdpt_main));
    c.expect("back on the first PDPT", marker == 0x77, 1);

    print("pae32: %u passed, %u failed\n", c.passed, c.failed);
    poweroff();
}
