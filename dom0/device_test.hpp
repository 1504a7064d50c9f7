// dom0's device delegation check: the ATA controller's ports and IRQ 14 are
// dom0's; an IDENTIFY command's interrupt must arrive as an event on the
// port dom0 bound to pirq 14, and a domain's shutdown as VIRQ_DOM_EXC.
#pragma once

namespace dom0 {

// The `test=devices` boot test. Prints `dom0: test=devices ok` or
// `dom0: FAIL ...` lines. Returns whether it passed.
bool test_devices();

}  // namespace dom0
