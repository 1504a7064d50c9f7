// dom0's initramfs as a boot module (effectful: reads start_info's module list) and the
// `test=initramfs` listing the integration test reads (a first form of the shell's `ls`).
#pragma once

#include "dom0/initramfs.hpp"

namespace dom0 {

// Opens dom0's initramfs: the first PVH module whose data starts with the cpio newc magic.
// False, with a `dom0: initramfs: ...` line saying why, when there is none or it is malformed.
[[nodiscard]] bool open_initramfs(initramfs::Archive* out);

// The `test=initramfs` boot check: one line per entry,
//   dom0: initramfs: /PATH SIZE bytes crc32 0xXXXXXXXX     (regular files)
//   dom0: initramfs: /PATH/ directory                       (and `symlink`, `other`)
// then `dom0: initramfs: N entries` and `dom0: test=initramfs ok`, or a line with FAIL.
bool test_initramfs();

}  // namespace dom0
