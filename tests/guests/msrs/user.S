/* Ring-3 and fault pieces for msrs (the excursion itself is
 * lib/user_mode.S). The #GP catcher counts a fault and steps over the
 * 2-byte instruction that raised it (RDMSR, WRMSR, CPUID). */

    .text
    .code64

/* IDT vector 13: error code, then RIP, on the stack. */
    .globl  gp_catcher
    .type   gp_catcher, @function
gp_catcher:
    addq    $2, 8(%rsp)
    lock incl gp_count(%rip)
    add     $8, %rsp
    iretq
    .size   gp_catcher, . - gp_catcher

/* Ring 3: CPUID leaf 0; %rax is its max leaf (nonzero), or 0 if it faulted. */
    .globl  user_cpuid
user_cpuid:
    xor     %eax, %eax
    xor     %ecx, %ecx
    cpuid
    int     $0x80

    .bss
    .balign 4
    .globl  gp_count
gp_count:
    .skip   4

    .section .note.GNU-stack, "", @progbits
