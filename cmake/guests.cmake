# The PVH guest kernels: test guests (tests/guests/), the benchmark guest
# (bench/guest/) and dom0 (dom0/). All are built from one small runtime,
# runtime/ (product code: dom0 runs on it), written only against Xen's public
# guest ABI; tests/guests/lib/ adds what only the test guests use.
#
# Outputs (when MENHIR_OUTPUT_DIR is set):
#   ${MENHIR_OUTPUT_DIR}/guests/NAME.elf   hello spinner wild tripler badcall pvh32 bench
#                                          evping evpong granter mapper sleeper smp2 hostile regspy
#                                          pae32 msrs taskgate32 mmiohole mmiohole32 balloon conring
#                                          aliaser fuzzer deafener demo xsclient reuse
#                                          blkfront acpi lapic
#   ${MENHIR_OUTPUT_DIR}/dom0.elf
# Every image loads at guest-physical 1 MiB (runtime/guest.ld) and
# enters through the Xen PHYS32_ENTRY ELF note.

set(MENHIR_GUEST_DIR ${CMAKE_SOURCE_DIR}/tests/guests)
set(MENHIR_RUNTIME_DIR ${CMAKE_SOURCE_DIR}/runtime)
set(MENHIR_GUEST_LD ${MENHIR_RUNTIME_DIR}/guest.ld)

set(MENHIR_GUEST_CXX_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit
  -nostdlib -mno-red-zone -mgeneral-regs-only -fno-pic -fno-pie -fno-stack-protector
  -fno-asynchronous-unwind-tables -fno-unwind-tables -g -O2)

set(MENHIR_GUEST_LINK_FLAGS
  -nostdlib -static -no-pie -Wl,-T,${MENHIR_GUEST_LD} -Wl,-z,max-page-size=0x1000
  -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments)

set(MENHIR_GUEST_RUNTIME_SOURCES
  ${MENHIR_RUNTIME_DIR}/pvh_entry.S
  ${MENHIR_RUNTIME_DIR}/isr.S
  ${MENHIR_RUNTIME_DIR}/runtime.cpp
  ${MENHIR_RUNTIME_DIR}/hypercall.cpp
  ${MENHIR_RUNTIME_DIR}/print.cpp
  ${MENHIR_RUNTIME_DIR}/string.cpp)

# Events, time, grant tables and secondary vCPUs: 64-bit only, in a static
# library so that only the guests using them carry them.
set(MENHIR_GUEST_XEN64_SOURCES
  ${MENHIR_RUNTIME_DIR}/events.cpp
  ${MENHIR_RUNTIME_DIR}/upcall.S
  ${MENHIR_RUNTIME_DIR}/grant.cpp
  ${MENHIR_RUNTIME_DIR}/smp.cpp
  ${MENHIR_RUNTIME_DIR}/smp_entry.S
  ${MENHIR_RUNTIME_DIR}/hvc.cpp
  ${MENHIR_RUNTIME_DIR}/xenstore.cpp
  ${MENHIR_RUNTIME_DIR}/blkfront.cpp)

# Ring-3 set-up only the test guests use (never linked into dom0).
set(MENHIR_TEST_USER_MODE_SOURCES
  ${MENHIR_GUEST_DIR}/lib/user_mode.S
  ${MENHIR_GUEST_DIR}/lib/user_mode.cpp)

# BITS is 64 (long mode, the default) or 32 (stays in protected mode).
function(menhir_guest_flags target bits)
  if(bits EQUAL 32)
    set(mode -m32 -march=i686)
  else()
    set(mode -m64)
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${mode} ${MENHIR_GUEST_CXX_FLAGS} ${MENHIR_WARNINGS}>
    $<$<COMPILE_LANGUAGE:ASM>:${mode} -ffreestanding -fno-pic>)
  target_compile_definitions(${target} PRIVATE MENHIR_GUEST=1)
  # Sources name the runtime as "runtime/NAME.hpp".
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR})
endfunction()

# The runtime, once per mode, as object libraries so every object (the ELF
# note and entry included) goes into each guest.
foreach(bits 64 32)
  add_library(menhir_guest_rt${bits} OBJECT ${MENHIR_GUEST_RUNTIME_SOURCES})
  menhir_guest_flags(menhir_guest_rt${bits} ${bits})
endforeach()
add_library(menhir_guest_xen64 STATIC ${MENHIR_GUEST_XEN64_SOURCES})
menhir_guest_flags(menhir_guest_xen64 64)

# menhir_add_guest(NAME BITS OUTPUT_PATH SOURCES...)
function(menhir_add_guest name bits output)
  set(target guest_${name})
  add_executable(${target} ${ARGN})
  menhir_guest_flags(${target} ${bits})
  target_link_libraries(${target} PRIVATE menhir_guest_rt${bits})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name}
    SUFFIX .elf
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/guests
    LINK_DEPENDS ${MENHIR_GUEST_LD})
  if(bits EQUAL 32)
    # Link as i386, then relabel the ELF32 file as x86-64 (EM_X86_64) with
    # objcopy: the PVH loader sees an ELFCLASS32 image for the x86-64 machine.
    target_link_options(${target} PRIVATE -m32 ${MENHIR_GUEST_LINK_FLAGS} -Wl,-m,elf_i386)
    set_target_properties(${target} PROPERTIES SUFFIX .i386.elf)
    set(built ${CMAKE_BINARY_DIR}/guests/${name}.elf)
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_OBJCOPY} -O elf32-x86-64 $<TARGET_FILE:${target}> ${built}
      VERBATIM)
  else()
    target_link_options(${target} PRIVATE ${MENHIR_GUEST_LINK_FLAGS})
    target_link_libraries(${target} PRIVATE menhir_guest_xen64 gcc)
    set(built $<TARGET_FILE:${target}>)
  endif()
  if(MENHIR_OUTPUT_DIR)
    get_filename_component(outdir ${output} DIRECTORY)
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -E make_directory ${outdir}
      COMMAND ${CMAKE_COMMAND} -E copy ${built} ${output}
      VERBATIM)
  endif()
endfunction()

set(MENHIR_GUESTS_OUT ${MENHIR_OUTPUT_DIR}/guests)
menhir_add_guest(hello   64 ${MENHIR_GUESTS_OUT}/hello.elf   ${MENHIR_GUEST_DIR}/hello/main.cpp)
menhir_add_guest(spinner 64 ${MENHIR_GUESTS_OUT}/spinner.elf ${MENHIR_GUEST_DIR}/spinner/main.cpp)
menhir_add_guest(wild    64 ${MENHIR_GUESTS_OUT}/wild.elf    ${MENHIR_GUEST_DIR}/wild/main.cpp)
menhir_add_guest(tripler 64 ${MENHIR_GUESTS_OUT}/tripler.elf ${MENHIR_GUEST_DIR}/tripler/main.cpp)
menhir_add_guest(badcall 64 ${MENHIR_GUESTS_OUT}/badcall.elf
  ${MENHIR_GUEST_DIR}/badcall/main.cpp ${MENHIR_GUEST_DIR}/badcall/user.S ${MENHIR_TEST_USER_MODE_SOURCES})
menhir_add_guest(pvh32   32 ${MENHIR_GUESTS_OUT}/pvh32.elf   ${MENHIR_GUEST_DIR}/pvh32/main.cpp)
menhir_add_guest(pae32   32 ${MENHIR_GUESTS_OUT}/pae32.elf   ${MENHIR_GUEST_DIR}/pae32/main.cpp)
menhir_add_guest(taskgate32 32 ${MENHIR_GUESTS_OUT}/taskgate32.elf ${MENHIR_GUEST_DIR}/taskgate32/main.cpp)
menhir_add_guest(msrs    64 ${MENHIR_GUESTS_OUT}/msrs.elf
  ${MENHIR_GUEST_DIR}/msrs/main.cpp ${MENHIR_GUEST_DIR}/msrs/user.S ${MENHIR_TEST_USER_MODE_SOURCES})
menhir_add_guest(evping  64 ${MENHIR_GUESTS_OUT}/evping.elf  ${MENHIR_GUEST_DIR}/evping/main.cpp)
menhir_add_guest(evpong  64 ${MENHIR_GUESTS_OUT}/evpong.elf  ${MENHIR_GUEST_DIR}/evpong/main.cpp)
menhir_add_guest(granter 64 ${MENHIR_GUESTS_OUT}/granter.elf ${MENHIR_GUEST_DIR}/granter/main.cpp)
menhir_add_guest(mapper  64 ${MENHIR_GUESTS_OUT}/mapper.elf  ${MENHIR_GUEST_DIR}/mapper/main.cpp)
menhir_add_guest(reuse   64 ${MENHIR_GUESTS_OUT}/reuse.elf   ${MENHIR_GUEST_DIR}/reuse/main.cpp)
menhir_add_guest(sleeper 64 ${MENHIR_GUESTS_OUT}/sleeper.elf ${MENHIR_GUEST_DIR}/sleeper/main.cpp)
menhir_add_guest(smp2    64 ${MENHIR_GUESTS_OUT}/smp2.elf    ${MENHIR_GUEST_DIR}/smp2/main.cpp)
menhir_add_guest(lapic   64 ${MENHIR_GUESTS_OUT}/lapic.elf
  ${MENHIR_GUEST_DIR}/lapic/main.cpp ${MENHIR_GUEST_DIR}/lapic/stubs.S)
menhir_add_guest(hostile 64 ${MENHIR_GUESTS_OUT}/hostile.elf ${MENHIR_GUEST_DIR}/hostile/main.cpp)
menhir_add_guest(regspy  64 ${MENHIR_GUESTS_OUT}/regspy.elf  ${MENHIR_GUEST_DIR}/regspy/main.cpp)
menhir_add_guest(mmiohole   64 ${MENHIR_GUESTS_OUT}/mmiohole.elf   ${MENHIR_GUEST_DIR}/mmiohole/main.cpp)
menhir_add_guest(mmiohole32 32 ${MENHIR_GUESTS_OUT}/mmiohole32.elf ${MENHIR_GUEST_DIR}/mmiohole/main.cpp)
menhir_add_guest(balloon    64 ${MENHIR_GUESTS_OUT}/balloon.elf    ${MENHIR_GUEST_DIR}/balloon/main.cpp)
menhir_add_guest(aliaser 64 ${MENHIR_GUESTS_OUT}/aliaser.elf ${MENHIR_GUEST_DIR}/aliaser/main.cpp)
menhir_add_guest(fuzzer  64 ${MENHIR_GUESTS_OUT}/fuzzer.elf  ${MENHIR_GUEST_DIR}/fuzzer/main.cpp)
menhir_add_guest(deafener 64 ${MENHIR_GUESTS_OUT}/deafener.elf ${MENHIR_GUEST_DIR}/deafener/main.cpp)
menhir_add_guest(bench   64 ${MENHIR_GUESTS_OUT}/bench.elf   ${CMAKE_SOURCE_DIR}/bench/guest/main.cpp
  ${CMAKE_SOURCE_DIR}/bench/guest/lapic_stubs.S)
# dom0: its own sources, and the pure code it shares with the hypervisor
# and the host unit tests (MENHIR_DOM0_PURE_SOURCES, cmake/sources.cmake).
set(MENHIR_DOM0_SOURCES
  ${CMAKE_SOURCE_DIR}/dom0/main.cpp
  ${CMAKE_SOURCE_DIR}/dom0/builder.cpp
  ${CMAKE_SOURCE_DIR}/dom0/device_test.cpp
  ${CMAKE_SOURCE_DIR}/dom0/console_test.cpp
  ${CMAKE_SOURCE_DIR}/dom0/block/ata.cpp
  ${CMAKE_SOURCE_DIR}/dom0/block/disks.cpp
  ${CMAKE_SOURCE_DIR}/dom0/block/disk_test.cpp
  ${CMAKE_SOURCE_DIR}/dom0/block/blkback.cpp
  ${CMAKE_SOURCE_DIR}/dom0/initramfs_module.cpp
  ${CMAKE_SOURCE_DIR}/dom0/domain_builder.cpp
  ${CMAKE_SOURCE_DIR}/dom0/foreign_window.cpp
  ${CMAKE_SOURCE_DIR}/dom0/gfn_pool.cpp
  ${CMAKE_SOURCE_DIR}/dom0/console_backend.cpp
  ${CMAKE_SOURCE_DIR}/dom0/toolstack.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xenstored.cpp
  ${CMAKE_SOURCE_DIR}/dom0/terminal.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/create_command.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/lifecycle_commands.cpp
  ${CMAKE_SOURCE_DIR}/dom0/shell/shell.cpp
  ${CMAKE_SOURCE_DIR}/dom0/shell/line_editor.cpp
  ${CMAKE_SOURCE_DIR}/dom0/shell/tokenizer.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/commands.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/hypervisor.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/text.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/cpu_list.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/list_format.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/vcpu_format.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/sched_credit.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/info_format.cpp
  ${CMAKE_SOURCE_DIR}/dom0/xl/domain_lookup.cpp
  ${CMAKE_SOURCE_DIR}/vmm/console_ring.cpp
  ${CMAKE_SOURCE_DIR}/kernel/console_rate.cpp
  ${CMAKE_SOURCE_DIR}/vmm/elf_image.cpp
  ${CMAKE_SOURCE_DIR}/vmm/pvh_start_info.cpp
  ${CMAKE_SOURCE_DIR}/vmm/acpi_tables.cpp)
menhir_add_guest(dom0    64 ${MENHIR_OUTPUT_DIR}/dom0.elf ${MENHIR_DOM0_SOURCES} ${MENHIR_DOM0_PURE_SOURCES})
menhir_add_guest(demo    64 ${MENHIR_GUESTS_OUT}/demo.elf    ${MENHIR_GUEST_DIR}/demo/main.cpp)
menhir_add_guest(xsclient 64 ${MENHIR_GUESTS_OUT}/xsclient.elf ${MENHIR_GUEST_DIR}/xsclient/main.cpp)
menhir_add_guest(blkfront 64 ${MENHIR_GUESTS_OUT}/blkfront.elf ${MENHIR_GUEST_DIR}/blkfront/main.cpp)
menhir_add_guest(conring 64 ${MENHIR_GUESTS_OUT}/conring.elf ${MENHIR_GUEST_DIR}/conring/main.cpp)
menhir_add_guest(acpi    64 ${MENHIR_GUESTS_OUT}/acpi.elf    ${MENHIR_GUEST_DIR}/acpi/main.cpp)
