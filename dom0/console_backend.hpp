// dom0's console back end: it serves every domU's console ring, to the serial line or to `xl console`.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace dom0::consoles {

inline constexpr unsigned MAX_CONSOLES = 64;
inline constexpr unsigned HISTORY_BYTES = 4096;   // what `xl console` replays on attach

// Starts serving domain `domid`'s ring: maps its page (at `gfn` in the
// domain) into dom0 and binds its unbound port `remote_port`. Output goes to
// the serial line as "(dN) ..." lines, rate-limited per domain as the
// hypervisor's are. False (with the reason in `why`) on failure.
[[nodiscard]] bool attach(uint16_t domid, uint64_t gfn, uint32_t remote_port, char* why, size_t why_size);
// Stops serving it (its domain is gone or going): prints what is left,
// closes the port, unmaps the page.
void detach(uint16_t domid);
[[nodiscard]] bool served(uint16_t domid);
// The domains served now; returns how many ids went into `ids`.
unsigned served_domains(uint16_t* ids, unsigned max);

// `timing` on dom0's command line: the first output of `domid` prints
// `dom0: dN: first console output T ticks after xl create` (T: TSC ticks
// since `start_tsc`), for scripts/bench.
void time_first_output(uint16_t domid, uint64_t start_tsc);

// Takes every boot-time domU's console over from the hypervisor (domctl
// console_handover), as Xen's dom0less domains' consoles pass to dom0.
void take_over_boot_consoles();

// Moves what the guests wrote to where it goes. Called from dom0's main
// loop; the event handlers only mark rings to look at.
void poll();
// True when an event came in since the last poll().
[[nodiscard]] bool work_pending();

// `xl console DOM`: the domain's output goes raw to the terminal (first its
// recent history), nothing else of it as lines, until terminal_detach().
[[nodiscard]] bool terminal_attach(uint16_t domid);
void terminal_detach();
[[nodiscard]] int terminal_domain();   // -1: none
// Typed input for the attached domain; bytes that do not fit in its ring are dropped.
void terminal_input(const char* s, size_t n);

}  // namespace dom0::consoles
