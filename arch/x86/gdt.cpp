#include "arch/x86/gdt.hpp"

namespace menhir::gdt {

void load(uint64_t* table, Tss* tss_block)
{
    const auto base = reinterpret_cast<uint64_t>(tss_block);
    const uint64_t limit = sizeof(Tss) - 1;
    table[0] = 0;
    table[1] = 0x00af9a000000ffff;   // 64-bit code, DPL 0
    table[2] = 0x00cf92000000ffff;   // data, DPL 0
    // 16-byte available 64-bit TSS descriptor (type 9), SDM Vol 3A 7.2.3.
    table[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
               (((base >> 24) & 0xff) << 56);
    table[4] = base >> 32;
    tss_block->iomap_base = sizeof(Tss);   // no I/O permission bitmap

    struct [[gnu::packed]] { uint16_t limit; uint64_t base; } gdtr{entries * 8 - 1, reinterpret_cast<uint64_t>(table)};
    asm volatile(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "mov %2, %%ds\n\t"
        "mov %2, %%es\n\t"
        "mov %2, %%ss\n\t"
        "ltr %3"
        :: "m"(gdtr), "i"(kernel_code), "r"(kernel_data), "r"(tss)
        : "rax", "memory");
}

} // namespace menhir::gdt
