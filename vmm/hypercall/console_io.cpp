// console_io: guests print on the hypervisor console with their "(dN) "
// prefix. Like a debug build of Xen, Menhir lets every domain write.
#include "kernel/console.hpp"
#include "vmm/abi/xen.hpp"
#include "vmm/domain.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/hypercall/hypercall.hpp"

namespace menhir::hypercall {

int64_t console_io(Vcpu& v, Args& args)
{
    const uint64_t cmd = args[0];
    const uint64_t count = args[1];
    const uint64_t buffer = args[2];
    switch (cmd) {
    case xen::consoleio_write: {
        // At most a chunk per exit; the rest continues on re-execution.
        constexpr uint64_t chunk_max = 1024;
        char chunk[chunk_max];
        const uint64_t n = count < chunk_max ? count : chunk_max;
        if (!guest::copy_from(v, buffer, chunk, n)) return xen::err::efault;
        if (v.domain->privileged && console::dom0_interactive()) {
            // dom0's terminal: as written. A full transmit ring makes dom0
            // wait here (re-executing the call) rather than lose its output.
            const size_t took = console::write_dom0_raw(chunk, n);
            if (took < count) {
                set_arg(args, 1, count - took);
                set_arg(args, 2, buffer + took);
                return preempted;
            }
            return 0;
        }
        for (uint64_t i = 0; i < n; ++i) v.domain->console_put(chunk[i]);
        if (n < count) {
            set_arg(args, 1, count - n);
            set_arg(args, 2, buffer + n);
            return preempted;
        }
        return 0;
    }
    case xen::consoleio_read: {
        // Serial input for dom0 (VIRQ_CONSOLE says when there is some).
        if (!v.domain->privileged) return xen::err::eperm;
        char chunk[256];
        const size_t n = console::read_input(chunk, count < sizeof chunk ? count : sizeof chunk);
        if (n && !guest::copy_to(v, buffer, chunk, n)) return xen::err::efault;
        return static_cast<int64_t>(n);
    }
    default:
        return xen::err::enosys;
    }
}

} // namespace menhir::hypercall
