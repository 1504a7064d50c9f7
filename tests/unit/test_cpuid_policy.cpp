#include "vmm/cpuid_policy.hpp"
#include <catch2/catch.hpp>

using namespace menhir::cpuid_policy;

namespace {
Regs ask(uint32_t leaf, uint32_t subleaf, Regs host, Context ctx = {0, 0, 0, true, true, true})
{
    filter(leaf, subleaf, host, ctx);
    return host;
}
} // namespace

TEST_CASE("Xen signature and version leaves", "[cpuid]")
{
    const Regs r = ask(0x40000000, 0, {1, 2, 3, 4});
    char sig[13]{};
    __builtin_memcpy(sig, &r.ebx, 4);
    __builtin_memcpy(sig + 4, &r.ecx, 4);
    __builtin_memcpy(sig + 8, &r.edx, 4);
    CHECK(std::string(sig) == "XenVMMXenVMM");
    CHECK(r.eax == 0x40000004);
    CHECK(ask(0x40000001, 0, {}).eax == ((4u << 16) | 17u));
    const Regs page = ask(0x40000002, 0, {});
    CHECK(page.eax == 1);            // one hypercall page
    CHECK(page.ebx == 0x40000000);   // written through this MSR
}

TEST_CASE("leaf 0x40000004 names the vCPU and the domain", "[cpuid]")
{
    const Regs r = ask(0x40000004, 0, {}, {3, 7, 0, true, true, true});
    CHECK((r.eax & (1u << 3)) != 0);
    CHECK((r.eax & (1u << 4)) != 0);
    CHECK(r.ebx == 3);
    CHECK(r.ecx == 7);
    CHECK((r.eax & 3u) == 0);   // no APIC virtualisation said
    Context both{3, 7, 0, true, true, true};
    both.xapic_virt = both.x2apic_virt = true;
    CHECK((ask(0x40000004, 0, {}, both).eax & 3u) == 3u);
    Context x2{3, 7, 0, true, true, true};
    x2.x2apic_virt = true;
    CHECK((ask(0x40000004, 0, {}, x2).eax & 3u) == 2u);
    const Regs sub1 = ask(0x40000004, 1, {9, 9, 9, 9}, both);   // only sub-leaf 0 exists
    CHECK((sub1.eax | sub1.ebx | sub1.ecx | sub1.edx) == 0);
}

TEST_CASE("the rest of the hypervisor range reads as zeros, whatever the host said", "[cpuid]")
{
    for (uint32_t leaf : {0x40000003u, 0x40000005u, 0x40000100u, 0x4000ffffu}) {
        const Regs r = ask(leaf, 0, {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff});
        CHECK(r.eax == 0);
        CHECK(r.ebx == 0);
        CHECK(r.ecx == 0);
        CHECK(r.edx == 0);
    }
}

TEST_CASE("leaf 1 offers the emulated APIC and x2APIC even where the host has neither", "[cpuid]")
{
    const Regs r = ask(1, 0, {0x906ea, 0x05100800, 0, 0}, {1, 1, 0, true, true, true});
    CHECK((r.ecx & (1u << 21)) != 0);
    CHECK((r.edx & (1u << 9)) != 0);
    CHECK((r.ebx >> 24) == 1);
}

TEST_CASE("leaf 1 hides VMX, SMX, MONITOR and TSC-deadline, offers the (x2)APIC, sets the hypervisor bit", "[cpuid]")
{
    const Regs r = ask(1, 0, {0x906ea, 0x05100800, 0xffffffff & ~(1u << 31), 0xffffffff}, {2, 1, 0, true, true, true});
    CHECK((r.ecx & (1u << 5)) == 0);    // VMX
    CHECK((r.ecx & (1u << 6)) == 0);    // SMX
    CHECK((r.ecx & (1u << 3)) == 0);    // MONITOR
    CHECK((r.ecx & (1u << 21)) != 0);   // x2APIC: the emulated one
    CHECK((r.ecx & (1u << 24)) == 0);   // TSC-deadline timer mode: not emulated
    CHECK((r.ecx & (1u << 31)) != 0);   // hypervisor present
    CHECK((r.ecx & (1u << 0)) != 0);    // SSE3 untouched
    CHECK((r.edx & (1u << 9)) != 0);    // APIC
    CHECK((r.edx & (1u << 0)) != 0);    // FPU untouched
    CHECK((r.ebx >> 24) == 2);          // APIC id = vCPU id
    CHECK(((r.ebx >> 16) & 0xff) == 1);
    CHECK((r.ebx & 0xffff) == 0x0800);  // brand index and CLFLUSH size kept
    CHECK(r.eax == 0x906ea);
}

TEST_CASE("leaf 7 hides what guests cannot use here; other leaves pass through", "[cpuid]")
{
    const Regs r = ask(7, 0, {0, 0xffffffff, 0xffffffff, 0xffffffff});
    CHECK((r.ebx & (1u << 2)) == 0);    // SGX
    CHECK((r.ecx & (1u << 5)) == 0);    // WAITPKG
    CHECK((r.edx & (1u << 26)) == 0);   // IBRS/IBPB: IA32_SPEC_CTRL is not offered
    CHECK((r.ebx & 1u) != 0);           // FSGSBASE kept
    const Regs sub1 = ask(7, 1, {1, 2, 3, 4});
    CHECK(sub1.eax == 1);
    CHECK(sub1.edx == 4);
    const Regs plain = ask(0x80000001, 0, {5, 6, 7, 8});
    CHECK(plain.eax == 5);
    CHECK(plain.edx == 8);
    for (uint32_t hidden : {5u, 6u, 0xau, 0xbu, 0x1fu}) CHECK(ask(hidden, 0, {9, 9, 9, 9}).eax == 0);
}

TEST_CASE("synthetic() covers exactly the hypervisor range", "[cpuid]")
{
    CHECK(synthetic(0x40000000));
    CHECK(synthetic(0x4000ffff));
    CHECK_FALSE(synthetic(0x3fffffff));
    CHECK_FALSE(synthetic(0x40010000));
    CHECK_FALSE(synthetic(0));
}

TEST_CASE("OS-enabled bits follow the guest's CR4; optional features follow the VMX controls", "[cpuid]")
{
    CHECK((ask(1, 0, {0, 0, 1u << 27, 0}, {0, 0, 0, true, true, true}).ecx & (1u << 27)) == 0);
    CHECK((ask(1, 0, {0, 0, 0, 0}, {0, 0, 1u << 18, true, true, true}).ecx & (1u << 27)) != 0);
    CHECK((ask(1, 0, {0, 0, 0, 1u << 28}, {}).edx & (1u << 28)) == 0);   // no HTT with one logical CPU
    CHECK((ask(7, 0, {0, 0, 1u << 4, 0}, {0, 0, 0, true, true, true}).ecx & (1u << 4)) == 0);
    CHECK((ask(7, 0, {0, 0, 0, 0}, {0, 0, 1u << 22, true, true, true}).ecx & (1u << 4)) != 0);
    CHECK((ask(7, 0, {0, 1u << 10, 0, 0}, {0, 0, 0, true, false, true}).ebx & (1u << 10)) == 0);
    CHECK((ask(7, 0, {0, 1u << 10, 0, 0}, {0, 0, 0, true, true, true}).ebx & (1u << 10)) != 0);
    CHECK((ask(7, 0, {0, 0, 0, 1u << 30}, {}).edx & (1u << 30)) == 0);
    CHECK((ask(0x80000001, 0, {0, 0, 0, 1u << 27}, {0, 0, 0, false, true, true}).edx & (1u << 27)) == 0);
    CHECK((ask(0x80000001, 0, {0, 0, 0, 1u << 27}, {0, 0, 0, true, true, true}).edx & (1u << 27)) != 0);
    CHECK((ask(0xd, 1, {1u << 3, 0, 0, 0}, {0, 0, 0, true, true, false}).eax & (1u << 3)) == 0);
    CHECK((ask(0xd, 0, {1u << 3, 0, 0, 0}, {0, 0, 0, true, true, false}).eax & (1u << 3)) != 0);
}

TEST_CASE("filtered() names every leaf filter() changes", "[cpuid]")
{
    // For every leaf filtered() calls pass-through, filter() must be the identity.
    for (uint32_t leaf = 0; leaf < 0x40; ++leaf) {
        if (filtered(leaf)) continue;
        const Regs host{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
        const Regs r = ask(leaf, 0, host, {5, 5, ~0ull, false, false, false});
        CHECK(r.eax == host.eax);
        CHECK(r.ebx == host.ebx);
        CHECK(r.ecx == host.ecx);
        CHECK(r.edx == host.edx);
    }
    for (uint32_t leaf = 0x80000000; leaf < 0x80000010; ++leaf) {
        if (filtered(leaf)) continue;
        const Regs host{1, 2, 3, 0xffffffff};
        const Regs r = ask(leaf, 0, host, {5, 5, ~0ull, false, false, false});
        CHECK(r.edx == host.edx);
    }
    CHECK(filtered(1));
    CHECK(filtered(0x40000000));
    CHECK_FALSE(filtered(0));
}

namespace {
// A host with x87/SSE in the legacy area, AVX (256 bytes at 576), a 64-byte
// aligned component 5 of 64 bytes, and a supervisor component 8 (PT).
Regs fake_host(uint32_t leaf, uint32_t subleaf)
{
    if (leaf != 0xd) return {};
    switch (subleaf) {
    case 2: return {256, 576, 0, 0};
    case 5: return {64, 0, 2, 0};
    case 8: return {128, 0, 1, 0};
    default: return {};
    }
}
} // namespace

TEST_CASE("leaf 7 offers TSC_ADJUST, emulated whatever the host has", "[cpuid]")
{
    CHECK((ask(7, 0, {0, 0, 0, 0}).ebx & (1u << 1)) != 0);
    CHECK((ask(7, 1, {0, 0, 0, 0}).ebx & (1u << 1)) == 0);    // only sub-leaf 0
}

TEST_CASE("compacted XSAVE size follows the mask and the alignment bits", "[cpuid]")
{
    CHECK(compacted_xsave_size(0x1, fake_host) == 576);
    CHECK(compacted_xsave_size(0x3, fake_host) == 576);
    CHECK(compacted_xsave_size(0x7, fake_host) == 832);
    CHECK(compacted_xsave_size(0x23, fake_host) == 640);      // 576 is already 64-aligned
    CHECK(compacted_xsave_size(0x27, fake_host) == 832 + 64);
}

TEST_CASE("leaf 0xD sub-leaf 1: no XSS components, EBX the size for XCR0", "[cpuid]")
{
    Context ctx{0, 0, 0, true, true, true, 0x7, fake_host};
    Regs r = ask(0xd, 1, {0x1f, 1234, 0x100, 0}, ctx);        // XSAVEOPT..XFD, host says PT in XSS
    CHECK(r.eax == 0xf);                                      // XFD hidden
    CHECK(r.ebx == 832);
    CHECK(r.ecx == 0);
    CHECK(r.edx == 0);
    ctx.xsaves = false;
    r = ask(0xd, 1, {0x1f, 1234, 0x100, 0}, ctx);
    CHECK(r.eax == 0x7);                                      // XSAVES hidden too
    CHECK(r.ebx == 832);                                      // XSAVEC still uses it
    r = ask(0xd, 1, {0x1, 1234, 0x100, 0}, ctx);              // neither XSAVEC nor XSAVES
    CHECK(r.ebx == 0);
    // A supervisor component's own sub-leaf reads as zeros; user ones pass.
    r = ask(0xd, 8, fake_host(0xd, 8), ctx);
    CHECK(r.eax == 0);
    CHECK(r.ecx == 0);
    CHECK(ask(0xd, 2, fake_host(0xd, 2), ctx).eax == 256);
}
