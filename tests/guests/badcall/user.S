/* Ring-3 bodies for badcall (entered through lib/user_mode.S): each makes
 * one hypercall and comes back with its result in %rax through `int $0x80`.
 * They run from a page the guest marked user-accessible. */

    .text
    .code64

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


    .section .note.GNU-stack, "", @progbits
