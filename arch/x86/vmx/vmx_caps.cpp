#include "arch/x86/vmx/vmx_caps.hpp"

#include <cstdarg>

#include "kernel/lib/format.hpp"

namespace menhir::vmx {
namespace {

// High halves of the control MSRs, as bit positions of the 64-bit value.
constexpr uint64_t allowed1(uint32_t control_bit) { return static_cast<uint64_t>(control_bit) << 32; }

// One line of describe(), built piece by piece; silently truncated.
class Line final {
public:
    __attribute__((format(printf, 2, 3))) void add(const char* fmt, ...)
    {
        const size_t room = sizeof(text_) - len_;
        if (room <= 1)
            return;
        va_list ap;
        va_start(ap, fmt);
        const size_t n = vformat(text_ + len_, room, fmt, ap);
        va_end(ap);
        len_ += n < room ? n : room - 1;
    }
    // Items of a list, ", "-separated after the first.
    void item(const char* s)
    {
        add("%s%s", items_ == 0 ? "" : ", ", s);
        ++items_;
    }
    [[nodiscard]] size_t items() const { return items_; }
    void emit(LineFn fn, void* ctx) const { fn(ctx, text_); }

private:
    char text_[160]{};
    size_t len_{0};
    size_t items_{0};
};

[[nodiscard]] const char* memory_type_name(uint8_t t)
{
    switch (t) {
    case memtype_uc: return "UC";
    case memtype_wb: return "WB";
    default: return nullptr;
    }
}

void control_line(const char* name, ControlMsr c, LineFn fn, void* ctx)
{
    Line l;
    l.add("%-20s allowed-0 0x%08x allowed-1 0x%08x", name, c.allowed0, c.allowed1);
    l.emit(fn, ctx);
}

} // namespace

RawMsrs read_msrs(MsrReadFn read, void* ctx)
{
    RawMsrs r{};
    r.basic = read(ctx, Msr::basic);
    r.pinbased = read(ctx, Msr::pinbased);
    r.procbased = read(ctx, Msr::procbased);
    r.exit = read(ctx, Msr::exit);
    r.entry = read(ctx, Msr::entry);
    r.misc = read(ctx, Msr::misc);
    r.cr0_fixed0 = read(ctx, Msr::cr0_fixed0);
    r.cr0_fixed1 = read(ctx, Msr::cr0_fixed1);
    r.cr4_fixed0 = read(ctx, Msr::cr4_fixed0);
    r.cr4_fixed1 = read(ctx, Msr::cr4_fixed1);
    // A.3.3: PROCBASED_CTLS2 exists only if "activate secondary controls" may be 1.
    if ((r.procbased & allowed1(proc_activate_secondary)) != 0)
        r.procbased2 = read(ctx, Msr::procbased2);
    // A.10: EPT_VPID_CAP exists only if EPT or VPID may be enabled.
    if ((r.procbased2 & (allowed1(proc2_ept) | allowed1(proc2_vpid))) != 0)
        r.ept_vpid_cap = read(ctx, Msr::ept_vpid_cap);
    // A.1: the TRUE_* MSRs exist only if IA32_VMX_BASIC bit 55 is set.
    if ((r.basic & basic_true_controls) != 0) {
        r.true_pinbased = read(ctx, Msr::true_pinbased);
        r.true_procbased = read(ctx, Msr::true_procbased);
        r.true_exit = read(ctx, Msr::true_exit);
        r.true_entry = read(ctx, Msr::true_entry);
    }
    // A.11: VMFUNC exists only if "enable VM functions" may be 1.
    if ((r.procbased2 & allowed1(proc2_vmfunc)) != 0)
        r.vmfunc = read(ctx, Msr::vmfunc);
    return r;
}

Capabilities decode(const RawMsrs& r)
{
    Capabilities c{};
    c.revision = static_cast<uint32_t>(r.basic & basic_revision_mask);
    c.vmcs_size = static_cast<uint32_t>((r.basic >> basic_size_shift) & basic_size_mask);
    c.memory_type = static_cast<uint8_t>((r.basic >> basic_memtype_shift) & basic_memtype_mask);
    c.true_controls = (r.basic & basic_true_controls) != 0;
    c.ins_outs_info = (r.basic & basic_ins_outs) != 0;

    // A.2: the TRUE_* MSRs report the same allowed-1 bits but may allow 0
    // for default1 controls, which is what we want to know.
    c.pin = split(c.true_controls ? r.true_pinbased : r.pinbased);
    c.proc = split(c.true_controls ? r.true_procbased : r.procbased);
    c.exit = split(c.true_controls ? r.true_exit : r.exit);
    c.entry = split(c.true_controls ? r.true_entry : r.entry);
    if ((c.proc.allowed1 & proc_activate_secondary) != 0)
        c.proc2 = split(r.procbased2);

    c.ept = (c.proc2.allowed1 & proc2_ept) != 0;
    c.vpid = (c.proc2.allowed1 & proc2_vpid) != 0;
    c.unrestricted_guest = (c.proc2.allowed1 & proc2_unrestricted) != 0;

    const uint64_t cap = c.ept || c.vpid ? r.ept_vpid_cap : 0;
    const auto ept_has = [&](uint64_t bit) { return c.ept && (cap & bit) != 0; };
    const auto vpid_has = [&](uint64_t bit) { return c.vpid && (cap & bit) != 0; };
    c.ept_4level = ept_has(ept_cap_walk4);
    c.ept_wb = ept_has(ept_cap_wb);
    c.ept_uc = ept_has(ept_cap_uc);
    c.ept_2m = ept_has(ept_cap_2m);
    c.ept_1g = ept_has(ept_cap_1g);
    c.ept_ad = ept_has(ept_cap_ad);
    c.invept = ept_has(ept_cap_invept);
    c.invept_single = c.invept && ept_has(ept_cap_invept_single);
    c.invept_all = c.invept && ept_has(ept_cap_invept_all);
    c.invvpid = vpid_has(vpid_cap_invvpid);
    c.invvpid_individual = c.invvpid && vpid_has(vpid_cap_individual);
    c.invvpid_single = c.invvpid && vpid_has(vpid_cap_single);
    c.invvpid_all = c.invvpid && vpid_has(vpid_cap_all);
    c.invvpid_single_retain = c.invvpid && vpid_has(vpid_cap_single_retain);

    c.preemption_timer = (c.pin.allowed1 & pin_preemption_timer) != 0;
    c.preemption_timer_rate = static_cast<uint8_t>(r.misc & misc_timer_rate_mask);

    c.cr0_fixed0 = r.cr0_fixed0;
    c.cr0_fixed1 = r.cr0_fixed1;
    c.cr4_fixed0 = r.cr4_fixed0;
    c.cr4_fixed1 = r.cr4_fixed1;
    return c;
}

const char* missing_guest_feature(const Capabilities& c)
{
    // PVH guests start in protected mode with paging off: that needs
    // unrestricted guest, which in turn needs EPT (SDM Vol 3C 27.2.1.1,
    // 26.2.1.1 in older editions).
    if (!c.ept)
        return "EPT";
    if (!c.unrestricted_guest)
        return "unrestricted guest";
    if (!c.ept_4level)
        return "EPT 4-level page walk";
    if (!c.ept_wb)
        return "EPT write-back memory type";
    return nullptr;
}

void describe(const Capabilities& c, LineFn line, void* ctx)
{
    {
        Line l;
        l.add("VMCS revision 0x%x, %u bytes, memory type ", c.revision, c.vmcs_size);
        if (const char* name = memory_type_name(c.memory_type))
            l.add("%s", name);
        else
            l.add("%u", c.memory_type);
        if (c.true_controls)
            l.add(", TRUE controls");
        l.emit(line, ctx);
    }

    control_line("pin-based controls", c.pin, line, ctx);
    control_line("primary controls", c.proc, line, ctx);
    control_line("secondary controls", c.proc2, line, ctx);
    control_line("exit controls", c.exit, line, ctx);
    control_line("entry controls", c.entry, line, ctx);

    {
        Line l;
        l.add("EPT: ");
        if (!c.ept) {
            l.add("no");
        } else {
            if (c.ept_4level)
                l.item("4-level walk");
            if (c.ept_wb)
                l.item("WB");
            if (c.ept_uc)
                l.item("UC");
            if (c.ept_2m)
                l.item("2M pages");
            if (c.ept_1g)
                l.item("1G pages");
            if (c.ept_ad)
                l.item("A/D flags");
            if (c.invept) {
                l.item("INVEPT");
                if (c.invept_single)
                    l.add(" single-context");
                if (c.invept_all)
                    l.add(" all-context");
            }
            if (l.items() == 0)
                l.add("yes");
        }
        l.emit(line, ctx);
    }

    {
        Line l;
        l.add("VPID: ");
        if (!c.vpid) {
            l.add("no");
        } else if (!c.invvpid) {
            l.add("yes, no INVVPID");
        } else {
            l.add("INVVPID");
            if (c.invvpid_individual)
                l.add(" individual-address");
            if (c.invvpid_single)
                l.add(" single-context");
            if (c.invvpid_all)
                l.add(" all-context");
            if (c.invvpid_single_retain)
                l.add(" single-context-retaining-globals");
        }
        l.emit(line, ctx);
    }

    {
        Line l;
        l.add("unrestricted guest: %s", c.unrestricted_guest ? "yes" : "no");
        l.emit(line, ctx);
    }

    {
        Line l;
        if (c.preemption_timer)
            l.add("preemption timer: yes, rate TSC/%u", 1u << c.preemption_timer_rate);
        else
            l.add("preemption timer: no");
        l.emit(line, ctx);
    }

    {
        Line l;
        l.add("CR0 fixed-0 0x%016llx fixed-1 0x%016llx", static_cast<unsigned long long>(c.cr0_fixed0),
              static_cast<unsigned long long>(c.cr0_fixed1));
        l.emit(line, ctx);
    }
    {
        Line l;
        l.add("CR4 fixed-0 0x%016llx fixed-1 0x%016llx", static_cast<unsigned long long>(c.cr4_fixed0),
              static_cast<unsigned long long>(c.cr4_fixed1));
        l.emit(line, ctx);
    }
}

} // namespace menhir::vmx
