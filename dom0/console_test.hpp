// dom0's console back end, first form: `test=console` takes a boot-time
// domU's console ring over from the hypervisor (Menhir's domctl
// console_handover) when told so on the serial line, and then serves it.
#pragma once

namespace dom0 {

// Reads serial input (VIRQ_CONSOLE, CONSOLEIO_read) line by line, echoing
// each as `dom0: input 'LINE'`. `take N`: domctl console_handover of domain
// N, EVTCHNOP_bind_interdomain to its console port, its ring page mapped
// (XENMAPSPACE_gmfn_foreign), printed as `dom0: took the console of dN (gfn
// G, port P, local port L)`. From then on every other line goes into that
// domain's in[] (with CR), and what it writes to out[] is printed as
// `dom0: dN: TEXT` lines. When the domain dies (VIRQ_DOM_EXC) the page is
// unmapped and the port closed: `dom0: dN is gone, its console released`.
// `kill N`: domctl shutdown (poweroff) of domain N,
// `dom0: domctl shutdown(dN) -> RC`.
// Never returns.
[[noreturn]] void test_console();

}  // namespace dom0
