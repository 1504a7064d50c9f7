// Task-switch arithmetic (vmm/task_switch_model.hpp).
#include "vmm/task_switch_model.hpp"

#include <catch2/catch.hpp>

using namespace menhir::tss;

namespace {
// A descriptor from its parts (SDM Vol 3A Figure 3-8).
constexpr uint64_t descriptor(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    return (limit & 0xffffull) | (static_cast<uint64_t>(base & 0xffffff) << 16) | (static_cast<uint64_t>(access) << 40) |
           (static_cast<uint64_t>((limit >> 16) & 0xf) << 48) | (static_cast<uint64_t>(flags & 0xf) << 52) |
           (static_cast<uint64_t>(base >> 24) << 56);
}
constexpr uint64_t tss_available = descriptor(0x12345678, 103, 0x89, 0);
constexpr uint64_t tss_busy = descriptor(0x12345678, 103, 0x8b, 0);
constexpr uint64_t code32 = descriptor(0, 0xfffff, 0x9a, 0xc);
constexpr uint64_t data32 = descriptor(0x1000, 0xfffff, 0x92, 0xc);
} // namespace

TEST_CASE("exit qualification: selector and source", "[tss]")
{
    CHECK(selector(0xc0000040) == 0x40);
    CHECK(source(0xc0000040) == Source::gate);
    CHECK(source(0x40000038) == Source::iret);
    CHECK(source(0x80000000) == Source::jmp);
    CHECK(source(0x28) == Source::call);
}

TEST_CASE("saved EIP: at a fault, past instructions and software interrupts", "[tss]")
{
    const uint32_t df = vectoring_valid | (3u << 8) | vectoring_error_code | 8;    // hardware #DF
    const uint32_t nmi = vectoring_valid | (2u << 8) | 2;
    const uint32_t int_n = vectoring_valid | (4u << 8) | 0x80;                   // INT 0x80
    const uint32_t int3 = vectoring_valid | (6u << 8) | 3;
    CHECK(saved_eip(Source::gate, df, 0x1000, 2) == 0x1000);
    CHECK(saved_eip(Source::gate, nmi, 0x1000, 2) == 0x1000);
    CHECK(saved_eip(Source::gate, int_n, 0x1000, 2) == 0x1002);
    CHECK(saved_eip(Source::gate, int3, 0x1000, 1) == 0x1001);
    CHECK(saved_eip(Source::call, 0, 0x1000, 7) == 0x1007);
    CHECK(saved_eip(Source::iret, 0, 0x1000, 1) == 0x1001);
    CHECK(pushes_error_code(Source::gate, df));
    CHECK_FALSE(pushes_error_code(Source::gate, nmi));
    CHECK_FALSE(pushes_error_code(Source::call, df));
    CHECK(delivers_nmi(Source::gate, nmi));
    CHECK_FALSE(delivers_nmi(Source::gate, df));
}

TEST_CASE("old TSS gets EIP..GS; IRET saves NT clear", "[tss]")
{
    Tss32 old{};
    old.cr3 = 0xabc000;
    old.ldt = 0x50;
    State32 s{0x1234, 0x4202, {1, 2, 3, 4, 5, 6, 7, 8}, {0x10, 0x18, 0x10, 0x23, 0x2b, 0x33}};
    save(old, s, Source::gate);
    CHECK(old.eip == 0x1234);
    CHECK(old.eflags == 0x4202);
    CHECK(old.gpr[4] == 5);                 // ESP
    CHECK(old.seg[cs][0] == 0x18);
    CHECK(old.seg[gs][0] == 0x33);
    CHECK(old.cr3 == 0xabc000);             // not part of what is saved
    CHECK(old.ldt == 0x50);
    save(old, s, Source::iret);
    CHECK(old.eflags == 0x0202);
    CHECK(dynamic_first == 0x20);
    CHECK(dynamic_end == 0x60);
}

TEST_CASE("new task's EFLAGS and busy bits by source", "[tss]")
{
    Tss32 next{};
    next.eflags = 0x200;
    CHECK(entry_eflags(next, Source::gate) == (0x202 | eflags_nt));
    CHECK(entry_eflags(next, Source::call) == (0x202 | eflags_nt));
    CHECK(entry_eflags(next, Source::jmp) == 0x202);
    CHECK(entry_eflags(next, Source::iret) == 0x202);
    CHECK(nests(Source::gate));
    CHECK_FALSE(nests(Source::jmp));
    CHECK(clears_old_busy(Source::iret));
    CHECK(clears_old_busy(Source::jmp));
    CHECK_FALSE(clears_old_busy(Source::gate));
    CHECK(sets_new_busy(Source::gate));
    CHECK_FALSE(sets_new_busy(Source::iret));
}

TEST_CASE("TSS descriptor checks", "[tss]")
{
    CHECK(check_new_tss(tss_available, Source::gate) == TssCheck::ok);
    CHECK(check_new_tss(tss_busy, Source::iret) == TssCheck::ok);
    CHECK(check_new_tss(tss_busy, Source::gate) == TssCheck::bad_type);        // already busy
    CHECK(check_new_tss(tss_available, Source::iret) == TssCheck::bad_type);   // IRET returns to a busy one
    CHECK(check_new_tss(descriptor(0, 103, 0x81, 0), Source::jmp) == TssCheck::tss16);
    CHECK(check_new_tss(descriptor(0, 103, 0x09, 0), Source::jmp) == TssCheck::not_present);
    CHECK(check_new_tss(descriptor(0, 0x40, 0x89, 0), Source::jmp) == TssCheck::too_small);
    CHECK(check_new_tss(code32, Source::jmp) == TssCheck::bad_type);
    CHECK(base(tss_available) == 0x12345678);
    CHECK(limit(tss_available) == 103);
    CHECK(((tss_available | busy_bit) >> 40 & 0xf) == 0xb);
}

TEST_CASE("segment descriptors: base, scaled limit, access rights, checks", "[tss]")
{
    CHECK(base(data32) == 0x1000);
    CHECK(limit(data32) == 0xffffffff);
    CHECK(access_rights(code32) == 0xc09a);
    CHECK(access_rights(data32) == 0xc092);
    CHECK(check_segment(cs, 0x18, code32) == SegCheck::ok);
    CHECK(check_segment(cs, 0x10, data32) == SegCheck::bad);
    CHECK(check_segment(ss, 0x10, data32) == SegCheck::ok);
    CHECK(check_segment(ss, 0x18, code32) == SegCheck::bad);
    CHECK(check_segment(ss, 0, 0) == SegCheck::bad);             // no null SS (outside 64-bit mode)
    CHECK(check_segment(cs, 3, 0) == SegCheck::bad);
    CHECK(check_segment(ds, 0, 0) == SegCheck::null);
    CHECK(check_segment(ds, 0x18, code32) == SegCheck::ok);      // readable code is fine for DS
    CHECK(check_segment(ds, 0x18, descriptor(0, 0xfffff, 0x98, 0xc)) == SegCheck::bad);   // execute-only
    CHECK(check_segment(es, 0x10, descriptor(0, 0xfffff, 0x12, 0xc)) == SegCheck::not_present);
    CHECK(check_segment(ds, 0x38, tss_available) == SegCheck::bad);   // a system descriptor
}
