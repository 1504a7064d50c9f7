/* Ring-3 excursions for badcall: enter_user() drops to CPL 3 at a given
 * entry; the ring-3 code makes one hypercall and comes back with its result
 * in %rax through `int $0x80` (a DPL-3 gate to user_return_gate), which
 * resumes enter_user's caller as if enter_user had returned that value. */

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

/* IDT vector 0x80, DPL 3. Arrives on the TSS RSP0 stack; that frame is
 * simply dropped. */
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

/* Ring-3 bodies (run from a page the guest marked user-accessible). */
    .globl  user_xen_version
user_xen_version:
    mov     $17, %eax                   /* xen_version */
    xor     %edi, %edi                  /* XENVER_version */
    xor     %esi, %esi
    vmcall
    int     $0x80

    .globl  user_sched_shutdown
user_sched_shutdown:
    mov     $29, %eax                   /* sched_op */
    mov     $2, %edi                    /* SCHEDOP_shutdown */
    lea     user_shutdown_reason(%rip), %rsi
    vmcall
    int     $0x80

    .globl  user_console_write
user_console_write:
    mov     $18, %eax                   /* console_io */
    xor     %edi, %edi                  /* CONSOLEIO_write */
    mov     $(user_text_end - user_text), %esi
    lea     user_text(%rip), %rdx
    vmcall
    int     $0x80

    .balign 4
user_shutdown_reason:
    .long   0                           /* SHUTDOWN_poweroff */
user_text:
    .ascii  "badcall: ring 3 console write got through (BUG)\n"
user_text_end:

    .bss
    .balign 8
saved_kernel_rsp:
    .skip   8

    .section .note.GNU-stack, "", @progbits
