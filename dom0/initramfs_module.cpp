// dom0's initramfs module and the test=initramfs listing: see initramfs_module.hpp.
#include "dom0/initramfs_module.hpp"

#include "dom0/crc32.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

namespace dom0 {

bool open_initramfs(initramfs::Archive* out) {
    unsigned nmods = 0;
    const xen::hvm_modlist_entry* mods = modules(&nmods);
    for (unsigned i = 0; i < nmods; ++i) {
        const uint8_t* data = reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(mods[i].paddr));
        if (!initramfs::looks_like_cpio(data, mods[i].size)) continue;
        if (out->open(data, mods[i].size)) return true;
        print("dom0: initramfs: module %u is a malformed cpio archive (offset %llu: %s)\n", i,
              static_cast<unsigned long long>(out->error_offset()), out->error());
        return false;
    }
    print("dom0: initramfs: none (no module is a cpio newc archive)\n");
    return false;
}

bool test_initramfs() {
    print("dom0: test=initramfs\n");
    initramfs::Archive ar;
    if (!open_initramfs(&ar)) {
        print("dom0: FAIL test=initramfs: no initramfs\n");
        return false;
    }
    uint64_t cursor = 0;
    initramfs::Entry e;
    while (ar.next(&cursor, &e)) {
        const char* path = initramfs::strip_root(e.name);
        switch (e.type()) {
            case initramfs::Type::regular:
                print("dom0: initramfs: /%s %llu bytes crc32 0x%08x\n", path, static_cast<unsigned long long>(e.size),
                      crc32(0, e.data, e.size));
                break;
            case initramfs::Type::directory: print("dom0: initramfs: /%s%s directory\n", path, path[0] ? "/" : ""); break;
            case initramfs::Type::symlink: print("dom0: initramfs: /%s symlink\n", path); break;
            case initramfs::Type::other: print("dom0: initramfs: /%s other\n", path); break;
        }
    }
    print("dom0: initramfs: %u entries\n", ar.count());
    print("dom0: test=initramfs ok\n");
    return true;
}

}  // namespace dom0
