/* Interrupt stubs for lapic: each counts its vector, records the x2APIC ID
 * of the vCPU that took it and the ISR word holding its bit (read before
 * the EOI), then writes EOI (MSR 0x80b) and returns. The #GP catcher counts
 * a fault and steps over the 2-byte RDMSR/WRMSR that raised it. */

    .text
    .code64

.macro LAPIC_STUB name, vector, idx
    .globl  \name
    .type   \name, @function
\name:
    push    %rax
    push    %rcx
    push    %rdx
    mov     $(0x810 + (\vector >> 5)), %ecx
    rdmsr
    mov     %eax, isr_seen + 4 * \idx(%rip)
    mov     $0x802, %ecx
    rdmsr
    mov     %eax, id_seen + 4 * \idx(%rip)
    lock incl counts + 4 * \idx(%rip)
    mov     $0x80b, %ecx
    xor     %eax, %eax
    xor     %edx, %edx
    wrmsr
    pop     %rdx
    pop     %rcx
    pop     %rax
    iretq
    .size   \name, . - \name
.endm

    LAPIC_STUB vec_self, 0x40, 0
    LAPIC_STUB vec_tpr, 0x50, 1
    LAPIC_STUB vec_oneshot, 0x60, 2
    LAPIC_STUB vec_periodic, 0x61, 3
    LAPIC_STUB vec_ipi, 0x70, 4

/* The same in xAPIC mode, through the page at 0xfee00000: ISR word at
 * 0x100 + 16 * (vector >> 5), ID at 0x20 (bits 31:24), EOI at 0xb0. */
.macro XAPIC_STUB name, vector, idx
    .globl  \name
    .type   \name, @function
\name:
    push    %rax
    push    %rcx
    mov     $0xfee00000, %ecx               /* above 2 GiB: no 32-bit absolute form */
    mov     0x100 + 16 * (\vector >> 5)(%rcx), %eax
    mov     %eax, isr_seen + 4 * \idx(%rip)
    mov     0x20(%rcx), %eax
    shr     $24, %eax
    mov     %eax, id_seen + 4 * \idx(%rip)
    lock incl counts + 4 * \idx(%rip)
    movl    $0, 0xb0(%rcx)
    pop     %rcx
    pop     %rax
    iretq
    .size   \name, . - \name
.endm

    XAPIC_STUB vec_xself, 0x41, 5

/* What vCPU 2 runs after INIT and SIPI (copied to the page of the SIPI
 * vector): real mode, CS = vector << 8; it writes a magic word at offset
 * 0xff0 of its page and halts for good. */
    .globl  sipi_tramp, sipi_tramp_end
sipi_tramp:
    .code16
    movl    $0x51505153, %eax
    movl    %eax, %cs:0xff0
    cli
1:  hlt
    jmp     1b
    .code64
sipi_tramp_end:

/* IDT vector 13: error code, then RIP, on the stack. */
    .globl  gp_catcher
    .type   gp_catcher, @function
gp_catcher:
    addq    $2, 8(%rsp)
    lock incl gp_count(%rip)
    add     $8, %rsp
    iretq
    .size   gp_catcher, . - gp_catcher

    .bss
    .balign 4
    .globl  gp_count, counts, isr_seen, id_seen
gp_count:
    .skip   4
counts:
    .skip   4 * 6
isr_seen:
    .skip   4 * 6
id_seen:
    .skip   4 * 6

    .section .note.GNU-stack, "", @progbits
