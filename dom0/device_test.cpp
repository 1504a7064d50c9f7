// See device_test.hpp. The ATA side is dom0's driver (block/ata.cpp): its
// probe sends IDENTIFY (PACKET) DEVICE to every drive position and waits
// for each answer's interrupt as an event on the pirq port it bound.
#include "device_test.hpp"

#include "dom0/block/ata.hpp"
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"
#include "../vmm/abi/menhir.hpp"

using namespace guest;
namespace abi = menhir::abi;
namespace ata = dom0::block::ata;

namespace {

constexpr uint32_t ata_irq = 14;

volatile uint64_t g_dom_exc_events = 0;

void on_dom_exc(uint32_t, void*) { g_dom_exc_events = g_dom_exc_events + 1; }

}  // namespace

namespace dom0 {

bool test_devices() {
    if (!ev::init()) return false;
    const long exc_port = ev::bind_virq(xen::VIRQ_DOM_EXC, 0);
    (void)ata::init();
    const ata::ChannelStats& primary = ata::channel_stats(0);
    if (primary.port <= 0 || exc_port <= 0) {
        print("dom0: FAIL bind_pirq(%u) -> %ld, bind_virq(VIRQ_DOM_EXC) -> %ld\n", ata_irq, primary.port, exc_port);
        return false;
    }
    ev::set_handler(static_cast<uint32_t>(exc_port), on_dom_exc);
    irq_enable();

    const ata::Device& master = ata::device(0);
    if (!master.present || primary.irq_events == 0) {
        print("dom0: FAIL no answer to IDENTIFY from the primary ATA master (%llu IRQ events)\n",
              static_cast<unsigned long long>(primary.irq_events));
        return false;
    }
    print("dom0: ATA IRQ %u arrived as event on port %ld (%llu events)\n", ata_irq, primary.port,
          static_cast<unsigned long long>(primary.irq_events));
    print("dom0: ATA model \"%s\"\n", master.id.model);

    // Domain 1 (started with dom0, e.g. a spinner) is shut down through
    // domctl: VIRQ_DOM_EXC must tell dom0.
    abi::Domctl c{};
    c.cmd = static_cast<uint32_t>(abi::DomctlCmd::shutdown);
    c.interface_version = abi::domctl_interface_version;
    c.domain = 1;
    c.u.shutdown.reason = 0;   // SHUTDOWN_poweroff
    const long rc = domctl(&c);
    if (rc != 0) {
        print("dom0: FAIL domctl shutdown of domain 1 -> %ld\n", rc);
        return false;
    }
    if (!ev::wait_until([] { return g_dom_exc_events != 0; }, 10000 * ev::MS)) {
        print("dom0: FAIL no VIRQ_DOM_EXC within 10 s of shutting domain 1 down\n");
        return false;
    }
    print("dom0: VIRQ_DOM_EXC received on port %ld\n", exc_port);
    print("dom0: test=devices ok\n");
    return true;
}

}  // namespace dom0
