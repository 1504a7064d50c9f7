/* Application-processor start-up code. The BSP copies it to the physical
 * page AP_TRAMPOLINE (below 1 MiB, as the SIPI vector requires: SDM Vol 3A
 * 9.4.4.1, 10.6.1) and fills the fields at the end before each INIT-SIPI-SIPI.
 * Real mode -> protected mode -> long mode on the boot page tables (which
 * identity-map this page), then a jump to ap_entry_high. */
#define AP_TRAMPOLINE 0x8000
#define ABS(sym) (AP_TRAMPOLINE + (sym) - ap_trampoline_start)

    .section .rodata
    .global ap_trampoline_start, ap_trampoline_end
    .global ap_tr_boot_cr3, ap_tr_nx, ap_tr_kernel_cr3, ap_tr_stack, ap_tr_entry, ap_tr_arg, ap_tr_alive
    .code16
ap_trampoline_start:
    cli
    cld
    mov     %cs, %ax
    mov     %ax, %ds
    lgdtl   ap_tr_gdt_ptr - ap_trampoline_start
    mov     %cr0, %eax
    or      $1, %eax
    mov     %eax, %cr0
    ljmpl   $0x08, $ABS(ap_tr_pm32)

    .code32
ap_tr_pm32:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %cr4, %eax
    or      $0x20, %eax                     /* PAE */
    mov     %eax, %cr4
    mov     ABS(ap_tr_boot_cr3), %eax
    mov     %eax, %cr3
    mov     $0xc0000080, %ecx               /* EFER: LME, and NXE when the BSP has it */
    rdmsr
    or      $0x100, %eax
    testl   $1, ABS(ap_tr_nx)
    jz      1f
    or      $0x800, %eax
1:  wrmsr
    mov     %cr0, %eax
    or      $0x80010001, %eax               /* PG | WP | PE */
    mov     %eax, %cr0
    ljmp    $0x18, $ABS(ap_tr_lm64)

    .code64
ap_tr_lm64:
    movl    $1, ABS(ap_tr_alive)
    mov     ABS(ap_tr_arg), %rdi
    mov     ABS(ap_tr_kernel_cr3), %rsi
    mov     ABS(ap_tr_stack), %rdx
    mov     ABS(ap_tr_entry), %rax
    jmp     *%rax

    .balign 8
ap_tr_gdt:
    .quad   0
    .quad   0x00cf9a000000ffff              /* 0x08: 32-bit code */
    .quad   0x00cf92000000ffff              /* 0x10: data */
    .quad   0x00af9a000000ffff              /* 0x18: 64-bit code */
ap_tr_gdt_ptr:
    .word   ap_tr_gdt_ptr - ap_tr_gdt - 1
    .long   ABS(ap_tr_gdt)
    .balign 8
ap_tr_boot_cr3:   .long 0
ap_tr_nx:         .long 0
ap_tr_alive:      .long 0
                  .long 0
ap_tr_kernel_cr3: .quad 0
ap_tr_stack:      .quad 0
ap_tr_entry:      .quad 0
ap_tr_arg:        .quad 0
ap_trampoline_end:
