// I/O instruction exits (every port traps). Port 0xE9 is the guest's debug
// console, as in Xen for HVM guests; a domU's ACPI sleep and reset registers
// (vmm/acpi_tables) power it off or reboot it; reads of other ports return
// all ones and writes are dropped, as an empty ISA bus would.
#include "arch/x86/cpu.hpp"
#include "kernel/console.hpp"
#include "vmm/acpi_tables.hpp"
#include "vmm/domain.hpp"
#include "vmm/exit/guest_state.hpp"
#include "vmm/exit/handlers.hpp"
#include "vmm/guest_memory.hpp"

namespace menhir::exit {
namespace {

constexpr uint16_t debug_port = 0xe9;
constexpr uint32_t warnings_shown = 8;   // per domain, then one line per 1024 accesses

// Exit qualification for I/O instructions (SDM Vol 3C Table 28-5).
struct IoQual {
    uint32_t size;
    bool in;
    bool string;
    bool rep;
    uint16_t port;
};

IoQual decode(uint64_t q)
{
    return IoQual{static_cast<uint32_t>(q & 7) + 1, (q & 8) != 0, (q & 16) != 0, (q & 32) != 0,
                  static_cast<uint16_t>(q >> 16)};
}

void warn_ignored(Domain& d, const IoQual& io)
{
    const uint32_t n = d.io_warnings++;
    if (n < warnings_shown || (n % 1024) == 0)
        info("d%u: %s of port 0x%x ignored%s", d.id, io.in ? "read" : "write", io.port,
             n == warnings_shown - 1 ? " (further ones are reported every 1024th)" : "");
}

void passthrough(const IoQual& q, GuestRegs& r)
{
    switch (q.size) {
    case 1:
        if (q.in) r.rax = (r.rax & ~0xffull) | cpu::inb(q.port); else cpu::outb(q.port, static_cast<uint8_t>(r.rax));
        break;
    case 2:
        if (q.in) r.rax = (r.rax & ~0xffffull) | cpu::inw(q.port); else cpu::outw(q.port, static_cast<uint16_t>(r.rax));
        break;
    default:
        if (q.in) r.rax = cpu::inl(q.port); else cpu::outl(q.port, static_cast<uint32_t>(r.rax));
        break;
    }
}

// REP INSW/OUTSW and friends on a delegated port (ATA PIO moves sectors this
// way): a bounded number of items per exit; a REP with more left is
// re-executed. Forwards (DF clear), the items go through one buffer and one
// guest-memory access per exit, not one per item.
void string_passthrough(Vcpu& v, const IoQual& q)
{
    GuestRegs& r = v.ctx.regs;
    constexpr uint64_t items_max = 256;
    const uint64_t count = q.rep ? (r.rcx & 0xffffffff) : 1;
    const uint64_t n = count < items_max ? count : items_max;
    const bool backwards = vmx::read(vmx::Field::guest_rflags) & (1u << 10);
    uint64_t& index = q.in ? r.rdi : r.rsi;
    uint8_t buf[items_max * 4];
    const uint64_t step = backwards ? 0 : q.size;   // forwards: item i at buf + i * size
    const uint64_t bytes = backwards ? q.size : n * q.size;
    for (uint64_t done = 0; done < n;) {
        const uint64_t items = backwards ? 1 : n;
        if (q.in) {
            for (uint64_t i = 0; i < items; ++i) {
                const uint32_t value = q.size == 1 ? cpu::inb(q.port) : q.size == 2 ? cpu::inw(q.port) : cpu::inl(q.port);
                __builtin_memcpy(buf + i * step, &value, q.size);
            }
            if (!guest::emulated_write(v, index, buf, bytes)) {
                guest::inject_gp();
                return;
            }
        } else {
            if (!guest::emulated_read(v, index, buf, bytes)) {
                guest::inject_gp();
                return;
            }
            for (uint64_t i = 0; i < items; ++i) {
                uint32_t value = 0;
                __builtin_memcpy(&value, buf + i * step, q.size);
                if (q.size == 1) cpu::outb(q.port, static_cast<uint8_t>(value));
                else if (q.size == 2) cpu::outw(q.port, static_cast<uint16_t>(value));
                else cpu::outl(q.port, value);
            }
        }
        index = backwards ? index - q.size : index + bytes;
        done += items;
    }
    if (q.rep) r.rcx = (r.rcx & ~0xffffffffull) | (count - n);
    if (count - n == 0) guest::skip_instruction();
}

// The registers its FADT names: the domain ends exactly as SCHEDOP_shutdown
// would end it. Returns true if it did (the vCPU must not go on).
bool acpi_register(Vcpu& v, const IoQual& q, GuestRegs& r)
{
    if (q.in) {
        r.rax = (r.rax & ~0xffull) | acpi_tables::port_read(q.port, q.size);
        return false;
    }
    switch (acpi_tables::port_write(q.port, q.size, static_cast<uint32_t>(r.rax))) {
    case acpi_tables::PortEffect::poweroff: domains::shutdown(*v.domain, xen::ShutdownReason::poweroff); return true;
    case acpi_tables::PortEffect::reboot: domains::shutdown(*v.domain, xen::ShutdownReason::reboot); return true;
    case acpi_tables::PortEffect::none: return false;
    }
    return false;
}

} // namespace

void io(Vcpu& v)
{
    const IoQual q = decode(vmx::read(vmx::Field::exit_qualification));
    Domain& d = *v.domain;
    GuestRegs& r = v.ctx.regs;
    if (q.string && d.port_allowed(q.port) && d.port_allowed(q.port + q.size - 1u)) {
        string_passthrough(v, q);
        return;
    }
    if (q.string) {
        // INS/OUTS: move RSI/RDI and RCX on as if the transfer happened (reads
        // do not touch memory); OUTSB to the debug port is printed.
        const uint64_t count = q.rep ? (r.rcx & 0xffffffff) : 1;
        const bool backwards = vmx::read(vmx::Field::guest_rflags) & (1u << 10);
        uint64_t& index = q.in ? r.rdi : r.rsi;
        if (!q.in && q.port == debug_port && q.size == 1) {
            for (uint64_t i = 0; i < count && i < 4096; ++i) {
                char c = 0;
                if (guest::copy_from(v, backwards ? index - i : index + i, &c, 1)) d.debug_put(c);
            }
        } else if (q.port != debug_port) {
            warn_ignored(d, q);
        }
        index = backwards ? index - count * q.size : index + count * q.size;
        if (q.rep) r.rcx = 0;
        guest::skip_instruction();
        return;
    }
    if (d.port_allowed(q.port) && d.port_allowed(q.port + q.size - 1u)) {
        // A device delegated to this domain (dom0's disk controller): the
        // access goes to the real port.
        passthrough(q, r);
    } else if (!d.privileged && acpi_tables::is_acpi_port(q.port, q.size)) {
        // dom0 has no ACPI tables of ours (it powers off through the
        // hypervisor's own ACPI): these ports are nothing to it.
        if (acpi_register(v, q, r)) return;
    } else if (q.port == debug_port) {
        if (q.in)
            r.rax = q.size == 4 ? debug_port : (r.rax & ~((1ull << (8 * q.size)) - 1)) | debug_port;   // Bochs's and QEMU's E9 answer 0xE9
        else
            d.debug_put(static_cast<char>(r.rax));
    } else if (q.in) {
        const uint64_t ones = q.size == 4 ? 0xffffffffull : (1ull << (8 * q.size)) - 1;
        r.rax = q.size == 4 ? ones : ((r.rax & ~ones) | ones);   // 32-bit results zero-extend
        warn_ignored(d, q);
    } else {
        warn_ignored(d, q);
    }
    guest::skip_instruction();
}

} // namespace menhir::exit
