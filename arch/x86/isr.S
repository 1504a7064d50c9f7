/* Interrupt and exception entry. Every vector has a 16-byte stub at
 * isr_stubs + 16 * vector that makes the frame uniform (a zero error code
 * where the CPU pushes none: SDM Vol 3A 6.13) and pushes the vector number;
 * isr_common saves the general registers and calls interrupt_dispatch with
 * a pointer to the resulting InterruptFrame (arch/x86/idt.hpp). */


    .section .text
    .balign 16
    .global isr_stubs
isr_stubs:
    .set vector, 0
    .rept 256
    .balign 16
    .if (vector == 8) || (vector >= 10 && vector <= 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    pushq   $0
    .endif
    pushq   $vector
    jmp     isr_common
    .set vector, vector + 1
    .endr

isr_common:
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %rbp
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, %rdi
    cld
    call    interrupt_dispatch
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rbp
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rbx
    pop     %rax
    add     $16, %rsp                       /* vector and error code */
    iretq
