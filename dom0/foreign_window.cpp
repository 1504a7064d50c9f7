// The foreign-mapping window dom0's builder writes a new domain through: see foreign_window.hpp.
#include "foreign_window.hpp"

#include "runtime/hypercall.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

namespace dom0 {
namespace {

constexpr uint64_t PAGE = 4096;
// 1 MiB: one batch call maps it, far below the hypervisor's limit on a
// domain's non-RAM mappings (docs/abi.md, section 15), and it shares the
// 2 MiB of dom0's physical space that shared_info opened, so the window costs
// dom0 no EPT table of its own (a free-memory count stays where it was).
constexpr unsigned WINDOW_FRAMES = 256;

uint64_t g_window = 0;   // dom0's first frame of the window, taken once
uint64_t g_idxs[WINDOW_FRAMES];
uint64_t g_gpfns[WINDOW_FRAMES];
int g_errs[WINDOW_FRAMES];

long map_batch(uint16_t domid, const uint64_t* idxs, const uint64_t* gpfns, int* errs, unsigned count) {
    xen::xen_add_to_physmap_batch b{};
    b.domid = xen::DOMID_SELF;
    b.space = xen::XENMAPSPACE_gmfn_foreign;
    b.size = static_cast<uint16_t>(count);
    b.foreign_domid = domid;
    b.idxs = reinterpret_cast<uintptr_t>(idxs);
    b.gpfns = reinterpret_cast<uintptr_t>(gpfns);
    b.errs = reinterpret_cast<uintptr_t>(errs);
    return memory_op(xen::XENMEM_add_to_physmap_batch, &b);
}

}  // namespace

long map_foreign_frame(uint16_t domid, uint64_t gfn, uint64_t local_gfn) {
    int err = 1;
    const long rc = map_batch(domid, &gfn, &local_gfn, &err, 1);
    return rc != 0 ? rc : err;
}

long unmap_frame(uint64_t local_gfn) {
    xen::xen_remove_from_physmap r{};
    r.domid = xen::DOMID_SELF;
    r.gpfn = local_gfn;
    return memory_op(xen::XENMEM_remove_from_physmap, &r);
}

ForeignWindow::ForeignWindow(uint16_t domid, uint64_t ram_end_gfn) : domid_(domid), ram_end_gfn_(ram_end_gfn) {
    if (g_window == 0) g_window = alloc_unused_gfn(WINDOW_FRAMES);
}

ForeignWindow::~ForeignWindow() { (void)close(); }

bool ForeignWindow::close() { return unmap(); }

bool ForeignWindow::map(uint64_t first_gfn, unsigned count) {
    for (unsigned i = 0; i < count; ++i) {
        g_idxs[i] = first_gfn + i;
        g_gpfns[i] = g_window + i;
        g_errs[i] = 1;
    }
    const long rc = map_batch(domid_, g_idxs, g_gpfns, g_errs, count);
    unsigned mapped = 0;
    while (rc == 0 && mapped < count && g_errs[mapped] == 0) ++mapped;
    first_ = first_gfn;
    count_ = mapped;   // what is mapped must be unmapped, even after a failure
    if (mapped == count) return true;
    error_ = "a frame of the new domain could not be mapped into dom0";
    return false;
}

bool ForeignWindow::unmap() {
    bool ok = true;
    for (unsigned i = 0; i < count_; ++i) {
        if (unmap_frame(g_window + i) != 0) {
            error_ = "dom0 could not unmap a frame of the new domain";
            ok = false;
        }
    }
    count_ = 0;
    return ok;
}

bool ForeignWindow::write(uint64_t gpa, const void* src, size_t len) {
    if (g_window == 0) {
        error_ = "no free range in dom0's physical space for the builder's window";
        return false;
    }
    const uint8_t* from = static_cast<const uint8_t*>(src);
    while (len > 0) {
        const uint64_t gfn = gpa / PAGE;
        if (count_ == 0 || gfn < first_ || gfn >= first_ + count_) {
            if (!unmap()) return false;
            // RAM ahead is mapped a window at a time; past RAM, one frame.
            unsigned n = 1;
            if (gfn < ram_end_gfn_) {
                const uint64_t left = ram_end_gfn_ - gfn;
                n = left < WINDOW_FRAMES ? static_cast<unsigned>(left) : WINDOW_FRAMES;
            }
            if (!map(gfn, n)) return false;
        }
        const uint64_t off = gpa - first_ * PAGE;
        const uint64_t room = static_cast<uint64_t>(count_) * PAGE - off;
        const size_t chunk = len < room ? len : static_cast<size_t>(room);
        uint8_t* to = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(g_window * PAGE + off));
        if (from) {
            __builtin_memcpy(to, from, chunk);
            from += chunk;
        } else {
            __builtin_memset(to, 0, chunk);
        }
        gpa += chunk;
        len -= chunk;
    }
    return true;
}

bool ForeignWindow::write_fn(void* ctx, uint64_t gpa, const void* src, size_t len) {
    return static_cast<ForeignWindow*>(ctx)->write(gpa, src, len);
}

}  // namespace dom0
