#include "vmm/msr_policy.hpp"
#include <catch2/catch.hpp>

using namespace menhir::msr_policy;

TEST_CASE("the bitmap passes through exactly the listed MSRs", "[msr]")
{
    static uint8_t bitmap[bitmap_bytes];
    build_bitmap(bitmap);
    for (uint32_t m : passthrough) {
        CHECK_FALSE(exits(bitmap, m, false));
        CHECK_FALSE(exits(bitmap, m, true));
    }
    CHECK_FALSE(exits(bitmap, 0x10, false));   // TSC reads
    CHECK(exits(bitmap, 0x10, true));          // TSC writes exit
    for (uint32_t m : {0x1bu, 0x3au, 0x277u, 0xc0000080u, 0x40000000u, 0x1a0u, 0x48u, 0xc0010000u, 0x1fffu})
        CHECK(exits(bitmap, m, false));
    CHECK(exits(bitmap, 0xc0000080, true));    // EFER writes are checked
    // Count: every bit set except the pass-through ones.
    size_t clear_bits = 0;
    for (auto byte : bitmap)
        for (int b = 0; b < 8; ++b) clear_bits += !((byte >> b) & 1);
    CHECK(clear_bits == 2 * (sizeof passthrough / sizeof passthrough[0]) + 1);
}

TEST_CASE("rules: known MSRs answered, unknown ones #GP", "[msr]")
{
    REQUIRE(find(efer) != nullptr);
    CHECK(find(efer)->write == Write::efer);
    CHECK(find(pat)->read == Read::pat);
    CHECK(find(hypercall_page)->write == Write::hypercall_page);
    CHECK(find(0x3a)->write == Write::gp);   // nobody may unlock VMX
    CHECK(find(0x1b) == nullptr);            // no APIC base: #GP
    CHECK(find(0x48) == nullptr);            // no SPEC_CTRL
    // Nothing is both answered and passed through.
    for (uint32_t m : passthrough) CHECK(find(m) == nullptr);
}

TEST_CASE("EFER and PAT validation", "[msr]")
{
    CHECK(valid_efer(0));
    CHECK(valid_efer(efer_sce | efer_lme | efer_nxe));
    CHECK_FALSE(valid_efer(1u << 12));   // SVME is AMD's
    CHECK_FALSE(valid_efer(1ull << 63));
    CHECK(valid_pat(0x0007040600070406ull));
    CHECK(valid_pat(0));
    CHECK_FALSE(valid_pat(0x0007040600070402ull));   // type 2 is reserved
    CHECK_FALSE(valid_pat(0x0807040600070406ull));   // > 7
    CHECK_FALSE(valid_pat(0x0000000000000300ull));
}

TEST_CASE("IA32_DEBUGCTL: Xen's bits for an HVM guest without vPMU", "[msr]")
{
    REQUIRE(find(debugctl) != nullptr);
    CHECK(find(debugctl)->read == Read::debugctl);
    CHECK(find(debugctl)->write == Write::debugctl);
    CHECK(valid_debugctl(0, false));
    CHECK(valid_debugctl(debugctl_btf, false));
    CHECK(valid_debugctl(debugctl_lbr | debugctl_btf, false));
    CHECK_FALSE(valid_debugctl(debugctl_rtm, false));
    CHECK(valid_debugctl(debugctl_rtm, true));
    for (int bit : {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 31, 32, 63})
        CHECK_FALSE(valid_debugctl(1ull << bit, true));
    CHECK(kept_debugctl(debugctl_lbr) == 0);   // no LBR MSRs for guests: dropped
    CHECK(kept_debugctl(debugctl_lbr | debugctl_btf) == debugctl_btf);
    CHECK(kept_debugctl(debugctl_rtm) == debugctl_rtm);
}
