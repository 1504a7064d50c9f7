// taskgate32: a 32-bit guest that handles #DF in its own task, as 32-bit
// kernels do: IDT entry 8 is a task gate to a TSS of its own. A #GP whose
// delivery faults again (vector 13 lies past the IDT limit) becomes a #DF,
// which switches tasks; VMX cannot, so the hypervisor must. The #DF task
// checks what the switch did (its error code on its stack, NT, the back
// link, busy bits, CR0.TS, the old task's state in the old TSS), steps the
// old task over the faulting instruction and returns to it with IRET (NT
// set: a task switch back), where the old task checks the way back.
#include "../lib/check.hpp"
#include "../lib/print.hpp"
#include "../lib/runtime.hpp"

using namespace guest;

extern "C" const char guest_name[] = "taskgate32";

static_assert(sizeof(void*) == 4, "taskgate32 must be built with -m32");

struct [[gnu::packed]] Tss32 {
    uint16_t link, r0;
    uint32_t esp0;
    uint16_t ss0, r1;
    uint32_t esp1;
    uint16_t ss1, r2;
    uint32_t esp2;
    uint16_t ss2, r3;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
    uint16_t trap, iomap;
};
static_assert(sizeof(Tss32) == 104);

extern "C" {
extern uint64_t pvh_gdt[];
extern void (*const isr_stub_table[32])();
void df_entry();
void df_after_iret();
void df_fault_insn();
void df_main();
volatile uint32_t df_error = 0xffffffff;
alignas(16) uint8_t df_stack[8192];
}

// The #DF task: its error code, its checks, back to the old task, and
// again from the top should it be entered a second time.
asm(R"(
    .text
    .globl df_entry, df_after_iret
df_entry:
    pop     %eax
    mov     %eax, df_error
    call    df_main
    iret
df_after_iret:
    jmp     df_entry
)");

namespace {

constexpr uint16_t MAIN_TSS = 0x38, DF_TSS = 0x40;
constexpr uint32_t NT = 1u << 14, CR0_TS = 1u << 3;

Checks c;
alignas(8) uint64_t gdt[9];
alignas(8) uint64_t idt[9];       // vectors 0..8: 13 lies beyond the limit
Tss32 main_tss, df_tss;
volatile bool df_ran = false;

struct [[gnu::packed]] TableRegister {
    uint16_t limit;
    uint32_t base;
};

uint32_t addr(const volatile void* p) { return reinterpret_cast<uint32_t>(p); }
uint32_t code_addr(void (*f)()) { return reinterpret_cast<uint32_t>(f); }

uint64_t tss_descriptor(const Tss32* t) {
    uint64_t base = addr(t), limit = sizeof(Tss32) - 1;
    return (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
           (((base >> 24) & 0xff) << 56);
}
unsigned tss_type(uint16_t sel) { return (gdt[sel / 8] >> 40) & 0xf; }
uint16_t str() {
    uint16_t s;
    asm volatile("str %0" : "=r"(s));
    return s;
}
uint32_t eflags() {
    uint32_t f;
    asm volatile("pushf; pop %0" : "=r"(f));
    return f;
}
uint32_t cr0() {
    uint32_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

}  // namespace

extern "C" void df_main() {
    df_ran = true;
    print("taskgate32: double fault handled in its task\n");
    c.expect("#DF error code", df_error, 0);
    c.expect("TR is the #DF task's", str(), DF_TSS);
    c.expect("NT set in the nested task", (eflags() & NT) != 0, 1);
    c.expect("back link to the old task", df_tss.link, MAIN_TSS);
    c.expect("CR0.TS set by the switch", (cr0() & CR0_TS) != 0, 1);
    c.expect("#DF TSS busy", tss_type(DF_TSS), 0xb);
    c.expect("old TSS still busy (nested)", tss_type(MAIN_TSS), 0xb);
    c.expect("old EIP saved at the faulting instruction", main_tss.eip == code_addr(df_fault_insn), 1);
    c.expect("old EAX saved", main_tss.eax, 0x1230);
    c.expect("old DS saved", main_tss.ds, KERNEL_DS);
    c.expect("old CS saved", main_tss.cs, KERNEL_CS32);
    // Resume the old task past `mov %ax, %ds` (8E D8) with a mark in EAX.
    main_tss.eip += 2;
    main_tss.eax = 0xc0ffee;
}

extern "C" void guest_main(const xen::hvm_start_info*) {
    for (unsigned i = 0; i < 7; ++i) gdt[i] = pvh_gdt[i];
    gdt[MAIN_TSS / 8] = tss_descriptor(&main_tss);
    gdt[DF_TSS / 8] = tss_descriptor(&df_tss);
    main_tss.iomap = df_tss.iomap = sizeof(Tss32);
    df_tss.eip = code_addr(df_entry);
    df_tss.eflags = 0x2;
    df_tss.esp = addr(df_stack + sizeof(df_stack));
    df_tss.cs = KERNEL_CS32;
    df_tss.ss = df_tss.ds = df_tss.es = df_tss.fs = df_tss.gs = KERNEL_DS;
    TableRegister gdtr{sizeof(gdt) - 1, addr(gdt)};
    asm volatile("lgdt %0" : : "m"(gdtr) : "memory");
    asm volatile("ltr %w0" : : "r"(MAIN_TSS) : "memory");

    // Vectors 0-7: the runtime's crash handlers; 8: a task gate to the #DF TSS.
    for (unsigned v = 0; v < 8; ++v) {
        uint32_t off = code_addr(isr_stub_table[v]);
        idt[v] = (off & 0xffff) | (static_cast<uint64_t>(KERNEL_CS32) << 16) | (0x8eull << 40) |
                 (static_cast<uint64_t>(off >> 16) << 48);
    }
    idt[8] = (static_cast<uint64_t>(DF_TSS) << 16) | (0x85ull << 40);
    TableRegister idtr{sizeof(idt) - 1, addr(idt)};
    asm volatile("lidt %0" : : "m"(idtr) : "memory");

    // Selector 0x1230 is past the GDT limit: #GP(0x1230); its delivery
    // finds vector 13 past the IDT limit: #GP again, so #DF.
    uint32_t eax;
    asm volatile(
        "mov $0x1230, %%eax\n\t"
        ".globl df_fault_insn\n"
        "df_fault_insn:\n\t"
        "mov %%ax, %%ds\n\t"
        : "=a"(eax)
        :
        : "memory");
    c.expect("the #DF task ran", df_ran, 1);
    c.expect("back in the old task, EAX from its TSS", eax, 0xc0ffee);
    c.expect("TR is the old task's again", str(), MAIN_TSS);
    c.expect("IRET left the #DF TSS not busy", tss_type(DF_TSS), 0x9);
    c.expect("old TSS busy", tss_type(MAIN_TSS), 0xb);
    c.expect("NT clear in the old task", (eflags() & NT) != 0, 0);
    c.expect("#DF task saved at its IRET's successor", df_tss.eip == code_addr(df_after_iret), 1);
    c.expect("#DF task saved NT clear (IRET)", (df_tss.eflags & NT) != 0, 0);
    asm volatile("clts");
    print("taskgate32: %u passed, %u failed\n", c.passed, c.failed);
    poweroff();
}
