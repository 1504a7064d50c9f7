/* The bench guest's two local-APIC interrupt handlers: each counts its
 * interrupt and writes EOI, one through the xAPIC page (0xfee000b0), one
 * through the x2APIC MSR (0x80b), then returns. */

    .text
    .code64

    .globl  bench_xapic_isr
    .type   bench_xapic_isr, @function
bench_xapic_isr:
    push    %rcx
    lock incl bench_lapic_count(%rip)
    mov     $0xfee00000, %ecx               /* above 2 GiB: no 32-bit absolute form */
    movl    $0, 0xb0(%rcx)
    pop     %rcx
    iretq
    .size   bench_xapic_isr, . - bench_xapic_isr

    .globl  bench_x2apic_isr
    .type   bench_x2apic_isr, @function
bench_x2apic_isr:
    push    %rax
    push    %rcx
    push    %rdx
    lock incl bench_lapic_count(%rip)
    mov     $0x80b, %ecx
    xor     %eax, %eax
    xor     %edx, %edx
    wrmsr
    pop     %rdx
    pop     %rcx
    pop     %rax
    iretq
    .size   bench_x2apic_isr, . - bench_x2apic_isr

    .bss
    .balign 4
    .globl  bench_lapic_count
bench_lapic_count:
    .skip   4

    .section .note.GNU-stack, "", @progbits
