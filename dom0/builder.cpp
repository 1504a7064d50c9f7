// The `test=build` domain builder: see builder.hpp.
//
// Steps (every one checked, each failure printed as `dom0: FAIL ...`):
//  1. find the kernel: PVH module 0 is either an ELF file or a cpio "newc"
//     archive (read with dom0/initramfs); in an archive, the regular file
//     named by `build=NAME` on dom0's command line (its path or its last
//     name component), else the first file whose name ends in ".elf";
//  2. sysctl physinfo: free pages before;
//  3. build it with dom0's domain builder (domain_builder.hpp: `build_memory=MIB`,
//     default 8; 1 vCPU; name "built"; command line "built by dom0"), unpause;
//  4. domctl get_info every 100 ms until the domain has shut down (2 min at
//     most), destroy it, and compare sysctl physinfo's free pages with step
//     2 (allowing 5 s for the frames to come back).
// `builds=N` (default 1) repeats steps 2-4 N times, each with its own line.
#include "builder.hpp"

#include "domain_builder.hpp"

#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "../vmm/abi/menhir.hpp"
#include "domctl.hpp"
#include "dom0/initramfs.hpp"

using namespace guest;
namespace abi = menhir::abi;

namespace dom0 {
namespace {

constexpr char BUILT_CMDLINE[] = "built by dom0";


// --- the module: ELF or cpio newc (dom0/initramfs) --------------------------

const char* base_name(const char* path) {
    const char* b = path;
    for (const char* p = path; *p != '\0'; ++p)
        if (*p == '/') b = p + 1;
    return b;
}

bool ends_with(const char* s, const char* suffix) {
    size_t n = str_len(s), m = str_len(suffix);
    return n >= m && str_eq(s + n - m, suffix);
}

// Finds the kernel in the archive: the regular file named `want` (its whole path or its last
// component), else the first one whose name ends in ".elf".
bool archive_find_kernel(const initramfs::Archive& ar, const char* want, initramfs::Entry* out) {
    uint64_t cursor = 0;
    initramfs::Entry e;
    while (ar.next(&cursor, &e)) {
        if (e.type() != initramfs::Type::regular) continue;
        const bool match = want[0] != '\0' ? str_eq(base_name(e.name), want) || str_eq(e.name, want) ||
                                                 str_eq(initramfs::strip_root(e.name), initramfs::strip_root(want))
                                           : ends_with(e.name, ".elf");
        if (match) {
            *out = e;
            return true;
        }
    }
    return false;
}

// --- hypercalls -------------------------------------------------------------


long free_pages(uint64_t* out) {
    abi::Sysctl s{};
    s.cmd = static_cast<uint32_t>(abi::SysctlCmd::physinfo);
    s.interface_version = abi::domctl_interface_version;
    long rc = sysctl(&s);
    if (rc == 0) *out = s.u.physinfo.free_pages;
    return rc;
}

// Sleeps about ms milliseconds (the heartbeat wakes us every 100 ms).
void sleep_ms(uint64_t ms) { ev::wait_until([] { return false; }, ms * ev::MS); }

const char* state_name(uint8_t s) {
    switch (static_cast<abi::DomainStateAbi>(s)) {
        case abi::DomainStateAbi::running: return "running";
        case abi::DomainStateAbi::paused: return "paused";
        case abi::DomainStateAbi::shutdown: return "shut down";
        case abi::DomainStateAbi::crashed: return "crashed";
        case abi::DomainStateAbi::dying: return "dying";
    }
    return "?";
}

// Builds and starts the domain; its id, or -1.
long build(const uint8_t* image, uint64_t image_size, uint64_t memory_mib) {
    static xl::DomainConfig cfg;   // 1.6 KiB: not on the stack
    cfg = xl::DomainConfig{};
    __builtin_memcpy(cfg.name, "built", 6);
    __builtin_memcpy(cfg.kernel, "module", 7);
    __builtin_memcpy(cfg.cmdline, BUILT_CMDLINE, sizeof(BUILT_CMDLINE));
    cfg.memory_mib = static_cast<uint32_t>(memory_mib);
    BuiltDomain b;
    char why[160];
    if (!build_domain(cfg, Blob{image, image_size}, Blob{}, b, why, sizeof why)) {
        print("dom0: FAIL build: %s\n", why);
        return -1;
    }
    const long rc = unpause_domain(b.domid);
    if (rc != 0) {
        print("dom0: FAIL domctl unpause(d%u) -> %ld\n", b.domid, rc);
        (void)destroy_domain(b.domid);
        return -1;
    }
    print("dom0: built domain %u (%llu MiB, %u segment%s, entry 0x%x, start_info 0x%llx)\n", b.domid,
          static_cast<unsigned long long>(memory_mib), b.segments, b.segments == 1 ? "" : "s", b.entry,
          static_cast<unsigned long long>(b.start_info));
    return b.domid;
}

// One build: create, load, run to its end, destroy, compare free pages.
bool build_and_run(const uint8_t* image, uint64_t image_size, uint64_t memory_mib) {
    uint64_t before = 0;
    long rc = free_pages(&before);
    if (rc != 0) {
        print("dom0: FAIL sysctl physinfo -> %ld\n", rc);
        return false;
    }
    long built = build(image, image_size, memory_mib);
    if (built < 0) return false;
    const uint16_t id = static_cast<uint16_t>(built);

    // Wait for it to end.
    const uint64_t start = ev::now_ns();
    bool gone = false, ended = false;
    abi::DomainInfo info{};
    for (;;) {
        abi::Domctl d = domctl_op(abi::DomctlCmd::get_info, id);
        rc = domctl(&d);
        if (rc == -xen::XEN_ESRCH) {
            gone = true;
            break;
        }
        if (rc != 0) {
            print("dom0: FAIL domctl get_info(d%u) -> %ld\n", id, rc);
            break;
        }
        info = d.u.info;
        const auto state = static_cast<abi::DomainStateAbi>(info.state);
        if (state == abi::DomainStateAbi::shutdown || state == abi::DomainStateAbi::crashed ||
            state == abi::DomainStateAbi::dying) {
            ended = true;
            break;
        }
        if (ev::now_ns() - start > 120000 * ev::MS) {
            print("dom0: FAIL domain %u still %s after 120 s\n", id, state_name(info.state));
            break;
        }
        sleep_ms(100);
    }
    bool ok = true;
    if (gone) {
        print("dom0: domain %u already gone (destroyed by the hypervisor)\n", id);
    } else if (ended) {
        print("dom0: domain %u %s (reason %u) after %llu ms\n", id, state_name(info.state), info.shutdown_reason,
              static_cast<unsigned long long>((ev::now_ns() - start) / ev::MS));
        if (static_cast<abi::DomainStateAbi>(info.state) == abi::DomainStateAbi::crashed) {
            print("dom0: FAIL domain %u crashed\n", id);
            ok = false;
        }
    } else {
        ok = false;
    }
    abi::Domctl d = domctl_op(abi::DomctlCmd::destroy, id);
    rc = domctl(&d);
    if (rc != 0 && !(gone && rc == -xen::XEN_ESRCH)) {
        print("dom0: FAIL domctl destroy(d%u) -> %ld\n", id, rc);
        ok = false;
    }
    // The frames may come back a little later (once no CPU holds the domain).
    uint64_t after = 0;
    for (int i = 0; i < 50; ++i) {
        rc = free_pages(&after);
        if (rc != 0 || after == before) break;
        sleep_ms(100);
    }
    if (rc != 0) {
        print("dom0: FAIL sysctl physinfo -> %ld\n", rc);
        ok = false;
    }
    if (ok && after == before) {
        print("dom0: test=build ok, free pages before %llu after %llu\n", static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(after));
    } else {
        print("dom0: FAIL test=build, free pages before %llu after %llu\n", static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(after));
        ok = false;
    }
    return ok;
}

}  // namespace

bool test_build() {
    print("dom0: test=build\n");
    unsigned nmods = 0;
    const xen::hvm_modlist_entry* mods = modules(&nmods);
    if (nmods == 0) {
        print("dom0: FAIL test=build needs a module (a PVH ELF kernel, or a cpio newc archive holding one)\n");
        return false;
    }
    const uint8_t* mod = reinterpret_cast<const uint8_t*>(static_cast<uintptr_t>(mods[0].paddr));
    const uint64_t mod_size = mods[0].size;
    const uint8_t* image = mod;
    uint64_t image_size = mod_size;
    char name[64] = "module 0";
    if (initramfs::looks_like_cpio(mod, mod_size)) {
        initramfs::Archive ar;
        if (!ar.open(mod, mod_size)) {
            print("dom0: FAIL the cpio archive is malformed at offset %llu: %s\n",
                  static_cast<unsigned long long>(ar.error_offset()), ar.error());
            return false;
        }
        char want[64] = "";
        cmdline_option(cmdline(), "build", want, sizeof(want));
        initramfs::Entry e;
        if (!archive_find_kernel(ar, want, &e)) {
            print("dom0: FAIL no %s%s in the cpio archive\n", want[0] != '\0' ? want : "*.elf",
                  want[0] != '\0' ? "" : " file");
            return false;
        }
        image = e.data;
        image_size = e.size;
        size_t i = 0;
        for (; e.name[i] != '\0' && i + 1 < sizeof(name); ++i) name[i] = e.name[i];
        name[i] = '\0';
    }
    print("dom0: kernel %s, %llu bytes\n", name, static_cast<unsigned long long>(image_size));

    uint64_t memory_mib = 8, builds = 1;
    cmdline_number(cmdline(), "build_memory", &memory_mib);
    cmdline_number(cmdline(), "builds", &builds);
    if (!ev::init() || !ev::heartbeat_start(100 * ev::MS)) return false;
    irq_enable();
    bool ok = true;
    for (uint64_t i = 0; i < builds; ++i) ok = build_and_run(image, image_size, memory_mib) && ok;
    ev::heartbeat_stop();
    irq_disable();
    return ok;
}

}  // namespace dom0
