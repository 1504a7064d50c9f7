// The `test=disk` boot test of dom0's disk layer: lists the disks and
// partitions, reads sectors the host wrote into the image before the boot,
// writes a pattern to a partition, flushes, reads it back and compares, and
// times sequential 64 KiB reads and writes (RDTSC ticks).
#pragma once

namespace dom0::block {

// Options on dom0's command line: `disk=NAME` (default /dev/hdb1). Prints
// `dom0: test=disk ok` or `dom0: FAIL ...` lines. Returns whether it passed.
bool test_disk();

}  // namespace dom0::block
