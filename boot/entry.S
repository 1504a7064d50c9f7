/* 32-bit entry from GRUB (Multiboot2 spec 3.3: EAX = magic, EBX = info,
 * protected mode, paging off) to the higher-half C++ kernel.
 *
 * The boot page tables map the first 4 GiB three times with 2 MiB pages:
 * identity (so the switch to long mode and the AP trampoline keep running),
 * at the direct-map base 0xffff800000000000 (so C++ can read the multiboot2
 * information and the ACPI tables before it builds its own tables), and the
 * first 2 GiB at 0xffffffff80000000 where the kernel is linked. */

#define KERNEL_VMA      0xffffffff80000000
#define CR0_PE          (1 << 0)
#define CR0_WP          (1 << 16)
#define CR0_PG          (1 << 31)
#define CR4_PAE         (1 << 5)
#define MSR_EFER        0xc0000080
#define EFER_LME        (1 << 8)
#define EFER_NXE        (1 << 11)
#define PTE_P_RW        0x3
#define PDE_LARGE       0x83                /* present, writable, 2 MiB page */

    .section .boot.text, "ax"
    .code32
    .global _start
_start:
    cli
    cld
    mov     $boot_stack_top, %esp
    mov     %eax, %edi                      /* multiboot2 magic -> 1st C++ argument */
    mov     %ebx, %esi                      /* info address     -> 2nd C++ argument */

    /* Long mode is CPUID.80000001h:EDX bit 29. */
    mov     $0x80000000, %eax
    cpuid
    cmp     $0x80000001, %eax
    jb      no_long_mode
    mov     $0x80000001, %eax
    cpuid
    bt      $29, %edx
    jnc     no_long_mode
    mov     %edx, %ebp                      /* keep bit 20 (NX) for EFER */

    /* Clear the boot tables ourselves rather than trust the loader. */
    push    %edi
    mov     $boot_tables, %edi
    mov     $(boot_tables_end - boot_tables) / 4, %ecx
    xor     %eax, %eax
    rep stosl
    pop     %edi

    /* Four page directories = 2048 large pages covering 0..4 GiB. */
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $21, %eax
    or      $PDE_LARGE, %eax
    mov     %eax, boot_pd(, %ecx, 8)
    mov     %ecx, %eax
    shr     $11, %eax
    mov     %eax, boot_pd + 4(, %ecx, 8)
    inc     %ecx
    cmp     $2048, %ecx
    jne     1b

    mov     $boot_pd + PTE_P_RW, %eax
    mov     %eax, boot_pdpt
    add     $4096, %eax
    mov     %eax, boot_pdpt + 8
    add     $4096, %eax
    mov     %eax, boot_pdpt + 16
    add     $4096, %eax
    mov     %eax, boot_pdpt + 24

    /* 0xffffffff80000000 is PML4 slot 511, PDPT slot 510. */
    mov     $boot_pd + PTE_P_RW, %eax
    mov     %eax, boot_pdpt_high + 510 * 8
    add     $4096, %eax
    mov     %eax, boot_pdpt_high + 511 * 8

    mov     $boot_pdpt + PTE_P_RW, %eax
    mov     %eax, boot_pml4                 /* identity */
    mov     %eax, boot_pml4 + 256 * 8       /* direct map */
    mov     $boot_pdpt_high + PTE_P_RW, %eax
    mov     %eax, boot_pml4 + 511 * 8       /* kernel image */

    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $boot_pml4, %eax
    mov     %eax, %cr3
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_LME, %eax
    bt      $20, %ebp
    jnc     2f
    or      $EFER_NXE, %eax
2:  wrmsr
    mov     %cr0, %eax
    or      $(CR0_PG | CR0_WP | CR0_PE), %eax
    mov     %eax, %cr0

    lgdt    boot_gdt_ptr
    ljmp    $0x08, $long_mode_low

no_long_mode:
    mov     $no_long_mode_msg, %ebx
3:  movb    (%ebx), %al
    test    %al, %al
    jz      5f
    mov     %al, %cl
    mov     $0x3fd, %dx                     /* wait for the UART's THR to empty */
4:  inb     %dx, %al
    test    $0x20, %al
    jz      4b
    mov     $0x3f8, %dx
    mov     %cl, %al
    outb    %al, %dx
    inc     %ebx
    jmp     3b
5:  cli
    hlt
    jmp     5b

    .code64
long_mode_low:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    xor     %eax, %eax
    mov     %ax, %fs
    mov     %ax, %gs
    mov     %edi, %edi                      /* upper halves are undefined after the mode switch */
    mov     %esi, %esi
    movabs  $kernel_entry_high, %rax
    jmp     *%rax

    .section .boot.data, "aw"
    .balign 8
    .global boot_gdt
boot_gdt:
    .quad   0
    .quad   0x00af9a000000ffff              /* 0x08: 64-bit code */
    .quad   0x00cf92000000ffff              /* 0x10: data */
boot_gdt_ptr:
    .word   boot_gdt_ptr - boot_gdt - 1
    .long   boot_gdt
no_long_mode_msg:
    .asciz  "menhir: this CPU has no 64-bit long mode; halting\r\n"

    .section .boot.bss, "aw", @nobits
    .balign 4096
    .global boot_pml4
boot_tables:
boot_pml4:      .skip 4096
boot_pdpt:      .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4096 * 4
boot_tables_end:
boot_stack:     .skip 4096
boot_stack_top:

/* ---- higher half -------------------------------------------------------- */
    .section .text.entry, "ax"
    .global kernel_entry_high
kernel_entry_high:
    movabs  $bsp_stack_top, %rsp
    mov     %rdi, %r12
    mov     %rsi, %r13
    movabs  $__bss_start, %rdi              /* GRUB zeroes .bss; do not rely on it */
    movabs  $__bss_end, %rcx
    sub     %rdi, %rcx
    shr     $3, %rcx
    xor     %eax, %eax
    rep stosq
    mov     %r12, %rdi
    mov     %r13, %rsi
    xor     %ebp, %ebp                      /* ends the backtrace */
    call    kernel_main
6:  cli
    hlt
    jmp     6b

/* Application processors arrive here from the trampoline, still on the boot
 * tables: RDI = per-CPU block, RSI = kernel CR3, RDX = stack top. */
    .global ap_entry_high
ap_entry_high:
    mov     %rsi, %cr3
    mov     %rdx, %rsp
    xor     %ebp, %ebp
    call    ap_main
7:  cli
    hlt
    jmp     7b

    .section .bss
    .balign 16
bsp_stack:
    .skip   16384
    .global bsp_stack_top
bsp_stack_top:
