// Bringing up the application processors and stopping them again.
#pragma once
#include <cstdint>

namespace menhir::smp {
using ApMain = void (*)();
// Starts every enabled CPU of the MADT, up to `maxcpus` in all (0 = no
// limit); each runs `ap_work` on its own stacks. Returns CPUs online.
uint32_t start_aps(uint32_t maxcpus, ApMain ap_work);
// Asks every other CPU to leave VMX operation and halt; waits for them.
void stop_other_cpus();
} // namespace menhir::smp
