/* First instructions of a secondary vCPU started by smp.cpp through
 * VCPUOP_initialise in VCPU_HVM_MODE_64B: long mode, paging on with our page
 * tables, flat segments whose selectors mean nothing to our GDT, RFLAGS = 2,
 * RSP = its own stack, RDI = vCPU id, RSI = the function to run. Loads our
 * GDT and segments, then calls ap_start(vcpu, fn) (smp.cpp), which does
 * not return. */

#define KERNEL_CS64     0x08
#define KERNEL_DS       0x10

    .text
    .code64
    .globl  ap_entry64
    .type   ap_entry64, @function
    .balign 16
ap_entry64:
    cli
    cld
    lgdt    pvh_gdt_desc(%rip)
    mov     $KERNEL_DS, %eax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %ax, %fs
    mov     %ax, %gs
    pushq   $KERNEL_CS64
    lea     1f(%rip), %rax
    push    %rax
    lretq
1:
    xor     %ebp, %ebp
    and     $-16, %rsp
    call    ap_start
2:  cli
    hlt
    jmp     2b
    .size   ap_entry64, . - ap_entry64

    .section .note.GNU-stack, "", @progbits
