// The PVH domain builder (Xen's PVH boot ABI): ELF kernel, command line,
// memory map and modules in guest memory, hvm_start_info, vCPU 0 entered in
// 32-bit protected mode with %ebx = the start info. The hypervisor builds
// dom0 and the boot-time domains with it.
#pragma once
#include "arch/x86/vmx/vmcs.hpp"
#include "boot/multiboot2.hpp"
#include "vmm/domain.hpp"
#include "vmm/pvh_start_info.hpp"

namespace menhir::builder {

struct Kernel {
    const uint8_t* image;
    size_t size;
    const char* cmdline;   // may be nullptr
    size_t module_count;
    pvh::ModuleInput modules[pvh::max_modules];
};

// Builds and starts the domain; nullptr, with a log line saying why, if the
// kernel or the configuration is refused. Nothing is left behind then.
[[nodiscard]] Domain* build_pvh(uint16_t id, const DomainConfig& config, const Kernel& kernel);

// Prepares v's VMCS to start in `start` (registers other than RIP, RSP and
// RFLAGS are the caller's to set in v.ctx). False if the VMCS is unusable.
[[nodiscard]] bool start_vcpu(Vcpu& v, vmx::GuestStart start);

// dom0 and the boot-time domains named by the GRUB modules (Xen's
// conventions: the first module is dom0's kernel, a second one whose command
// line does not start with `domain` its initramfs; every `domain ...` module
// is a domU with ids 1, 2, 3... in module order).
void start_boot_domains(const mb2::BootInfo& boot, uint64_t dom0_mem);

} // namespace menhir::builder
