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

// Parses the positional form 'phy:/dev/hdb1,xvda,w' ([format,][vdev,][access,]target in
// xl's order: format, vdev, access, target; a 'phy:' prefix on the target is allowed) and
// the key=value form ('target=/dev/hdb1,vdev=xvda,access=w,format=raw,backendtype=phy').
// False with a one-line message in `err` (no FILE:LINE: the caller adds it).
[[nodiscard]] bool parse_disk_spec(const char* s, DiskSpec& out, char* err, size_t err_size);

// xvdX[N], hdX[N], sdX[N] -> devid as xen-vbd-interface(7) numbers them; false if not a vdev.
[[nodiscard]] bool vdev_to_devid(const char* vdev, uint32_t& devid);

}  // namespace dom0::block
