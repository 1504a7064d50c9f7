/* Entry of the event-channel upcall vector (events.hpp: CALLBACK_VECTOR),
 * 64-bit only. An interrupt gate: interrupts are off inside. Saves the
 * registers the C++ ABI lets evtchn_upcall() clobber and returns with iretq.
 * Nothing to acknowledge: the hypervisor injects the vector directly (no
 * local APIC), and stops doing so once evtchn_upcall_pending is clear. */

    .text
    .code64
    .globl  evtchn_upcall_entry
    .type   evtchn_upcall_entry, @function
    .balign 16
evtchn_upcall_entry:
    /* The CPU pushed SS, RSP, RFLAGS, CS, RIP (40 bytes) on a 16-byte
     * aligned stack; nine pushes more make it 16-byte aligned for the call. */
    push    %rax
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    cld
    call    evtchn_upcall
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rax
    iretq
    .size   evtchn_upcall_entry, . - evtchn_upcall_entry

    .section .note.GNU-stack, "", @progbits
