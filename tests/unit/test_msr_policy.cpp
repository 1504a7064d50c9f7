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
    // The local APIC is emulated (vmm/vlapic.cpp): IA32_APIC_BASE and every x2APIC MSR exit both ways.
    CHECK(exits(bitmap, 0x1b, true));
    for (uint32_t m = 0x800; m <= 0x8ff; ++m) {
        CHECK(exits(bitmap, m, false));
        CHECK(exits(bitmap, m, true));
    }
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

TEST_CASE("TSC_ADJUST moves the TSC by its change; a TSC write moves TSC_ADJUST", "[msr]")
{
    TscState t{};
    write_tsc_adjust(t, 1000);
    CHECK(t.offset == 1000);
    CHECK(t.adjust == 1000);
    write_tsc_adjust(t, 400);                    // down by 600: so is the TSC
    CHECK(t.offset == 400);
    CHECK(t.adjust == 400);
    write_tsc(t, 5000, 5000 + 400 + 250);        // guest TSC was host + 400; now 250 further
    CHECK(t.offset == 650);
    CHECK(t.adjust == 650);
    write_tsc(t, 5000, 100);                     // backwards, below the host TSC: wraps like the MSRs
    CHECK(t.offset == static_cast<uint64_t>(100 - 5000));
    CHECK(t.adjust == t.offset);
    write_tsc_adjust(t, 0);
    CHECK(t.adjust == 0);
    CHECK(t.offset == 0);
}

TEST_CASE("TSC_ADJUST, XSS, CPUID faulting MSRs are answered", "[msr]")
{
    CHECK(find(tsc_adjust)->read == Read::tsc_adjust);
    CHECK(find(tsc_adjust)->write == Write::tsc_adjust);
    CHECK(find(tsc)->write == Write::tsc);
    CHECK(find(xss)->write == Write::xss);
    CHECK(find(platform_info)->read == Read::platform_info);
    CHECK(find(platform_info)->write == Write::gp);            // read-only
    CHECK(find(misc_features_enables)->write == Write::misc_features);
    CHECK(valid_misc_features(0));
    CHECK(valid_misc_features(misc_features_cpuid_faulting));
    CHECK_FALSE(valid_misc_features(2));
    CHECK(valid_xss(0));
    CHECK_FALSE(valid_xss(1u << 8));                           // PT state: not offered
    CHECK(platform_info_cpuid_faulting == (1ull << 31));
}

TEST_CASE("unknown MSRs are noted once each, and the full table once", "[msr]")
{
    UnknownLog log{};
    CHECK(note_unknown(log, 0x1234) == Note::first);
    CHECK(note_unknown(log, 0x1234) == Note::seen);
    CHECK(note_unknown(log, 0) == Note::first);                // MSR 0 is not a free slot
    CHECK(note_unknown(log, 0) == Note::seen);
    for (uint32_t m = 1; m < unknown_log_size - 1; ++m) CHECK(note_unknown(log, 0x5000 + m) == Note::first);
    CHECK(note_unknown(log, 0x1234) == Note::seen);            // still known with the table full
    CHECK(note_unknown(log, 0x9999) == Note::full_now);
    CHECK(note_unknown(log, 0x9998) == Note::full);
    CHECK(note_unknown(log, 0x9999) == Note::full);
}

TEST_CASE("msr_policy: under APIC virtualisation only the page's reads and the CPU's writes stay in the guest", "[msr]")
{
    static uint8_t plain[bitmap_bytes], apicv[bitmap_bytes];
    build_bitmap(plain);
    build_apicv_bitmap(apicv);
    for (uint32_t m = 0x800; m <= 0x8ff; ++m) {
        CHECK(exits(plain, m, false));
        CHECK(exits(plain, m, true));
        CHECK(exits(apicv, m, false) == !menhir::vlapic::page_answers_read(m));
    }
    CHECK_FALSE(exits(apicv, 0x802, false));   // ID
    CHECK_FALSE(exits(apicv, 0x820, false));   // IRR
    CHECK(exits(apicv, 0x839, false));         // the running count
    CHECK(exits(apicv, 0x830, false));         // ICR
    CHECK_FALSE(exits(apicv, 0x808, true));    // TPR
    CHECK_FALSE(exits(apicv, 0x80b, true));    // EOI
    CHECK_FALSE(exits(apicv, 0x83f, true));    // SELF_IPI
    CHECK(exits(apicv, 0x830, true));          // ICR: an IPI to send
    CHECK(exits(apicv, 0x838, true));          // the timer's count
    CHECK(exits(apicv, 0x1b, true));           // IA32_APIC_BASE
    for (uint32_t m = 0; m < 0x800; ++m) CHECK(exits(apicv, m, false) == exits(plain, m, false));
}
