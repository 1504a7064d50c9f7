# The freestanding hypervisor image, build/menhir.elf.
set(MENHIR_FREESTANDING_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit
  -mno-red-zone -mgeneral-regs-only -mcmodel=kernel -fno-pic -fno-pie -fno-stack-protector
  -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-builtin-malloc -nostdlib -g -O2)

set(MENHIR_KERNEL_SOURCES
  boot/header.S
  boot/entry.S
  arch/x86/ap_trampoline.S
  arch/x86/isr.S
  arch/x86/gdt.cpp
  arch/x86/idt.cpp
  arch/x86/exceptions.cpp
  arch/x86/percpu.cpp
  arch/x86/fpu.cpp
  arch/x86/lapic.cpp
  arch/x86/ioapic.cpp
  arch/x86/pit.cpp
  arch/x86/smp.cpp
  arch/x86/power.cpp
  arch/x86/platform.cpp
  arch/x86/vmx/vmx.cpp
  arch/x86/vmx/vmcs.cpp
  arch/x86/vmx/world_switch.S
  kernel/sched/scheduler.cpp
  vmm/domain.cpp
  vmm/domain_builder.cpp
  vmm/domain_dump.cpp
  vmm/events.cpp
  vmm/grants.cpp
  vmm/pirq.cpp
  vmm/vcpu_timer.cpp
  vmm/runstate.cpp
  vmm/guest_area.cpp
  vmm/vlapic.cpp
  vmm/console_rings.cpp
  vmm/store_pages.cpp
  vmm/special_page.cpp
  kernel/time/rtc.cpp
  vmm/guest_memory.cpp
  vmm/guest_pdptes.cpp
  vmm/exit/dispatch.cpp
  vmm/exit/guest_state.cpp
  vmm/exit/cpuid.cpp
  vmm/exit/io.cpp
  vmm/exit/msr.cpp
  vmm/exit/cr.cpp
  vmm/exit/task_switch.cpp
  vmm/exit/misc.cpp
  vmm/exit/mmio_unbacked.cpp
  vmm/exit/apic.cpp
  vmm/hypercall/dispatch.cpp
  vmm/hypercall/console_io.cpp
  vmm/hypercall/xen_version.cpp
  vmm/hypercall/sched_op.cpp
  vmm/hypercall/memory_op.cpp
  vmm/hypercall/hvm_op.cpp
  vmm/hypercall/vcpu_op.cpp
  vmm/hypercall/vm_assist.cpp
  vmm/hypercall/event_channel_op.cpp
  vmm/hypercall/grant_table_op.cpp
  vmm/hypercall/domctl.cpp
  vmm/hypercall/sysctl.cpp
  drivers/uart16550.cpp
  kernel/main.cpp
  kernel/console.cpp
  kernel/debug_keys.cpp
  kernel/panic.cpp
  kernel/mm/memory.cpp
  kernel/mm/frame_refs.cpp
  kernel/lib/string.cpp
  kernel/lib/cxxabi.cpp
)

add_executable(menhir.elf ${MENHIR_KERNEL_SOURCES} ${MENHIR_PURE_SOURCES})
target_include_directories(menhir.elf PRIVATE ${MENHIR_INCLUDE_DIRS})
target_compile_options(menhir.elf PRIVATE
  $<$<COMPILE_LANGUAGE:CXX>:${MENHIR_FREESTANDING_FLAGS} ${MENHIR_WARNINGS}>
  $<$<COMPILE_LANGUAGE:ASM>:-ffreestanding -mcmodel=kernel -fno-pic>)
target_compile_definitions(menhir.elf PRIVATE MENHIR_FREESTANDING=1)
target_link_options(menhir.elf PRIVATE
  -nostdlib -static -no-pie -Wl,-T,${CMAKE_SOURCE_DIR}/linker.ld -Wl,-z,max-page-size=0x1000
  -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments)
target_link_libraries(menhir.elf PRIVATE gcc)
set_target_properties(menhir.elf PROPERTIES LINK_DEPENDS ${CMAKE_SOURCE_DIR}/linker.ld)

if(MENHIR_OUTPUT_DIR)
  add_custom_command(TARGET menhir.elf POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:menhir.elf> ${MENHIR_OUTPUT_DIR}/menhir.elf)
endif()
