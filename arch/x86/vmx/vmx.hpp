// VMX root operation on each CPU (SDM Vol 3C ch. 24, "Introduction to VMX").
#pragma once
#include "arch/x86/percpu.hpp"
#include "arch/x86/vmx/vmx_caps.hpp"

namespace menhir::vmx {
enum class EnableResult { ok, no_vmx, disabled_by_firmware, cr_fixed_bits, no_memory, vmxon_failed };
[[nodiscard]] const char* to_string(EnableResult r);

[[nodiscard]] bool cpu_has_vmx();
// Reads and decodes the capability MSRs of this CPU (call on the BSP once).
const Capabilities& read_capabilities();
[[nodiscard]] const Capabilities& capabilities();
// IA32_FEATURE_CONTROL, CR0/CR4 fixed bits, VMXON region, VMXON.
[[nodiscard]] EnableResult enable_this_cpu(PerCpu& cpu);
void disable_this_cpu();   // VMXOFF if on; safe to call anywhere
} // namespace menhir::vmx

namespace menhir::vmx {
// Drops cached EPT / VPID translations (falls back to all-context when the
// single-context kind is missing).
void invept_single(uint64_t eptp);
void invvpid_single(uint16_t vpid);
} // namespace menhir::vmx
