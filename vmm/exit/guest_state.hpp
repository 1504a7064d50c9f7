// Small accessors exit handlers share: the guest's registers by encoding,
// skipping the exiting instruction, injecting exceptions, the guest's mode.
#pragma once
#include "arch/x86/vmx/vmcs.hpp"
#include "vmm/vcpu.hpp"

namespace menhir::guest {

// General register by its x86 encoding (0 = RAX ... 15 = R15); RSP lives in the VMCS.
[[nodiscard]] uint64_t read_gpr(Vcpu& v, uint32_t index);
void write_gpr(Vcpu& v, uint32_t index, uint64_t value);

inline void skip_instruction()
{
    vmx::write(vmx::Field::guest_rip,
               vmx::read(vmx::Field::guest_rip) + vmx::read(vmx::Field::exit_instruction_length));
}
// CPUID (0F A2) and VMCALL (0F 01 C1) have one encoding each: no need to
// ask the VMCS how long they were on the hot paths.
inline constexpr uint64_t cpuid_length = 2, vmcall_length = 3;
inline void skip_instruction(uint64_t length)
{
    vmx::write(vmx::Field::guest_rip, vmx::read(vmx::Field::guest_rip) + length);
}

// Hardware exceptions (SDM Vol 3C 26.2.1.3: type 3, deliver-error-code bit 11, valid bit 31).
inline constexpr uint8_t ud = 6, gp = 13;
inline void inject_exception(uint8_t vector, bool has_error_code = false, uint32_t error_code = 0)
{
    vmx::write(vmx::Field::entry_interruption_info,
               vector | (3u << 8) | (has_error_code ? 1u << 11 : 0) | (1u << 31));
    if (has_error_code) vmx::write(vmx::Field::entry_exception_error_code, error_code);
}
inline void inject_gp() { inject_exception(gp, true, 0); }
inline void inject_ud() { inject_exception(ud); }

// CPL is SS.DPL (SDM Vol 3C 28.3.1.5).
[[nodiscard]] inline uint32_t cpl() { return (vmx::read(vmx::Field::guest_ss_access) >> 5) & 3; }
// 64-bit code: IA-32e mode and CS.L (SDM Vol 3A 3.4.5).
[[nodiscard]] inline bool in_64bit_code(const Vcpu& v)
{
    return v.long_mode && (vmx::read(vmx::Field::guest_cs_access) & (1u << 13));
}

} // namespace menhir::guest
