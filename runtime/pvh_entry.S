/* PVH entry of every Menhir test guest (and of dom0).
 *
 * The PVH loader finds the entry through the Xen ELF note below, then starts
 * the boot vCPU at it in 32-bit protected mode with paging off, flat CS/DS/SS,
 * interrupts off and %ebx = guest-physical address of struct hvm_start_info.
 * GDTR, IDTR and the stack are not ours to rely on, so we load a GDT and take
 * our own stack before touching memory through the stack.
 *
 * 64-bit build: identity-map 0..4 GiB with 2 MiB pages (PML4 -> one PDPT ->
 * four page directories), enable PAE, EFER.LME and paging, and far-jump into
 * a 64-bit code segment. 32-bit build (-m32): stay in protected mode.
 * Both then call guest_start(start_info physical address) in runtime.cpp. */

#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define KERNEL_CS64     0x08
#define KERNEL_DS       0x10
#define KERNEL_CS32     0x18

#define CR0_PE          0x00000001
#define CR0_PG          0x80000000
#define CR4_PAE         0x00000020
#define MSR_EFER        0xc0000080
#define EFER_LME        0x00000100
#define PTE_UPPER       0x7             /* present, writable, user allowed below */
#define PDE_2M          0x83            /* present, writable, 2 MiB page */

#define BOOT_STACK_SIZE 16384

/* Note: namesz 4 ("Xen\0"), descsz 4, type 18, desc = 32-bit entry address. */
    .section .note.Xen, "a", @note
    .balign 4
    .long   4
    .long   4
    .long   XEN_ELFNOTE_PHYS32_ENTRY
    .asciz  "Xen"
    .balign 4
    .long   pvh_start32
    .balign 4

    .section .text.pvh_entry, "ax", @progbits
    .code32
    .globl  pvh_start32
    .type   pvh_start32, @function
pvh_start32:
    cli
    cld
    mov     %ebx, %esi                  /* start_info, kept in esi throughout */

    lgdt    pvh_gdt_desc
    mov     $KERNEL_DS, %eax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %fs
    mov     %ax, %gs
    mov     %ax, %ss
    ljmp    $KERNEL_CS32, $1f
1:
    /* Clear .bss: the loader should have, but nothing below depends on it. */
    mov     $__bss_start, %edi
    mov     $__bss_end, %ecx
    sub     %edi, %ecx
    xor     %eax, %eax
    rep stosb

    mov     $boot_stack_top, %esp

#if defined(__x86_64__)
    /* PML4[0] -> PDPT, PDPT[0..3] -> the four page directories. */
    mov     $pvh_pdpt, %eax
    or      $PTE_UPPER, %eax
    mov     %eax, pvh_pml4
    mov     $pvh_pd, %eax
    or      $PTE_UPPER, %eax
    xor     %ecx, %ecx
2:  mov     %eax, pvh_pdpt(, %ecx, 8)
    add     $0x1000, %eax
    inc     %ecx
    cmp     $4, %ecx
    jb      2b

    /* 2048 entries of 2 MiB: entry i maps i * 2 MiB (high dwords stay 0). */
    mov     $PDE_2M, %eax
    xor     %ecx, %ecx
3:  mov     %eax, pvh_pd(, %ecx, 8)
    add     $0x200000, %eax
    inc     %ecx
    cmp     $2048, %ecx
    jb      3b

    mov     $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $pvh_pml4, %eax
    mov     %eax, %cr3
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_LME, %eax
    wrmsr
    mov     %cr0, %eax
    or      $(CR0_PG | CR0_PE), %eax
    mov     %eax, %cr0
    ljmp    $KERNEL_CS64, $long_mode_entry

    .code64
long_mode_entry:
    mov     $KERNEL_DS, %eax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %ax, %fs
    mov     %ax, %gs
    mov     $boot_stack_top, %rsp
    xor     %ebp, %ebp
    mov     %esi, %edi                  /* zero-extends: 1st argument */
    call    guest_start
4:  cli
    hlt
    jmp     4b
#else
    xor     %ebp, %ebp
    push    %esi
    call    guest_start
4:  cli
    hlt
    jmp     4b
#endif
    .size   pvh_start32, . - pvh_start32

/* The GDT. Writable: the CPU sets accessed/busy bits, runtime.cpp fills the
 * TSS descriptor. Selectors are mirrored in runtime.hpp. */
    .section .data.pvh_gdt, "aw", @progbits
    .balign 16
    .globl  pvh_gdt
pvh_gdt:
    .quad   0                           /* 0x00 null */
    .quad   0x00af9a000000ffff          /* 0x08 64-bit code, DPL 0 */
    .quad   0x00cf92000000ffff          /* 0x10 data, DPL 0 */
    .quad   0x00cf9a000000ffff          /* 0x18 32-bit code, DPL 0 */
    .quad   0x00cff2000000ffff          /* 0x20 data, DPL 3 */
    .quad   0x00affa000000ffff          /* 0x28 64-bit code, DPL 3 */
    .quad   0, 0                        /* 0x30 64-bit TSS (16 bytes) */
pvh_gdt_end:

    .balign 4
    .globl  pvh_gdt_desc
pvh_gdt_desc:
    .word   pvh_gdt_end - pvh_gdt - 1
    .long   pvh_gdt, 0

    .section .bss.pvh_boot, "aw", @nobits
#if defined(__x86_64__)
    .balign 4096
    .globl  pvh_pml4, pvh_pdpt, pvh_pd
pvh_pml4:
    .skip   4096
pvh_pdpt:
    .skip   4096
pvh_pd:
    .skip   4 * 4096
#endif
    .balign 16
boot_stack:
    .skip   BOOT_STACK_SIZE
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
