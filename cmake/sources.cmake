# Sources shared by the freestanding hypervisor and the host unit tests:
# pure logic only (no inline asm, no hardware access), so it builds both ways.
set(MENHIR_PURE_SOURCES
  kernel/lib/format.cpp
  kernel/cmdline.cpp
  kernel/log_ring.cpp
  kernel/tx_ring.cpp
  kernel/console_rate.cpp
  kernel/console_share.cpp
  boot/multiboot2.cpp
  kernel/mm/frame_allocator.cpp
  kernel/mm/heap.cpp
  arch/x86/acpi/acpi.cpp
  arch/x86/vmx/vmx_caps.cpp
  kernel/sched/credit.cpp
  vmm/cpuid_policy.cpp
  vmm/elf_image.cpp
  vmm/event_channel.cpp
  vmm/pvh_start_info.cpp
  vmm/acpi_tables.cpp
  vmm/grant_table.cpp
  vmm/x86_decode.cpp
  vmm/vlapic_state.cpp
  vmm/console_ring.cpp
  kernel/console_input.cpp
  kernel/time/pvclock.cpp
  dom0/shell/line_editor.cpp
  dom0/shell/tokenizer.cpp
  dom0/xl/text.cpp
  dom0/xl/cpu_list.cpp
  dom0/xl/list_format.cpp
  dom0/xl/vcpu_format.cpp
  dom0/xl/sched_credit.cpp
  dom0/xl/info_format.cpp
  dom0/xl/domain_lookup.cpp
)
list(TRANSFORM MENHIR_PURE_SOURCES PREPEND ${CMAKE_CURRENT_LIST_DIR}/../)

# dom0's pure logic: built into dom0 (cmake/guests.cmake) and the host unit
# tests, never into the hypervisor.
set(MENHIR_DOM0_PURE_SOURCES
  dom0/xl/config_parser.cpp
  dom0/initramfs.cpp
  dom0/crc32.cpp
  dom0/xenstore/store.cpp
  dom0/xenstore/ring.cpp
  dom0/xenstore/protocol.cpp
  dom0/xenstore/local_watch.cpp
  dom0/block/mbr.cpp
  dom0/block/ata_identify.cpp
  dom0/block/disk_name.cpp
  dom0/block/blkif_request.cpp
  dom0/block/disk_spec.cpp
)
list(TRANSFORM MENHIR_DOM0_PURE_SOURCES PREPEND ${CMAKE_CURRENT_LIST_DIR}/../)

set(MENHIR_INCLUDE_DIRS ${CMAKE_CURRENT_LIST_DIR}/..)

# Warnings for all Menhir code, host or freestanding.
set(MENHIR_WARNINGS -Wall -Wextra -Wshadow -Wold-style-cast -Wzero-as-null-pointer-constant
    -Wnon-virtual-dtor -Wcast-align -Wnull-dereference -Wformat=2 -Werror)
