// mmiohole: loads, stores, ALU forms and string instructions on
// guest-physical memory with nothing behind it (0xFED00000, where a PC has
// its HPET: a PVH domU has no device model, so Xen answers reads with all
// ones and drops writes). One `mmiohole: CASE -> R (expected E) ok|FAIL`
// line each, `mmiohole: N passed, M failed`, then 3000 more reads (for the
// hypervisor's rate-limited log), then an instruction the hypervisor does
// not decode (CMPXCHG8B), which must crash this domain alone. Before that,
// one page of its own RAM ballooned out (it must then read the same way)
// and back in, which in the 32-bit build exercises the compat layout of
// xen_memory_reservation. The same source builds the 64-bit guest
// (mmiohole) and a 32-bit protected-mode one (mmiohole32).
#include "../lib/check.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

#if defined(__x86_64__)
extern "C" const char guest_name[] = "mmiohole";
#else
extern "C" const char guest_name[] = "mmiohole32";
#endif

namespace {

constexpr uintptr_t HOLE = 0xfed00000;
constexpr uint32_t ONES32 = 0xffffffffu;
Checks c;
uint8_t buf[32];

long u(uint32_t v) { return static_cast<long>(v); }

uint32_t load32(uintptr_t a);
uint32_t load32(const void* p) { return load32(reinterpret_cast<uintptr_t>(p)); }
uint32_t load32(uintptr_t a) {
    uint32_t v;
    asm volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
    return v;
}

void loads_and_stores() {
    uint8_t b;
    asm volatile("movb (%1), %0" : "=q"(b) : "r"(HOLE) : "memory");
    c.expect("movb load", b, 0xff);
    uint16_t w;
    asm volatile("movw 2(%1), %0" : "=r"(w) : "r"(HOLE) : "memory");
    c.expect("movw load", w, 0xffff);
    c.expect("movl load", u(load32(HOLE + 4)), u(ONES32));
    uint32_t merged;
    asm volatile("movl $0x11223344, %%eax\n\tmovb (%1), %%ah\n\tmovl %%eax, %0" : "=r"(merged) : "r"(HOLE)
                 : "eax", "memory");
    c.expect("movb load into %ah keeps the rest of %eax", u(merged), u(0x1122ff44u));
    uint32_t zx, zxw, sx;
    asm volatile("movzbl (%1), %0" : "=r"(zx) : "r"(HOLE) : "memory");
    asm volatile("movzwl (%1), %0" : "=r"(zxw) : "r"(HOLE) : "memory");
    asm volatile("movsbl (%1), %0" : "=r"(sx) : "r"(HOLE) : "memory");
    c.expect("movzbl", u(zx), 0xff);
    c.expect("movzwl", u(zxw), 0xffff);
    c.expect("movsbl", u(sx), u(ONES32));
    uint32_t sib;
    asm volatile("movl 8(%1,%2,4), %0" : "=r"(sib) : "r"(HOLE), "r"(static_cast<uintptr_t>(2)) : "memory");
    c.expect("movl base+index*4+disp", u(sib), u(ONES32));
    uint32_t es;
    asm volatile("movl %%es:(%1), %0" : "=r"(es) : "r"(HOLE) : "memory");
    c.expect("movl with an ES override", u(es), u(ONES32));
    uint32_t moffs;
#if defined(__x86_64__)
    asm volatile("movabsl 0xfed00010, %%eax\n\tmovl %%eax, %0" : "=r"(moffs) : : "eax", "memory");
    c.expect("movabs moffs load", u(moffs), u(ONES32));
    uint64_t q;
    asm volatile("movq (%1), %0" : "=r"(q) : "r"(HOLE) : "memory");
    c.expect("movq load", q == ~0ull ? 1 : 0, 1);
    uint64_t r10;
    asm volatile("movq %1, %%r9\n\tmovq $0, %%r10\n\tmovl 4(%%r9), %%r10d\n\tmovq %%r10, %0" : "=r"(r10) : "r"(HOLE)
                 : "r9", "r10", "memory");
    c.expect("movl (%r9) into %r10d (REX.R, REX.B)", r10 == ONES32 ? 1 : 0, 1);
    uint32_t rel;
    // 1 GiB past RIP: far past RAM (RIP-relative reaches only +-2 GiB, not the HPET's address).
    asm volatile("movl 0x40000000(%%rip), %0" : "=r"(rel) : : "memory");
    c.expect("movl RIP-relative", u(rel), u(ONES32));
#else
    asm volatile("movl 0xfed00010, %%eax\n\tmovl %%eax, %0" : "=r"(moffs) : : "eax", "memory");
    c.expect("movl moffs load", u(moffs), u(ONES32));
#endif
    // Stores vanish: what is read back is still all ones.
    asm volatile("movl $0x12345678, (%0)" : : "r"(HOLE) : "memory");
    c.expect("movl $imm store, read back", u(load32(HOLE)), u(ONES32));
    asm volatile("movb %1, 1(%0)" : : "r"(HOLE), "q"(static_cast<uint8_t>(0)) : "memory");
    c.expect("movb store, read back", u(load32(HOLE)), u(ONES32));
    asm volatile("movw $0, 2(%0)" : : "r"(HOLE) : "memory");
    c.expect("movw $imm store, read back", u(load32(HOLE)), u(ONES32));
}

void alu_forms() {
    uint8_t f;
    asm volatile("cmpl $0xffffffff, (%1)\n\tsetz %0" : "=q"(f) : "r"(HOLE) : "cc", "memory");
    c.expect("cmpl $-1, (hole): ZF", f, 1);
    asm volatile("cmpl $5, (%1)\n\tseta %0" : "=q"(f) : "r"(HOLE) : "cc", "memory");
    c.expect("cmpl $5, (hole): above", f, 1);
    asm volatile("movl $5, %%eax\n\tcmpl (%1), %%eax\n\tsetc %0" : "=q"(f) : "r"(HOLE) : "eax", "cc", "memory");
    c.expect("cmpl (hole), %eax=5: CF", f, 1);
    asm volatile("cmpb $0, (%1)\n\tsets %0" : "=q"(f) : "r"(HOLE) : "cc", "memory");
    c.expect("cmpb $0, (hole): SF", f, 1);
    asm volatile("testl $0x80, (%1)\n\tsetnz %0" : "=q"(f) : "r"(HOLE) : "cc", "memory");
    c.expect("testl $0x80, (hole): not zero", f, 1);
    asm volatile("testb %2, (%1)\n\tsetz %0" : "=q"(f) : "r"(HOLE), "q"(static_cast<uint8_t>(0)) : "cc", "memory");
    c.expect("testb %reg=0, (hole): ZF", f, 1);
    asm volatile("orl $1, (%1)\n\tsets %0" : "=q"(f) : "r"(HOLE) : "cc", "memory");
    c.expect("orl $1, (hole): SF", f, 1);
    c.expect("  ... read back", u(load32(HOLE)), u(ONES32));
    uint32_t r;
    asm volatile("movl $0x10, %0\n\torl (%1), %0" : "=&r"(r) : "r"(HOLE) : "cc", "memory");
    c.expect("orl (hole), %reg", u(r), u(ONES32));
    asm volatile("movl $1, %0\n\taddl (%2), %0\n\tsetc %1" : "=&r"(r), "=q"(f) : "r"(HOLE) : "cc", "memory");
    c.expect("addl (hole), %reg=1", u(r), 0);
    c.expect("  ... CF", f, 1);
    asm volatile("movl $0x1234, %0\n\tandl (%1), %0" : "=&r"(r) : "r"(HOLE) : "cc", "memory");
    c.expect("andl (hole), %reg", u(r), 0x1234);
    asm volatile("movl $0x0f0f, %0\n\txorw (%1), %w0" : "=&r"(r) : "r"(HOLE) : "cc", "memory");
    c.expect("xorw (hole), %reg", u(r), 0xf0f0);
}

void string_forms() {
    for (auto& b : buf) b = 0x11;
    uintptr_t si = HOLE, di = reinterpret_cast<uintptr_t>(buf), cx = 16;
    asm volatile("cld\n\trep movsb" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
    unsigned ff = 0;
    for (unsigned i = 0; i < 16; ++i) ff += buf[i] == 0xff;
    c.expect("rep movsb hole -> RAM: bytes that read 0xff", ff, 16);
    c.expect("  ... the byte after is untouched", buf[16], 0x11);
    c.expect("  ... count left", static_cast<long>(cx), 0);
    c.expect("  ... source advanced", static_cast<long>(si - HOLE), 16);
    c.expect("  ... destination advanced", static_cast<long>(di - reinterpret_cast<uintptr_t>(buf)), 16);
    si = reinterpret_cast<uintptr_t>(buf);
    di = HOLE + 0x100;
    cx = 32;
    asm volatile("cld\n\trep movsb" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
    c.expect("rep movsb RAM -> hole: destination advanced", static_cast<long>(di - HOLE), 0x120);
    c.expect("  ... read back", u(load32(HOLE + 0x100)), u(ONES32));
    di = HOLE + 0x200;
    cx = 8;
    asm volatile("cld\n\trep stosl" : "+D"(di), "+c"(cx) : "a"(0xdeadbeefu) : "memory");
    c.expect("rep stosl into the hole: destination advanced", static_cast<long>(di - HOLE), 0x220);
    c.expect("  ... count left", static_cast<long>(cx), 0);
    c.expect("  ... read back", u(load32(HOLE + 0x200)), u(ONES32));
    uint32_t eax = 0;
    si = HOLE;
    asm volatile("cld\n\tlodsl" : "+S"(si), "=a"(eax) : : "memory");
    c.expect("lodsl", u(eax), u(ONES32));
    c.expect("  ... source advanced", static_cast<long>(si - HOLE), 4);
    si = HOLE + 8;
    asm volatile("std\n\tlodsb\n\tcld" : "+S"(si), "=a"(eax) : : "memory");
    c.expect("std; lodsb: source moved back", static_cast<long>(si - HOLE), 7);
}

alignas(4096) uint8_t page[4096];

void balloon_one_page() {
    unsigned long gfn = reinterpret_cast<uintptr_t>(page) >> 12;
    xen::xen_memory_reservation r{};
    r.extent_start = reinterpret_cast<uintptr_t>(&gfn);
    r.nr_extents = 1;
    r.domid = xen::DOMID_SELF;
    page[8] = 0x42;
    c.expect("decrease_reservation of one page", memory_op(xen::XENMEM_decrease_reservation, &r), 1);
    asm volatile("movl $0x12345678, (%0)" : : "r"(page) : "memory");
    c.expect("  ... it reads all ones", u(load32(page + 8)), u(ONES32));
    c.expect("populate_physmap of it", memory_op(xen::XENMEM_populate_physmap, &r), 1);
    c.expect("  ... zeroed", u(load32(page)) | u(load32(page + 8)), 0);
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    print("%s: started\n", guest_name);
    loads_and_stores();
    alu_forms();
    string_forms();
    balloon_one_page();
    print("%s: %u passed, %u failed\n", guest_name, c.passed, c.failed);
    unsigned ones = 0;
    for (unsigned i = 0; i < 3000; ++i) ones += load32(HOLE + 4 * (i % 64)) == ONES32;
    print("%s: 3000 more reads, %u all ones\n", guest_name, ones);
    print("%s: now cmpxchg8b on the hole (not decoded: the domain must crash)\n", guest_name);
    asm volatile(".byte 0x0f, 0xc7, 0x0e"   // cmpxchg8b (%esi) / (%rsi)
                 : : "S"(HOLE), "a"(0), "d"(0), "b"(0), "c"(0) : "cc", "memory");
    print("%s: FAIL still running after cmpxchg8b on the hole\n", guest_name);
    poweroff();
}
