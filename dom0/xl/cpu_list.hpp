// CPU lists as xl takes and prints them (xl vcpu-pin, xl vcpu-list): "all",
// "N", "N-M", "^N" / "^N-M" (taken out of what comes before), joined with
// commas ("0-3,^2"). A mask has bit i for CPU i (at most 64). Pure: builds
// on the host.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dom0::xl {

enum class CpuListError { none, empty, syntax, out_of_range };

// `nr_cpus` CPUs exist; a CPU number at or past it is out_of_range, and a
// list that names no CPU is empty.
[[nodiscard]] CpuListError parse_cpu_list(const char* text, uint32_t nr_cpus, uint64_t& mask);
[[nodiscard]] const char* to_string(CpuListError e);

// As xl prints an affinity: "all" when it holds every CPU, "none" when it
// holds none, else runs ("0,2-3"). Returns the length; out has >= 200 bytes.
size_t format_cpu_list(uint64_t mask, uint32_t nr_cpus, char* out, size_t size);

} // namespace dom0::xl
