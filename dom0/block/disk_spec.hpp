// One xl.cfg `disk =` entry parsed (xl-disk-configuration(5)): the target, the virtual device and its number, the access mode. Pure, host-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace dom0::block {

struct DiskSpec {
    char target[64]{};     // "/dev/hdb1" (backendtype phy, format raw)
    char vdev[16]{};       // "xvda"
    uint32_t devid{0};     // Xen's virtual device number (xen-vbd-interface(7)): xvda = 51712
    bool writable{true};   // access=rw/w (default), r/ro: read-only
};

// Parses one entry as xl's parser does. Comma-separated items: `key=value`
// (format, vdev, access, backendtype, devtype, specification, backend),
// `target=...` (takes the rest of the string, commas included), a few
// flags, and positional values, which fill the slots not yet given in
// the order target, format, vdev, access ('/dev/hdb1,raw,xvda,w';
// '/dev/hdb1,,xvda' leaves format and access to their defaults). The
// deprecated prefixes on a positional value ('phy:', 'file:', 'aio:',
// 'tap:', 'raw:' ...) are stripped, and once one was seen the format slot
// is skipped, so the classic 'phy:/dev/hdb1,xvda,w' is target, vdev,
// access. A target not starting with '/' gets "/dev/" in front. Only
// what dom0 can serve is accepted: format raw, backendtype phy, disks
// (no cdrom), backend dom0; anything else is refused by name.
// False with a one-line reason in `err` (no FILE:LINE: the caller adds it).
[[nodiscard]] bool parse_disk_spec(const char* s, DiskSpec& out, char* err, size_t err_size);

// xen-vbd-interface(7)'s names -> devid: xvdX[N] (disk letters a..z, aa..,
// so xvdtq is disk 536), dN[pM], hdX[N] (disks a-d, partitions to 63),
// sdX[N] (disks a-p, partitions to 15), or a plain number (decimal, 0x hex,
// 0-prefixed octal) taken as the devid itself; false if none of these.
[[nodiscard]] bool vdev_to_devid(const char* vdev, uint32_t& devid);

}  // namespace dom0::block
