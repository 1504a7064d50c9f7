// taskgate32: a 32-bit guest that handles #DF in its own task, as 32-bit
// kernels do: IDT entry 8 is a task gate to a TSS of its own. A #GP whose
// delivery faults again (vector 13 lies past the IDT limit) becomes a #DF,
// which switches tasks; VMX cannot, so the hypervisor must. The #DF task
// checks what the switch did (its error code on its stack, NT, the back
// link, busy bits, CR0.TS, the old task's state in the old TSS), steps the
// old task over the faulting instruction and returns to it with IRET (NT
// set: a task switch back), where the old task checks the way back. Then
// the other two ways in: CALL to a TSS (nested, returns with IRET) and JMP
// to a TSS (not nested, returns with a JMP to the first task).
#include "../lib/check.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

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
void call_task_entry();
void call_task_main();
void jmp_task_entry();
void jmp_task_main();
alignas(16) uint8_t call_stack[4096];
alignas(16) uint8_t jmp_stack[4096];
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

    .globl call_task_entry, jmp_task_entry
call_task_entry:
    call    call_task_main
    iret
    jmp     call_task_entry
jmp_task_entry:
    call    jmp_task_main
    ljmp    $0x38, $0
    jmp     jmp_task_entry
)");

namespace {

constexpr uint16_t MAIN_TSS = 0x38, DF_TSS = 0x40, CALL_TSS = 0x48, JMP_TSS = 0x50;
constexpr uint32_t NT = 1u << 14, CR0_TS = 1u << 3;

Checks c;
alignas(8) uint64_t gdt[11];
alignas(8) uint64_t idt[9];       // vectors 0..8: 13 lies beyond the limit
Tss32 main_tss, df_tss, call_tss, jmp_tss;
volatile bool df_ran = false, call_ran = false, jmp_ran = false;

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

void init_task(Tss32& t, void (*entry)(), uint8_t* stack_top) {
    t.iomap = sizeof(Tss32);
    t.eip = code_addr(entry);
    t.eflags = 0x2;
    t.esp = addr(stack_top);
    t.cs = KERNEL_CS32;
    t.ss = t.ds = t.es = t.fs = t.gs = KERNEL_DS;
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

extern "C" void call_task_main() {
    call_ran = true;
    c.expect("CALL: TR is the called task's", str(), CALL_TSS);
    c.expect("CALL: NT set", (eflags() & NT) != 0, 1);
    c.expect("CALL: back link to the caller", call_tss.link, MAIN_TSS);
    c.expect("CALL: called TSS busy", tss_type(CALL_TSS), 0xb);
    c.expect("CALL: caller's TSS still busy", tss_type(MAIN_TSS), 0xb);
}

extern "C" void jmp_task_main() {
    jmp_ran = true;
    c.expect("JMP: TR is the new task's", str(), JMP_TSS);
    c.expect("JMP: NT clear", (eflags() & NT) != 0, 0);
    c.expect("JMP: no back link written", jmp_tss.link, 0);
    c.expect("JMP: new TSS busy", tss_type(JMP_TSS), 0xb);
    c.expect("JMP: old TSS no longer busy", tss_type(MAIN_TSS), 0x9);
}

namespace {

void call_and_jmp_cases() {
    asm volatile("lcall $0x48, $0" : : : "memory");
    c.expect("CALL: the called task ran", call_ran, 1);
    c.expect("CALL: back by IRET, TR is the caller's", str(), MAIN_TSS);
    c.expect("CALL: IRET left the called TSS not busy", tss_type(CALL_TSS), 0x9);
    c.expect("CALL: NT clear after the return", (eflags() & NT) != 0, 0);
    asm volatile("ljmp $0x50, $0" : : : "memory");
    c.expect("JMP: the new task ran", jmp_ran, 1);
    c.expect("JMP: back by JMP, TR is the first task's", str(), MAIN_TSS);
    c.expect("JMP: the JMP back left its TSS not busy", tss_type(JMP_TSS), 0x9);
    c.expect("JMP: first TSS busy again", tss_type(MAIN_TSS), 0xb);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    for (unsigned i = 0; i < 7; ++i) gdt[i] = pvh_gdt[i];
    gdt[MAIN_TSS / 8] = tss_descriptor(&main_tss);
    gdt[DF_TSS / 8] = tss_descriptor(&df_tss);
    gdt[CALL_TSS / 8] = tss_descriptor(&call_tss);
    gdt[JMP_TSS / 8] = tss_descriptor(&jmp_tss);
    main_tss.iomap = sizeof(Tss32);
    init_task(df_tss, df_entry, df_stack + sizeof(df_stack));
    init_task(call_tss, call_task_entry, call_stack + sizeof(call_stack));
    init_task(jmp_tss, jmp_task_entry, jmp_stack + sizeof(jmp_stack));
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
    call_and_jmp_cases();
    asm volatile("clts");
    print("taskgate32: %u passed, %u failed\n", c.passed, c.failed);
    poweroff();
}
