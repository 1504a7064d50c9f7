#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "arch/x86/vmx/vmx_caps.hpp"

using namespace menhir::vmx;

namespace {

// MSR values of a Skylake-X-class CPU as Bochs' corei7_skylake_x model
// reports them (revision 0x2b is Bochs' own VMCS revision).
std::map<Msr, uint64_t> skylake_x()
{
    return {
        {Msr::basic, 0x00d810000000002bull},   // WB, INS/OUTS info, TRUE controls, 4 KiB VMCS
        {Msr::pinbased, 0x000000ff00000016ull},
        {Msr::procbased, 0xfff9fffe0401e172ull},
        {Msr::exit, 0x01ffffff00036dffull},
        {Msr::entry, 0x0003ffff000011ffull},
        {Msr::misc, 0x00000000000401e5ull},   // preemption timer rate 5
        {Msr::cr0_fixed0, 0x80000021ull},
        {Msr::cr0_fixed1, 0xffffffffull},
        {Msr::cr4_fixed0, 0x2000ull},
        {Msr::cr4_fixed1, 0x003767ffull},
        {Msr::vmcs_enum, 0x2eull},
        {Msr::procbased2, 0x0017ffff00000000ull},
        {Msr::ept_vpid_cap, 0x00000f0106734141ull},
        {Msr::true_pinbased, 0x000000ff00000016ull},
        {Msr::true_procbased, 0xfff9fffe04006172ull},
        {Msr::true_exit, 0x01ffffff00036dfbull},
        {Msr::true_entry, 0x0003ffff000011fbull},
        {Msr::vmfunc, 0x1ull},
    };
}

// A Core 2 (Penryn) class CPU: VT-x without EPT, VPID, unrestricted guest,
// preemption timer or TRUE controls.
std::map<Msr, uint64_t> core2()
{
    return {
        {Msr::basic, 0x005a08000000000dull},
        {Msr::pinbased, 0x0000003f00000016ull},
        {Msr::procbased, 0xf7f9fffe0401e172ull},
        {Msr::exit, 0x0003ffff00036dffull},
        {Msr::entry, 0x00003fff000011ffull},
        {Msr::misc, 0x00000000000403c0ull},
        {Msr::cr0_fixed0, 0x80000021ull},
        {Msr::cr0_fixed1, 0xffffffffull},
        {Msr::cr4_fixed0, 0x2000ull},
        {Msr::cr4_fixed1, 0x67ffull},
        {Msr::vmcs_enum, 0x2cull},
        {Msr::procbased2, 0x0000004100000000ull},
    };
}

// rdmsr stand-in: reading an MSR the CPU does not have is recorded as a
// fault (on hardware it would be #GP).
struct FakeCpu {
    std::map<Msr, uint64_t> msrs;
    std::set<Msr> read;
    std::vector<Msr> faults;
    static uint64_t rdmsr(void* ctx, Msr m)
    {
        auto* self = static_cast<FakeCpu*>(ctx);
        self->read.insert(m);
        auto it = self->msrs.find(m);
        if (it == self->msrs.end()) {
            self->faults.push_back(m);
            return 0xdeadbeefdeadbeefull;
        }
        return it->second;
    }
};

Capabilities decode_cpu(const std::map<Msr, uint64_t>& msrs)
{
    FakeCpu cpu{msrs, {}, {}};
    return decode(read_msrs(&FakeCpu::rdmsr, &cpu));
}

std::vector<std::string> describe_lines(const Capabilities& c)
{
    std::vector<std::string> lines;
    describe(
        c, [](void* ctx, const char* line) { static_cast<std::vector<std::string>*>(ctx)->push_back(line); },
        &lines);
    return lines;
}

} // namespace

static_assert(static_cast<uint32_t>(Msr::basic) == 0x480);
static_assert(static_cast<uint32_t>(Msr::pinbased) == 0x481);
static_assert(static_cast<uint32_t>(Msr::procbased) == 0x482);
static_assert(static_cast<uint32_t>(Msr::exit) == 0x483);
static_assert(static_cast<uint32_t>(Msr::entry) == 0x484);
static_assert(static_cast<uint32_t>(Msr::misc) == 0x485);
static_assert(static_cast<uint32_t>(Msr::cr0_fixed0) == 0x486);
static_assert(static_cast<uint32_t>(Msr::cr0_fixed1) == 0x487);
static_assert(static_cast<uint32_t>(Msr::cr4_fixed0) == 0x488);
static_assert(static_cast<uint32_t>(Msr::cr4_fixed1) == 0x489);
static_assert(static_cast<uint32_t>(Msr::vmcs_enum) == 0x48a);
static_assert(static_cast<uint32_t>(Msr::procbased2) == 0x48b);
static_assert(static_cast<uint32_t>(Msr::ept_vpid_cap) == 0x48c);
static_assert(static_cast<uint32_t>(Msr::true_pinbased) == 0x48d);
static_assert(static_cast<uint32_t>(Msr::true_procbased) == 0x48e);
static_assert(static_cast<uint32_t>(Msr::true_exit) == 0x48f);
static_assert(static_cast<uint32_t>(Msr::true_entry) == 0x490);
static_assert(static_cast<uint32_t>(Msr::vmfunc) == 0x491);

// Compile-time checks of the constexpr helpers.
static_assert(adjust(ControlMsr{0x16, 0x7f}, 0x40).value == 0x56);
static_assert(adjust(ControlMsr{0x16, 0x7f}, 0x80).missing == 0x80);
static_assert(fix_cr(0, 0x80000021, 0xffffffff) == 0x80000021);
static_assert(split(0x0000007f00000016ull).allowed0 == 0x16 && split(0x0000007f00000016ull).allowed1 == 0x7f);
static_assert(pin_default1 == ((1u << 1) | (1u << 2) | (1u << 4)));
static_assert(proc_activate_secondary == 0x80000000u && proc2_ept == 2 && proc2_vpid == 0x20 && proc2_unrestricted == 0x80);

TEST_CASE("vmx caps: Skylake-X decodes with every feature", "[vmx]")
{
    const Capabilities c = decode_cpu(skylake_x());
    CHECK(c.revision == 0x2b);
    CHECK(c.vmcs_size == 4096);
    CHECK(c.memory_type == memtype_wb);
    CHECK(c.true_controls);
    CHECK(c.ins_outs_info);

    // The TRUE_* variants were used: default1 bits that may be 0 are 0 in allowed0.
    CHECK(c.pin.allowed0 == 0x16);
    CHECK(c.pin.allowed1 == 0xff);
    CHECK(c.proc.allowed0 == 0x04006172);
    CHECK(c.proc.allowed1 == 0xfff9fffe);
    CHECK(c.exit.allowed0 == 0x00036dfb);
    CHECK(c.entry.allowed0 == 0x000011fb);
    CHECK(c.proc2.allowed0 == 0);
    CHECK(c.proc2.allowed1 == 0x0017ffff);

    CHECK(c.ept);
    CHECK(c.vpid);
    CHECK(c.unrestricted_guest);
    CHECK(c.ept_4level);
    CHECK(c.ept_wb);
    CHECK(c.ept_uc);
    CHECK(c.ept_2m);
    CHECK(c.ept_1g);
    CHECK(c.ept_ad);
    CHECK(c.invept);
    CHECK(c.invept_single);
    CHECK(c.invept_all);
    CHECK(c.invvpid);
    CHECK(c.invvpid_individual);
    CHECK(c.invvpid_single);
    CHECK(c.invvpid_all);
    CHECK(c.invvpid_single_retain);
    CHECK(c.preemption_timer);
    CHECK(c.preemption_timer_rate == 5);
    CHECK(c.cr0_fixed0 == 0x80000021);
    CHECK(c.cr4_fixed1 == 0x003767ff);
    CHECK(missing_guest_feature(c) == nullptr);
}

TEST_CASE("vmx caps: without TRUE controls the plain MSRs are used", "[vmx]")
{
    auto msrs = skylake_x();
    msrs[Msr::basic] &= ~basic_true_controls;
    const Capabilities c = decode_cpu(msrs);
    CHECK_FALSE(c.true_controls);
    CHECK(c.proc.allowed0 == 0x0401e172);
    CHECK(c.exit.allowed0 == 0x00036dff);
    CHECK(c.entry.allowed0 == 0x000011ff);
}

TEST_CASE("vmx caps: Core 2 has VT-x but nothing guests need", "[vmx]")
{
    const Capabilities c = decode_cpu(core2());
    CHECK(c.revision == 0xd);
    CHECK(c.vmcs_size == 2048);
    CHECK(c.memory_type == memtype_wb);
    CHECK_FALSE(c.true_controls);
    CHECK(c.pin.allowed1 == 0x3f);
    CHECK(c.proc2.allowed1 == 0x41);
    CHECK_FALSE(c.ept);
    CHECK_FALSE(c.vpid);
    CHECK_FALSE(c.unrestricted_guest);
    CHECK_FALSE(c.ept_4level);
    CHECK_FALSE(c.invept);
    CHECK_FALSE(c.invvpid);
    CHECK_FALSE(c.preemption_timer);
    CHECK(std::string(missing_guest_feature(c)) == "EPT");
}

TEST_CASE("vmx caps: read_msrs never touches MSRs the CPU lacks", "[vmx]")
{
    SECTION("Core 2")
    {
        FakeCpu cpu{core2(), {}, {}};
        const RawMsrs r = read_msrs(&FakeCpu::rdmsr, &cpu);
        CHECK(cpu.faults.empty());
        CHECK(r.procbased2 == 0x0000004100000000ull);
        CHECK(r.ept_vpid_cap == 0);
        CHECK(r.true_pinbased == 0);
        CHECK(r.vmfunc == 0);
        CHECK(cpu.read.count(Msr::ept_vpid_cap) == 0);
    }
    SECTION("no secondary controls at all")
    {
        auto msrs = core2();
        msrs[Msr::procbased] &= ~(uint64_t{proc_activate_secondary} << 32);
        msrs.erase(Msr::procbased2);
        FakeCpu cpu{msrs, {}, {}};
        const RawMsrs r = read_msrs(&FakeCpu::rdmsr, &cpu);
        CHECK(cpu.faults.empty());
        CHECK(r.procbased2 == 0);
        const Capabilities c = decode(r);
        CHECK(c.proc2.allowed1 == 0);
    }
    SECTION("Skylake-X reads all of them")
    {
        FakeCpu cpu{skylake_x(), {}, {}};
        const RawMsrs r = read_msrs(&FakeCpu::rdmsr, &cpu);
        CHECK(cpu.faults.empty());
        CHECK(r.true_entry == 0x0003ffff000011fbull);
        CHECK(r.vmfunc == 1);
        CHECK(r.ept_vpid_cap == 0x00000f0106734141ull);
    }
}

TEST_CASE("vmx caps: secondary controls are ignored unless they can be activated", "[vmx]")
{
    RawMsrs r{};
    r.procbased = 0x7ff9fffe0401e172ull;   // bit 63 clear
    r.procbased2 = 0x000000ff00000000ull;  // stale garbage a careless reader might leave
    r.ept_vpid_cap = ~0ull;
    const Capabilities c = decode(r);
    CHECK(c.proc2.allowed1 == 0);
    CHECK_FALSE(c.ept);
    CHECK_FALSE(c.ept_4level);
    CHECK_FALSE(c.invvpid);
}

TEST_CASE("vmx caps: VPID without EPT and EPT without VPID", "[vmx]")
{
    RawMsrs r{};
    r.procbased = uint64_t{proc_activate_secondary} << 32;
    r.ept_vpid_cap = ~0ull;
    r.procbased2 = uint64_t{proc2_vpid} << 32;
    Capabilities c = decode(r);
    CHECK(c.vpid);
    CHECK(c.invvpid_single);
    CHECK_FALSE(c.ept);
    CHECK_FALSE(c.ept_wb);
    CHECK_FALSE(c.invept);

    r.procbased2 = uint64_t{proc2_ept} << 32;
    c = decode(r);
    CHECK(c.ept);
    CHECK(c.invept_all);
    CHECK_FALSE(c.vpid);
    CHECK_FALSE(c.invvpid);
}

TEST_CASE("vmx caps: missing_guest_feature order", "[vmx]")
{
    Capabilities c = decode_cpu(skylake_x());
    REQUIRE(missing_guest_feature(c) == nullptr);
    c.ept_wb = false;
    CHECK(std::string(missing_guest_feature(c)) == "EPT write-back memory type");
    c.ept_4level = false;
    CHECK(std::string(missing_guest_feature(c)) == "EPT 4-level page walk");
    c.unrestricted_guest = false;
    CHECK(std::string(missing_guest_feature(c)) == "unrestricted guest");
    c.ept = false;
    CHECK(std::string(missing_guest_feature(c)) == "EPT");
}

TEST_CASE("vmx caps: adjust truth table", "[vmx]")
{
    // One bit at a time: (must be 1, may be 1, wanted) -> (value, missing).
    struct Row {
        bool must1, may1, want;
        bool value, missing;
    };
    const Row rows[] = {
        {false, false, false, false, false},   // fixed 0, not wanted
        {false, false, true, false, true},     // fixed 0, wanted: reported missing
        {false, true, false, false, false},    // flexible, not wanted
        {false, true, true, true, false},      // flexible, wanted
        {true, true, false, true, false},      // fixed 1, not wanted: forced on
        {true, true, true, true, false},       // fixed 1, wanted
    };
    for (unsigned bit : {0u, 7u, 31u}) {
        for (const Row& r : rows) {
            const ControlMsr msr{r.must1 ? 1u << bit : 0u, r.may1 ? 1u << bit : 0u};
            const Adjusted a = adjust(msr, r.want ? 1u << bit : 0u);
            CHECK(a.value == (r.value ? 1u << bit : 0u));
            CHECK(a.missing == (r.missing ? 1u << bit : 0u));
        }
    }
    // Whole words: the pin-based controls of Core 2 and a wish for the preemption timer.
    const Adjusted a = adjust(ControlMsr{0x16, 0x3f}, pin_external_interrupt | pin_nmi | pin_preemption_timer);
    CHECK(a.value == 0x1f);
    CHECK(a.missing == pin_preemption_timer);
}

TEST_CASE("vmx caps: fix_cr", "[vmx]")
{
    // CR0 with PE/PG clear gets them forced on (and NE); CR4 gets VMXE.
    CHECK(fix_cr(0x00000010, 0x80000021, 0xffffffff) == 0x80000031);
    CHECK(fix_cr(0x0, 0x2000, 0x3767ff) == 0x2000);
    // Bits clear in fixed1 are forced off.
    CHECK(fix_cr(0xffffffffffffffffull, 0x2000, 0x3767ff) == 0x3767ff);
    // Unrestricted guest: the caller clears PE/PG from fixed0 first.
    CHECK(fix_cr(0x0, 0x80000021 & ~0x80000001ull, 0xffffffff) == 0x20);
}

TEST_CASE("vmx caps: describe, Skylake-X", "[vmx]")
{
    const auto lines = describe_lines(decode_cpu(skylake_x()));
    const std::vector<std::string> expected{
        "VMCS revision 0x2b, 4096 bytes, memory type WB, TRUE controls",
        "pin-based controls   allowed-0 0x00000016 allowed-1 0x000000ff",
        "primary controls     allowed-0 0x04006172 allowed-1 0xfff9fffe",
        "secondary controls   allowed-0 0x00000000 allowed-1 0x0017ffff",
        "exit controls        allowed-0 0x00036dfb allowed-1 0x01ffffff",
        "entry controls       allowed-0 0x000011fb allowed-1 0x0003ffff",
        "EPT: 4-level walk, WB, UC, 2M pages, 1G pages, A/D flags, INVEPT single-context all-context",
        "VPID: INVVPID individual-address single-context all-context single-context-retaining-globals",
        "unrestricted guest: yes",
        "preemption timer: yes, rate TSC/32",
        "CR0 fixed-0 0x0000000080000021 fixed-1 0x00000000ffffffff",
        "CR4 fixed-0 0x0000000000002000 fixed-1 0x00000000003767ff",
    };
    CHECK(lines == expected);
}

TEST_CASE("vmx caps: describe, Core 2", "[vmx]")
{
    const auto lines = describe_lines(decode_cpu(core2()));
    REQUIRE(lines.size() == 12);
    CHECK(lines[0] == "VMCS revision 0xd, 2048 bytes, memory type WB");
    CHECK(lines[1] == "pin-based controls   allowed-0 0x00000016 allowed-1 0x0000003f");
    CHECK(lines[6] == "EPT: no");
    CHECK(lines[7] == "VPID: no");
    CHECK(lines[8] == "unrestricted guest: no");
    CHECK(lines[9] == "preemption timer: no");
}

TEST_CASE("vmx caps: describe, odd cases", "[vmx]")
{
    Capabilities c{};
    c.memory_type = 3;
    c.ept = true;
    c.vpid = true;
    c.preemption_timer = true;
    c.preemption_timer_rate = 0;
    const auto lines = describe_lines(c);
    CHECK(lines[0] == "VMCS revision 0x0, 0 bytes, memory type 3");
    CHECK(lines[6] == "EPT: yes");
    CHECK(lines[7] == "VPID: yes, no INVVPID");
    CHECK(lines[9] == "preemption timer: yes, rate TSC/1");

    c.memory_type = memtype_uc;
    c.ept_2m = true;
    c.invept = true;
    CHECK(describe_lines(c)[0] == "VMCS revision 0x0, 0 bytes, memory type UC");
    CHECK(describe_lines(c)[6] == "EPT: 2M pages, INVEPT");
}
