/* The world switch. HOST_RSP of every VMCS points just past its vCPU's
 * GuestRegs (vmm/vcpu.hpp), so on a VM exit the pushes below store the
 * guest's general registers straight into the vCPU; then the exit handler
 * runs on this CPU's stack and we resume whichever vCPU is loaded now.
 * Nothing else happens on every exit. */

#define PERCPU_STACK_TOP    8
#define PERCPU_CURRENT_CTX  16
#define CTX_LAUNCHED        120

    .section .text
    .global vmx_exit_landing, vmx_resume_current
vmx_exit_landing:
    push    %r15
    push    %r14
    push    %r13
    push    %r12
    push    %r11
    push    %r10
    push    %r9
    push    %r8
    push    %rbp
    push    %rdi
    push    %rsi
    push    %rdx
    push    %rcx
    push    %rbx
    push    %rax
    mov     %gs:PERCPU_STACK_TOP, %rsp
    xor     %ebp, %ebp
    call    vmexit_dispatch

vmx_resume_current:
    mov     %gs:PERCPU_CURRENT_CTX, %rsp
    cmpq    $0, CTX_LAUNCHED(%rsp)          /* POPs leave the flags alone */
    pop     %rax
    pop     %rbx
    pop     %rcx
    pop     %rdx
    pop     %rsi
    pop     %rdi
    pop     %rbp
    pop     %r8
    pop     %r9
    pop     %r10
    pop     %r11
    pop     %r12
    pop     %r13
    pop     %r14
    pop     %r15
    je      1f
    vmresume
    jmp     2f
1:  movq    $1, (%rsp)                      /* %rsp is at ctx.launched now */
    vmlaunch
2:  mov     %gs:PERCPU_STACK_TOP, %rsp     /* VM entry failed: the guest never ran */
    xor     %ebp, %ebp
    call    vmentry_failed
    jmp     vmx_resume_current
