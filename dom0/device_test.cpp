// See device_test.hpp. The ATA registers and commands are from the ATA/ATAPI
// command set (ATA8-ACS): the primary channel's command block at 0x1f0-0x1f7,
// its control register at 0x3f6, IRQ 14; IDENTIFY PACKET DEVICE (0xa1) for
// the ATAPI CD-ROM an emulator boots from, IDENTIFY DEVICE (0xec) for a disk.
#include "device_test.hpp"

#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "runtime/x86.hpp"
#include "../vmm/abi/menhir.hpp"

using namespace guest;
namespace abi = menhir::abi;

namespace {

constexpr uint16_t ata_data = 0x1f0, ata_drive = 0x1f6, ata_command = 0x1f7, ata_control = 0x3f6;
constexpr uint8_t status_busy = 0x80, status_drq = 0x08, status_error = 0x01;
constexpr uint32_t ata_irq = 14;

volatile uint64_t g_irq_events = 0;
volatile uint64_t g_dom_exc_events = 0;

void on_irq(uint32_t, void*) { g_irq_events = g_irq_events + 1; }
void on_dom_exc(uint32_t, void*) { g_dom_exc_events = g_dom_exc_events + 1; }

long bind_pirq(uint32_t pirq) {
    struct { uint32_t pirq, flags, port; } b{pirq, 0, 0};
    const long rc = event_channel_op(xen::EVTCHNOP_bind_pirq, &b);
    return rc < 0 ? rc : static_cast<long>(b.port);
}

bool wait_not_busy() {
    for (int i = 0; i < 1000000; ++i)
        if (!(inb(ata_command) & status_busy)) return true;
    return false;
}

// Issues `command` to the primary master and reads the 256-word answer with
// REP INSW once the interrupt has arrived as an event.
bool identify(uint8_t command, uint16_t (&words)[256]) {
    outb(ata_control, 0x00);   // nIEN clear: the device interrupts
    outb(ata_drive, 0xa0);     // master
    if (!wait_not_busy()) return false;
    const uint64_t before = g_irq_events;
    outb(ata_command, command);
    if (!ev::wait_until([before] { return g_irq_events != before; }, 2000 * ev::MS)) return false;
    const uint8_t status = inb(ata_command);   // reading status acknowledges the device's interrupt
    if ((status & status_error) || !(status & status_drq)) return false;
    uint16_t* p = words;
    unsigned long n = 256;
    asm volatile("rep insw" : "+D"(p), "+c"(n) : "d"(ata_data) : "memory");
    return true;
}

// ATA strings hold two characters per word, high byte first.
void model_of(const uint16_t (&words)[256], char (&out)[41]) {
    for (int i = 0; i < 20; ++i) {
        out[2 * i] = static_cast<char>(words[27 + i] >> 8);
        out[2 * i + 1] = static_cast<char>(words[27 + i] & 0xff);
    }
    out[40] = '\0';
    for (int i = 39; i >= 0 && out[i] == ' '; --i) out[i] = '\0';
}

}  // namespace

namespace dom0 {

bool test_devices() {
    if (!ev::init()) return false;
    const long irq_port = bind_pirq(ata_irq);
    const long exc_port = ev::bind_virq(xen::VIRQ_DOM_EXC, 0);
    if (irq_port <= 0 || exc_port <= 0) {
        print("dom0: FAIL bind_pirq(%u) -> %ld, bind_virq(VIRQ_DOM_EXC) -> %ld\n", ata_irq, irq_port, exc_port);
        return false;
    }
    ev::set_handler(static_cast<uint32_t>(irq_port), on_irq);
    ev::set_handler(static_cast<uint32_t>(exc_port), on_dom_exc);
    irq_enable();

    uint16_t words[256] = {};
    const bool packet = identify(0xa1, words) || identify(0xec, words);
    if (!packet) {
        print("dom0: FAIL no answer to IDENTIFY from the primary ATA master (%llu IRQ events)\n",
              static_cast<unsigned long long>(g_irq_events));
        return false;
    }
    char model[41];
    model_of(words, model);
    print("dom0: ATA IRQ %u arrived as event on port %ld (%llu events)\n", ata_irq, irq_port,
          static_cast<unsigned long long>(g_irq_events));
    print("dom0: ATA model \"%s\"\n", model);

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
