// Task-switch exits (reason 9): VMX non-root operation cannot switch tasks
// itself (SDM Vol 3C 26.4.2), so the hypervisor does what the CPU would
// (SDM Vol 3A 7.3), as Xen's HVM emulation does, for 32-bit TSSes outside
// IA-32e mode: CALL, JMP, IRET with NT and task gates in the IDT (a 32-bit
// kernel's #DF or NMI task). The TSS arithmetic is vmm/task_switch_model.
// Not emulated (the domain is crashed, saying so): 16-bit TSSes and
// virtual-8086 tasks. Not honoured: the TSS T (debug trap) bit, privilege
// checks on the new task's segments.
#include "arch/x86/vmx/vmcs.hpp"
#include "arch/x86/vmx/vmx.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/guest_state.hpp"
#include "vmm/exit/handlers.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/guest_pdptes.hpp"
#include "vmm/pae_pdptes.hpp"
#include "vmm/task_switch_model.hpp"

namespace menhir::exit {
namespace {

using vmx::Field;
using tss::Source;

constexpr uint8_t vec_ts = 10, vec_np = 11, vec_ss = 12, vec_gp = 13;
constexpr uint64_t cr0_ts = 1u << 3;
constexpr uint64_t dr7_local_enables = 0x55;   // L0-L3, cleared by a task switch (SDM Vol 3B 18.2.4)
constexpr uint32_t blocking_sti_movss = 3, blocking_nmi = 1u << 3;   // interruptibility state (SDM Vol 3C 25.4.2)

struct SegFields { Field selector, limit, access, base; };
// In tss::Seg order: ES CS SS DS FS GS.
constexpr SegFields seg_fields[6] = {
    {Field::guest_es_selector, Field::guest_es_limit, Field::guest_es_access, Field::guest_es_base},
    {Field::guest_cs_selector, Field::guest_cs_limit, Field::guest_cs_access, Field::guest_cs_base},
    {Field::guest_ss_selector, Field::guest_ss_limit, Field::guest_ss_access, Field::guest_ss_base},
    {Field::guest_ds_selector, Field::guest_ds_limit, Field::guest_ds_access, Field::guest_ds_base},
    {Field::guest_fs_selector, Field::guest_fs_limit, Field::guest_fs_access, Field::guest_fs_base},
    {Field::guest_gs_selector, Field::guest_gs_limit, Field::guest_gs_access, Field::guest_gs_base},
};
constexpr SegFields ldtr_fields{Field::guest_ldtr_selector, Field::guest_ldtr_limit, Field::guest_ldtr_access,
                                Field::guest_ldtr_base};
constexpr SegFields tr_fields{Field::guest_tr_selector, Field::guest_tr_limit, Field::guest_tr_access,
                              Field::guest_tr_base};

// The descriptor `sel` names in the GDT or the current LDT; `at` gets its
// linear address. False if it lies outside the table.
bool read_descriptor(Vcpu& v, uint16_t sel, uint64_t& d, uint64_t& at)
{
    const bool ldt = sel & 4;
    if (ldt && (vmx::read(Field::guest_ldtr_access) & tss::ar_unusable)) return false;
    const uint64_t table = vmx::read(ldt ? Field::guest_ldtr_base : Field::guest_gdtr_base);
    const uint64_t limit = vmx::read(ldt ? Field::guest_ldtr_limit : Field::guest_gdtr_limit);
    const uint64_t offset = sel & ~7u;
    if (offset + 7 > limit) return false;
    at = table + offset;
    return guest::copy_from(v, at, &d, sizeof d);
}

void load(const SegFields& f, uint16_t sel, uint64_t d)
{
    vmx::write(f.selector, sel);
    vmx::write(f.base, tss::base(d));
    vmx::write(f.limit, tss::limit(d));
    vmx::write(f.access, tss::access_rights(d));
}

void load_unusable(const SegFields& f, uint16_t sel)
{
    vmx::write(f.selector, sel);
    vmx::write(f.base, 0);
    vmx::write(f.limit, 0);
    vmx::write(f.access, tss::ar_unusable);
}

void fault(uint8_t vector, uint16_t sel) { guest::inject_exception(vector, true, sel & 0xfffcu); }

// The new task's LDTR and segment registers (SDM Vol 3A 7.3 step 12):
// false after injecting the fault the CPU would raise in the new task.
bool load_segments(Vcpu& v, const tss::Tss32& next)
{
    const uint16_t ldt = next.ldt;
    if ((ldt & ~3u) == 0) {
        load_unusable(ldtr_fields, ldt);
    } else {
        uint64_t d = 0, at = 0;
        if ((ldt & 4) || !read_descriptor(v, ldt, d, at) || !tss::system(d) || tss::type(d) != 2) {
            fault(vec_ts, ldt);
            return false;
        }
        if (!tss::present(d)) {
            fault(vec_ts, ldt);
            return false;
        }
        load(ldtr_fields, ldt, d);
    }
    // CS and SS first: the others are only as good as the privilege they run at.
    constexpr tss::Seg order[] = {tss::cs, tss::ss, tss::ds, tss::es, tss::fs, tss::gs};
    for (tss::Seg s : order) {
        const uint16_t sel = next.seg[s][0];
        uint64_t d = 0, at = 0;
        if ((sel & ~3u) != 0 && !read_descriptor(v, sel, d, at)) {
            fault(vec_ts, sel);
            return false;
        }
        switch (tss::check_segment(s, sel, d)) {
        case tss::SegCheck::null: load_unusable(seg_fields[s], sel); continue;
        case tss::SegCheck::bad: fault(vec_ts, sel); return false;
        case tss::SegCheck::not_present: fault(s == tss::ss ? vec_ss : vec_np, sel); return false;
        case tss::SegCheck::ok: break;
        }
        // The CPU marks a descriptor accessed when it loads it.
        if (!(d & tss::accessed_bit)) {
            d |= tss::accessed_bit;
            (void)guest::copy_to(v, at, &d, sizeof d);
        }
        load(seg_fields[s], sel, d);
    }
    return true;
}

} // namespace

void task_switch(Vcpu& v)
{
    const uint64_t q = vmx::read(Field::exit_qualification);
    const Source src = tss::source(q);
    const uint16_t sel = tss::selector(q);
    const auto vectoring = static_cast<uint32_t>(vmx::read(Field::idt_vectoring_info));
    Domain& d = *v.domain;
    if (v.long_mode) {   // the CPU faults these before any exit (SDM Vol 3C 26.4.2)
        domains::crash(d, "task switch in IA-32e mode (qualification 0x%lx)", q);
        return;
    }

    // The new TSS descriptor: in the GDT, of the right type, present, big enough.
    uint64_t nd = 0, nd_at = 0;
    if ((sel & 4) || !read_descriptor(v, sel, nd, nd_at)) {
        fault(vec_gp, sel);
        return;
    }
    switch (tss::check_new_tss(nd, src)) {
    case tss::TssCheck::ok: break;
    case tss::TssCheck::tss16:
        domains::crash(d, "task switch to a 16-bit TSS (selector 0x%x): not emulated", sel);
        return;
    case tss::TssCheck::bad_type: fault(src == Source::iret ? vec_ts : vec_gp, sel); return;
    case tss::TssCheck::not_present: fault(vec_np, sel); return;
    case tss::TssCheck::too_small: fault(vec_ts, sel); return;
    }
    const auto tr = static_cast<uint16_t>(vmx::read(Field::guest_tr_selector));
    const uint64_t tr_base = vmx::read(Field::guest_tr_base);
    if (vmx::read(Field::guest_tr_limit) < tss::min_limit) {
        fault(vec_ts, tr);
        return;
    }
    tss::Tss32 old{}, next{};
    const uint64_t next_base = tss::base(nd);
    if (!guest::copy_from(v, tr_base, &old, sizeof old) || !guest::copy_from(v, next_base, &next, sizeof next)) {
        domains::crash(d, "task switch from TSS 0x%x to 0x%x: a TSS is not in the guest's memory", tr, sel);
        return;
    }
    if (tss::entry_eflags(next, src) & tss::eflags_vm) {
        domains::crash(d, "task switch to a virtual-8086 task (selector 0x%x): not emulated", sel);
        return;
    }

    // The old task: its state into its TSS, its busy bit off if it is left.
    GuestRegs& r = v.ctx.regs;
    tss::State32 s{};
    s.eip = tss::saved_eip(src, vectoring, vmx::read(Field::guest_rip), vmx::read(Field::exit_instruction_length));
    s.eflags = static_cast<uint32_t>(vmx::read(Field::guest_rflags));
    const uint64_t gprs[8] = {r.rax, r.rcx, r.rdx, r.rbx, vmx::read(Field::guest_rsp), r.rbp, r.rsi, r.rdi};
    for (int i = 0; i < 8; ++i) s.gpr[i] = static_cast<uint32_t>(gprs[i]);
    for (int i = 0; i < 6; ++i) s.seg[i] = static_cast<uint16_t>(vmx::read(seg_fields[i].selector));
    bool ok = true;
    if (tss::clears_old_busy(src)) {
        uint64_t od = 0, od_at = 0;
        if (read_descriptor(v, tr & ~4u, od, od_at)) {
            od &= ~tss::busy_bit;
            ok = guest::copy_to(v, od_at, &od, sizeof od);
        }
    }
    tss::save(old, s, src);
    const auto* old_bytes = reinterpret_cast<const uint8_t*>(&old);
    ok = ok && guest::copy_to(v, tr_base + tss::dynamic_first, old_bytes + tss::dynamic_first,
                              tss::dynamic_end - tss::dynamic_first);

    // The new task: back link, busy bit, TR, CR0.TS.
    if (tss::nests(src)) {
        next.link = tr;
        ok = ok && guest::copy_to(v, next_base, &next.link, sizeof next.link);
    }
    if (tss::sets_new_busy(src)) {
        nd |= tss::busy_bit;
        ok = ok && guest::copy_to(v, nd_at, &nd, sizeof nd);
    }
    if (!ok) {
        domains::crash(d, "task switch from TSS 0x%x to 0x%x: cannot write the TSSes or the GDT", tr, sel);
        return;
    }
    load(tr_fields, sel, nd | tss::busy_bit);
    vmx::write(Field::guest_cr0, vmx::read(Field::guest_cr0) | cr0_ts);

    // Its registers. CR3 only with paging on; in PAE paging with its PDPTEs.
    const uint64_t cr0 = vmx::read(Field::guest_cr0);
    if (cr0 & pae::cr0_pg) {
        if (pae::paging(cr0, vmx::read(Field::guest_cr4), vmx::read(Field::guest_efer)) &&
            !guest::load_pdptes(v, next.cr3)) {
            domains::crash(d, "task switch to TSS 0x%x: CR3 0x%x has bad PDPTEs", sel, next.cr3);
            return;
        }
        vmx::write(Field::guest_cr3, next.cr3);
        vmx::invvpid_single(v.vpid);   // as a CR3 load, it drops the old task's translations
    }
    vmx::write(Field::guest_rip, next.eip);
    vmx::write(Field::guest_rflags, tss::entry_eflags(next, src));
    r.rax = next.gpr[0];
    r.rcx = next.gpr[1];
    r.rdx = next.gpr[2];
    r.rbx = next.gpr[3];
    vmx::write(Field::guest_rsp, next.gpr[4]);
    r.rbp = next.gpr[5];
    r.rsi = next.gpr[6];
    r.rdi = next.gpr[7];
    vmx::write(Field::guest_dr7, vmx::read(Field::guest_dr7) & ~dr7_local_enables);
    uint64_t blocking = vmx::read(Field::guest_interruptibility) & ~uint64_t{blocking_sti_movss};
    if (tss::delivers_nmi(src, vectoring)) blocking |= blocking_nmi;   // until the NMI task's IRET
    vmx::write(Field::guest_interruptibility, blocking);
    if (!load_segments(v, next)) return;   // the fault is the new task's

    // An exception's error code goes on the new task's stack (32-bit TSS: 4 bytes).
    if (tss::pushes_error_code(src, vectoring)) {
        const auto code = static_cast<uint32_t>(vmx::read(Field::idt_vectoring_error_code));
        const uint32_t esp = next.gpr[4] - 4;
        if (!guest::copy_to(v, vmx::read(Field::guest_ss_base) + esp, &code, sizeof code)) {
            domains::crash(d, "task switch to TSS 0x%x: cannot push the error code at esp 0x%x", sel, esp);
            return;
        }
        vmx::write(Field::guest_rsp, esp);
    }
}

} // namespace menhir::exit
