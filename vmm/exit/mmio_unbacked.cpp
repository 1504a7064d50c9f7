// Data accesses to guest-physical memory with nothing behind it (no RAM, no
// grant or foreign page, no device): as Xen answers a PVH domU, which has no
// device model, reads give all ones and writes are dropped. The instruction
// is fetched from the guest, decoded and run by vmm/x86_decode (pure), and
// the result applied here; what it cannot decode crashes the domain alone.
#include "arch/x86/vmx/vmcs.hpp"
#include "kernel/console.hpp"
#include "kernel/lib/format.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/guest_state.hpp"
#include "vmm/exit/handlers.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/vlapic.hpp"
#include "vmm/x86_decode.hpp"

namespace menhir::exit {
namespace {

constexpr uint32_t warnings_shown = 8;   // per domain, then one line per 1024 accesses

// CS.L in IA-32e mode is 64-bit code, else CS.D picks 32 or 16 (SDM Vol 3A 3.4.5).
x86::Mode code_mode(const Vcpu& v)
{
    const uint64_t cs = vmx::read(vmx::Field::guest_cs_access);
    if (v.long_mode && (cs & (1u << 13))) return x86::Mode::bits64;
    return (cs & (1u << 14)) ? x86::Mode::bits32 : x86::Mode::bits16;
}

// Up to 15 bytes from RIP; the part past an unreadable page boundary is
// left out (the decoder then says whether it needed it). 0 if none.
size_t fetch(Vcpu& v, uint64_t linear, uint8_t (&bytes)[x86::max_length])
{
    const size_t first = 4096 - (linear & 4095);
    const size_t n = first < sizeof bytes ? first : sizeof bytes;
    if (!guest::copy_from(v, linear, bytes, n)) return 0;
    if (n == sizeof bytes || !guest::copy_from(v, linear + n, bytes + n, sizeof bytes - n)) return n;
    return sizeof bytes;
}

// String instructions go element by element through the guest's paging:
// RAM (say the destination of a REP MOVS from a hole) is read and written,
// the rest reads as all ones and keeps nothing.
bool mem_read(void* ctx, uint64_t linear, uint32_t size, uint64_t& value)
{
    value = 0;
    return guest::copy_from(*static_cast<Vcpu*>(ctx), linear, &value, size);
}

void mem_write(void* ctx, uint64_t linear, uint32_t size, uint64_t value)
{
    (void)guest::copy_to(*static_cast<Vcpu*>(ctx), linear, &value, size);
}

// The vCPU's xAPIC page as the device behind the operand.
struct LapicAccess { Vcpu* v; uint32_t offset; };
uint64_t lapic_read(void* ctx, uint32_t size)
{
    auto* a = static_cast<LapicAccess*>(ctx);
    return vlapic::read_page(*a->v, a->offset, size);
}
void lapic_write(void* ctx, uint32_t size, uint64_t value)
{
    auto* a = static_cast<LapicAccess*>(ctx);
    vlapic::write_page(*a->v, a->offset, size, static_cast<uint32_t>(value));
}

void warn(Domain& d, bool write, uint64_t gpa, uint64_t rip)
{
    const uint32_t n = d.unbacked_warnings++;
    if (n < warnings_shown || (n % 1024) == 0)
        info("d%u: %s of unbacked gpa 0x%lx at rip 0x%lx %s%s", d.id, write ? "write" : "read", gpa, rip,
             write ? "discarded" : "reads all ones",
             n == warnings_shown - 1 ? " (further ones are reported every 1024th)" : "");
}

} // namespace

void unbacked_access(Vcpu& v, uint64_t gpa, bool write)
{
    const x86::Mode mode = code_mode(v);
    const uint64_t rip = vmx::read(vmx::Field::guest_rip);
    const uint64_t rip_linear =
        mode == x86::Mode::bits64 ? rip : (vmx::read(vmx::Field::guest_cs_base) + rip) & 0xffffffffull;
    uint8_t bytes[x86::max_length] = {};
    const size_t got = fetch(v, rip_linear, bytes);
    x86::Instruction in{};
    if (got == 0 || x86::decode(bytes, got, mode, in) != x86::DecodeError::none) {
        char hex[3 * x86::max_length + 1] = {};
        for (size_t i = 0; i < got; ++i) format(hex + 3 * i, sizeof hex - 3 * i, "%02x ", bytes[i]);
        if (got) hex[3 * got - 1] = '\0';
        domains::crash(*v.domain, "cannot emulate instruction at RIP 0x%lx: bytes %s (%s of unbacked gpa 0x%lx)", rip,
                       got ? hex : "unreadable", write ? "write" : "read", gpa);
        return;
    }
    x86::Cpu cpu{};
    for (uint32_t i = 0; i < 16; ++i) cpu.gpr[i] = guest::read_gpr(v, i);
    cpu.rip = rip;
    cpu.rflags = vmx::read(vmx::Field::guest_rflags);
    constexpr vmx::Field bases[6] = {vmx::Field::guest_es_base, vmx::Field::guest_cs_base,
                                     vmx::Field::guest_ss_base, vmx::Field::guest_ds_base,
                                     vmx::Field::guest_fs_base, vmx::Field::guest_gs_base};
    for (uint32_t i = 0; i < 6; ++i) cpu.seg_base[i] = vmx::read(bases[i]);
    // The xAPIC page is the one device a PVH domU has here (Xen emulates
    // it too); everything else reads all ones.
    bool device = false;
    if (vlapic::owns_page(v, gpa)) {
        LapicAccess a{&v, static_cast<uint32_t>(gpa & 0xfff)};
        device = x86::execute_device(in, cpu, mode, x86::Device{&a, lapic_read, lapic_write});
    }
    const x86::Memory mem{&v, mem_read, mem_write};
    if (!device) (void)x86::execute_unbacked(in, cpu, mode, mem);
    for (uint32_t i = 0; i < 16; ++i)
        if (cpu.gpr[i] != guest::read_gpr(v, i)) guest::write_gpr(v, i, cpu.gpr[i]);
    vmx::write(vmx::Field::guest_rflags, cpu.rflags);
    if (cpu.rip != rip) {
        vmx::write(vmx::Field::guest_rip, cpu.rip);
        // The instruction completed: an STI or MOV SS shadow ends with it (SDM Vol 3C 24.4.2).
        vmx::write(vmx::Field::guest_interruptibility, vmx::read(vmx::Field::guest_interruptibility) & ~3ull);
    }
    if (!device) warn(*v.domain, write, gpa, rip);
}

} // namespace menhir::exit
