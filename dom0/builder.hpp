// dom0's first toolstack piece: build a domain from a PVH kernel in dom0's
// initramfs module, through Menhir's domctl (vmm/abi/menhir.hpp) and Xen's
// XENMEM_add_to_physmap_batch(XENMAPSPACE_gmfn_foreign), run it to its end
// and check that destroying it gives every frame back.
#pragma once

namespace dom0 {

// The `test=build` boot test. Prints `dom0: built domain N` and
// `dom0: test=build ok, free pages before B after A`, or `dom0: FAIL ...`
// lines. Returns whether it passed.
bool test_build();

}  // namespace dom0
