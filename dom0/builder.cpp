// The `test=build` domain builder: see builder.hpp.
//
// Steps (every one checked, each failure printed as `dom0: FAIL ...`):
//  1. find the kernel: PVH module 0 is either an ELF file or a cpio "newc"
//     archive (read with dom0/initramfs); in an archive, the regular file
//     named by `build=NAME` on dom0's command line (its path or its last
//     name component), else the first file whose name ends in ".elf";
//  2. read its PT_LOAD segments (by p_paddr) and its XEN_ELFNOTE_PHYS32_ENTRY;
//  3. sysctl physinfo: free pages before;
//  4. domctl create (`build_memory=MIB`, default 8; 1 vCPU; name "built"),
//     domctl populate;
//  5. map the frames from the kernel's first page to the boot-data page into
//     a free range of dom0's physical space (XENMEM_add_to_physmap_batch,
//     XENMAPSPACE_gmfn_foreign), zero them, copy the segments, write
//     hvm_start_info (magic 0x336ec578, version 1), a one-entry memory map
//     and the command line "built by dom0" in the page after the kernel, and
//     unmap them again (XENMEM_remove_from_physmap);
//  6. domctl set_vcpu_context (vCPU 0: entry, ebx = start_info), unpause;
//  7. domctl get_info every 100 ms until the domain has shut down (2 min at
//     most), destroy it, and compare sysctl physinfo's free pages with step
//     3 (allowing 5 s for the frames to come back).
// `builds=N` (default 1) repeats steps 3-7 N times, each with its own line.
#include "builder.hpp"

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

constexpr uint64_t PAGE = 4096;
constexpr unsigned MAX_FRAMES = 1024;  // kernel + boot data: 4 MiB
constexpr char BUILT_CMDLINE[] = "built by dom0";

template <typename T>
T load(const uint8_t* p) {
    T v;
    __builtin_memcpy(&v, p, sizeof(T));
    return v;
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

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

// --- the kernel: ELF32/ELF64 PVH ------------------------------------------

struct Segment {
    uint64_t paddr, offset, filesz, memsz;
};

struct Kernel {
    Segment seg[16];
    unsigned nseg = 0;
    uint32_t entry = 0;
    uint64_t lo = ~0ull, hi = 0;  // [lo, hi): what the segments cover
};

constexpr uint32_t PT_LOAD = 1, PT_NOTE = 4;
constexpr uint16_t EM_386 = 3, EM_X86_64 = 62;
constexpr uint32_t XEN_ELFNOTE_PHYS32_ENTRY = 18;

// Looks through one note area for the Xen PHYS32 entry note.
bool find_entry_note(const uint8_t* p, uint64_t size, uint32_t* entry) {
    uint64_t off = 0;
    while (off + 12 <= size) {
        uint32_t namesz = load<uint32_t>(p + off), descsz = load<uint32_t>(p + off + 4),
                 type = load<uint32_t>(p + off + 8);
        uint64_t name_off = off + 12, desc_off = name_off + align_up(namesz, 4);
        uint64_t next = desc_off + align_up(descsz, 4);
        if (next > size || next <= off) return false;
        if (namesz == 4 && __builtin_memcmp(p + name_off, "Xen", 4) == 0 && type == XEN_ELFNOTE_PHYS32_ENTRY &&
            (descsz == 4 || descsz == 8)) {
            *entry = load<uint32_t>(p + desc_off);
            return true;
        }
        off = next;
    }
    return false;
}

const char* parse_elf(const uint8_t* f, uint64_t size, Kernel* k) {
    if (size < 52 || __builtin_memcmp(f, "\x7f" "ELF", 4) != 0) return "not an ELF file";
    const bool is64 = f[4] == 2;
    if ((f[4] != 1 && f[4] != 2) || f[5] != 1) return "not a little-endian ELF32/ELF64 file";
    if (load<uint16_t>(f + 16) != 2) return "not ET_EXEC";
    const uint16_t machine = load<uint16_t>(f + 18);
    if (machine != EM_X86_64 && !(machine == EM_386 && !is64)) return "not an x86 ELF file";
    uint64_t phoff;
    uint16_t phentsize, phnum;
    if (is64) {
        if (size < 64) return "truncated ELF header";
        phoff = load<uint64_t>(f + 32);
        phentsize = load<uint16_t>(f + 54);
        phnum = load<uint16_t>(f + 56);
        if (phentsize < 56) return "bad program header size";
    } else {
        phoff = load<uint32_t>(f + 28);
        phentsize = load<uint16_t>(f + 42);
        phnum = load<uint16_t>(f + 44);
        if (phentsize < 32) return "bad program header size";
    }
    if (phoff > size || static_cast<uint64_t>(phnum) * phentsize > size - phoff) return "program headers outside the file";
    bool have_entry = false;
    for (unsigned i = 0; i < phnum; ++i) {
        const uint8_t* ph = f + phoff + static_cast<uint64_t>(i) * phentsize;
        uint32_t type = load<uint32_t>(ph);
        uint64_t offset, paddr, filesz, memsz;
        if (is64) {
            offset = load<uint64_t>(ph + 8);
            paddr = load<uint64_t>(ph + 24);
            filesz = load<uint64_t>(ph + 32);
            memsz = load<uint64_t>(ph + 40);
        } else {
            offset = load<uint32_t>(ph + 4);
            paddr = load<uint32_t>(ph + 12);
            filesz = load<uint32_t>(ph + 16);
            memsz = load<uint32_t>(ph + 20);
        }
        if (offset > size || filesz > size - offset) return "segment outside the file";
        if (type == PT_NOTE && !have_entry) have_entry = find_entry_note(f + offset, filesz, &k->entry);
        if (type != PT_LOAD || memsz == 0) continue;
        if (filesz > memsz || paddr + memsz < paddr) return "bad loadable segment";
        if (k->nseg == 16) return "too many loadable segments";
        k->seg[k->nseg++] = Segment{paddr, offset, filesz, memsz};
        if (paddr < k->lo) k->lo = paddr;
        if (paddr + memsz > k->hi) k->hi = paddr + memsz;
    }
    if (k->nseg == 0) return "no loadable segment";
    if (!have_entry) return "no XEN_ELFNOTE_PHYS32_ENTRY note in a PT_NOTE segment";
    return nullptr;
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

uint64_t g_idxs[MAX_FRAMES];
uint64_t g_gpfns[MAX_FRAMES];
int g_errs[MAX_FRAMES];

// Maps count frames of domain `dom` from gfn `first` at our frames win.. .
bool map_foreign(uint16_t dom, uint64_t first, uint64_t win, unsigned count) {
    for (unsigned i = 0; i < count; ++i) {
        g_idxs[i] = first + i;
        g_gpfns[i] = win + i;
        g_errs[i] = 1;
    }
    xen::xen_add_to_physmap_batch b{};
    b.domid = xen::DOMID_SELF;
    b.space = xen::XENMAPSPACE_gmfn_foreign;
    b.size = static_cast<uint16_t>(count);
    b.foreign_domid = dom;
    b.idxs = reinterpret_cast<uintptr_t>(g_idxs);
    b.gpfns = reinterpret_cast<uintptr_t>(g_gpfns);
    b.errs = reinterpret_cast<uintptr_t>(g_errs);
    long rc = memory_op(xen::XENMEM_add_to_physmap_batch, &b);
    if (rc != 0) {
        print("dom0: FAIL XENMEM_add_to_physmap_batch(gmfn_foreign d%u, %u frames) -> %ld\n", dom, count, rc);
        return false;
    }
    for (unsigned i = 0; i < count; ++i) {
        if (g_errs[i] != 0) {
            print("dom0: FAIL foreign map of d%u gfn 0x%llx at 0x%llx: error %d\n", dom,
                  static_cast<unsigned long long>(first + i), static_cast<unsigned long long>(win + i), g_errs[i]);
            return false;
        }
    }
    return true;
}

bool unmap_frames(uint64_t win, unsigned count) {
    bool ok = true;
    for (unsigned i = 0; i < count; ++i) {
        xen::xen_remove_from_physmap r{};
        r.domid = xen::DOMID_SELF;
        r.gpfn = win + i;
        long rc = memory_op(xen::XENMEM_remove_from_physmap, &r);
        if (rc != 0 && ok) {
            print("dom0: FAIL XENMEM_remove_from_physmap(0x%llx) -> %ld\n", static_cast<unsigned long long>(win + i),
                  rc);
            ok = false;
        }
    }
    return ok;
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
    Kernel k;
    if (const char* why = parse_elf(image, image_size, &k)) {
        print("dom0: FAIL the kernel: %s\n", why);
        return -1;
    }
    const uint64_t memory = memory_mib << 20;
    const uint64_t lo = k.lo & ~(PAGE - 1);
    const uint64_t boot = align_up(k.hi, PAGE);  // start_info, memory map, command line
    const uint64_t end = boot + PAGE;
    const unsigned frames = static_cast<unsigned>((end - lo) / PAGE);
    if (end > memory || end > (4ull << 30)) {
        print("dom0: FAIL kernel and boot data end at 0x%llx, beyond %llu MiB of RAM\n",
              static_cast<unsigned long long>(end), static_cast<unsigned long long>(memory_mib));
        return -1;
    }
    if (frames > MAX_FRAMES) {
        print("dom0: FAIL kernel spans %u frames, at most %u supported\n", frames, MAX_FRAMES);
        return -1;
    }

    abi::Domctl d = domctl_op(abi::DomctlCmd::create, 0);
    d.u.create.memory_kb = memory_mib * 1024;
    d.u.create.vcpus = 1;
    __builtin_memcpy(d.u.create.name, "built", 6);
    long rc = domctl(&d);
    if (rc != 0) {
        print("dom0: FAIL domctl create (%llu MiB) -> %ld\n", static_cast<unsigned long long>(memory_mib), rc);
        return -1;
    }
    const uint16_t id = d.domain;
    auto destroy = [&] {
        abi::Domctl x = domctl_op(abi::DomctlCmd::destroy, id);
        domctl(&x);
    };
    d = domctl_op(abi::DomctlCmd::populate, id);
    rc = domctl(&d);
    if (rc != 0) {
        print("dom0: FAIL domctl populate(d%u) -> %ld\n", id, rc);
        destroy();
        return -1;
    }

    // One window for every build (next to shared_info, in the same 2 MiB).
    static uint64_t window = 0;
    static unsigned window_frames = 0;
    if (frames > window_frames) {
        window = alloc_unused_gfn(frames);
        window_frames = window != 0 ? frames : 0;
    }
    const uint64_t win = window;
    if (win == 0) {
        print("dom0: FAIL no free range of %u frames in dom0's physical space\n", frames);
        destroy();
        return -1;
    }
    if (!map_foreign(id, lo / PAGE, win, frames)) {
        unmap_frames(win, frames);
        destroy();
        return -1;
    }
    uint8_t* base = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(win * PAGE));
    auto at = [&](uint64_t gpa) { return base + (gpa - lo); };
    __builtin_memset(base, 0, static_cast<size_t>(frames) * PAGE);
    for (unsigned i = 0; i < k.nseg; ++i) {
        const Segment& s = k.seg[i];
        __builtin_memcpy(at(s.paddr), image + s.offset, s.filesz);
    }
    xen::hvm_start_info si{};
    si.magic = xen::HVM_START_MAGIC;
    si.version = 1;
    si.cmdline_paddr = boot + 96;
    si.memmap_paddr = boot + 64;
    si.memmap_entries = 1;
    xen::hvm_memmap_table_entry ram{0, memory, xen::MEMMAP_TYPE_RAM, 0};
    __builtin_memcpy(at(boot), &si, sizeof(si));
    __builtin_memcpy(at(boot + 64), &ram, sizeof(ram));
    __builtin_memcpy(at(boot + 96), BUILT_CMDLINE, sizeof(BUILT_CMDLINE));
    if (!unmap_frames(win, frames)) {
        destroy();
        return -1;
    }

    d = domctl_op(abi::DomctlCmd::set_vcpu_context, id);
    d.u.vcpu.vcpu = 0;
    d.u.vcpu.entry = k.entry;
    d.u.vcpu.ebx = static_cast<uint32_t>(boot);
    rc = domctl(&d);
    if (rc != 0) {
        print("dom0: FAIL domctl set_vcpu_context(d%u, entry 0x%x) -> %ld\n", id, k.entry, rc);
        destroy();
        return -1;
    }
    d = domctl_op(abi::DomctlCmd::unpause, id);
    rc = domctl(&d);
    if (rc != 0) {
        print("dom0: FAIL domctl unpause(d%u) -> %ld\n", id, rc);
        destroy();
        return -1;
    }
    print("dom0: built domain %u (%llu MiB, %u segment%s, entry 0x%x, start_info 0x%llx)\n", id,
          static_cast<unsigned long long>(memory_mib), k.nseg, k.nseg == 1 ? "" : "s", k.entry,
          static_cast<unsigned long long>(boot));
    return id;
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
