// dom0's toolstack: the domains it created, their configs, and what happens when one stops (xl's on_* actions).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "domain_builder.hpp"
#include "xl/domain_config.hpp"

namespace dom0::toolstack {

inline constexpr unsigned MAX_RECORDS = 32;

// Reads a file of dom0's initramfs (kernels, ramdisks, configs).
using FileReader = bool (*)(const char* path, Blob& out);

// Binds VIRQ_DOM_EXC and, with take_consoles, takes the boot-time domUs'
// consoles over. Interrupts must be on afterwards for events to arrive.
[[nodiscard]] bool start(FileReader reader, bool take_consoles);

// xl create: builds, starts and remembers the domain; its id, or -1 with
// the reason printed as xl prints its errors.
long create(const xl::DomainConfig& cfg);
// xl destroy: the domain goes at once, its console and store with it.
// 0 or Xen's -errno.
long destroy(uint16_t domid);

// The config of a domain dom0 created (nullptr for boot-time domains).
const xl::DomainConfig* config_of(uint16_t domid);

// Something for poll() to do (an event came in).
[[nodiscard]] bool work_pending();
// Serves consoles, applies on_poweroff / on_reboot / on_crash to domains
// that stopped, forgets domains that are gone. From dom0's main loop.
void poll();

}  // namespace dom0::toolstack
