/* Ring-3 excursions for test guests: enter_user() drops to CPL 3 at a
 * given entry; the ring-3 code comes back with its result in %rax through
 * `int $0x80` (a DPL-3 gate to user_return_gate, which the guest installs),
 * which resumes enter_user's caller as if enter_user had returned that
 * value. The selectors are the runtime's GDT (lib/runtime.cpp). */

#define KERNEL_DS   0x10
#define USER_DS     (0x20 | 3)
#define USER_CS64   (0x28 | 3)

    .text
    .code64

/* long enter_user(void (*entry)(), void *user_stack_top) */
    .globl  enter_user
    .type   enter_user, @function
enter_user:
    push    %rbx
    push    %rbp
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, saved_kernel_rsp(%rip)
    pushq   $USER_DS                    /* ss */
    push    %rsi                        /* rsp */
    pushq   $0x2                        /* rflags: interrupts stay off */
    pushq   $USER_CS64                  /* cs */
    push    %rdi                        /* rip */
    iretq
    .size   enter_user, . - enter_user

/* IDT vector 0x80, DPL 3: the frame on the TSS RSP0 stack is dropped. */
    .globl  user_return_gate
    .type   user_return_gate, @function
user_return_gate:
    mov     saved_kernel_rsp(%rip), %rsp
    mov     $KERNEL_DS, %ecx
    mov     %cx, %ds
    mov     %cx, %es
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbp
    pop     %rbx
    ret
    .size   user_return_gate, . - user_return_gate

    .bss
    .balign 8
saved_kernel_rsp:
    .skip   8

    .section .note.GNU-stack, "", @progbits
