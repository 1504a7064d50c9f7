/* Exception entry stubs for vectors 0..31. Each pushes a dummy error code
 * when the CPU does not push one, then the vector, and joins a common path
 * that saves the general registers and calls exception_dispatch(frame) in
 * runtime.cpp (struct TrapFrame there mirrors this layout). */

    .text
#if defined(__x86_64__)
    .code64
#define PTR .quad
#else
    .code32
#define PTR .long
#endif

.macro STUB_NOERR vec
    .balign 16
isr_stub_\vec:
    push    $0
    push    $\vec
    jmp     isr_common
.endm

.macro STUB_ERR vec
    .balign 16
isr_stub_\vec:
    push    $\vec
    jmp     isr_common
.endm

/* The CPU pushes an error code for 8, 10-14, 17, 21, 29 and 30. */
STUB_NOERR 0
STUB_NOERR 1
STUB_NOERR 2
STUB_NOERR 3
STUB_NOERR 4
STUB_NOERR 5
STUB_NOERR 6
STUB_NOERR 7
STUB_ERR   8
STUB_NOERR 9
STUB_ERR   10
STUB_ERR   11
STUB_ERR   12
STUB_ERR   13
STUB_ERR   14
STUB_NOERR 15
STUB_NOERR 16
STUB_ERR   17
STUB_NOERR 18
STUB_NOERR 19
STUB_NOERR 20
STUB_ERR   21
STUB_NOERR 22
STUB_NOERR 23
STUB_NOERR 24
STUB_NOERR 25
STUB_NOERR 26
STUB_NOERR 27
STUB_NOERR 28
STUB_ERR   29
STUB_ERR   30
STUB_NOERR 31

isr_common:
#if defined(__x86_64__)
    push    %rax
    push    %rcx
    push    %rdx
    push    %rbx
    push    %rbp
    push    %rsi
    push    %rdi
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    mov     %rsp, %rdi                  /* 16-byte aligned here */
    cld
    call    exception_dispatch
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rdi
    pop     %rsi
    pop     %rbp
    pop     %rbx
    pop     %rdx
    pop     %rcx
    pop     %rax
    add     $16, %rsp                   /* vector, error code */
    iretq
#else
    pusha
    mov     %esp, %eax
    push    %eax
    cld
    call    exception_dispatch
    add     $4, %esp
    popa
    add     $8, %esp
    iret
#endif

    .section .rodata
    .balign 8
    .globl  isr_stub_table
isr_stub_table:
.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    PTR     isr_stub_\vec
.endr

    .section .note.GNU-stack, "", @progbits
