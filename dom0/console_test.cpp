// See console_test.hpp. The ring layout is Xen's io/console.h
// (runtime/xen.hpp); as the back end we own in_prod and out_cons.
#include "console_test.hpp"

#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"
#include "../vmm/abi/menhir.hpp"
#include "domctl.hpp"
#include "foreign_window.hpp"

using namespace guest;
namespace abi = menhir::abi;
using dom0::domctl_op;

namespace {

constexpr uint64_t PAGE = 4096;
constexpr uint32_t OUT_SIZE = sizeof(xen::xencons_interface{}.out);
constexpr uint32_t IN_SIZE = sizeof(xen::xencons_interface{}.in);

volatile uint64_t g_input_events = 0;
volatile uint64_t g_ring_events = 0;
volatile uint64_t g_dom_exc_events = 0;

void on_input(uint32_t, void*) { g_input_events = g_input_events + 1; }
void on_ring(uint32_t, void*) { g_ring_events = g_ring_events + 1; }
void on_dom_exc(uint32_t, void*) { g_dom_exc_events = g_dom_exc_events + 1; }

struct Taken {
    uint16_t dom = 0;
    uint64_t local_gfn = 0;
    uint32_t local_port = 0;
    volatile xen::xencons_interface* ring = nullptr;
    char line[160] = {};
    size_t len = 0;
};
Taken g_taken;

uint32_t load(const volatile uint32_t& v) { return __atomic_load_n(&v, __ATOMIC_ACQUIRE); }


bool take(uint16_t dom) {
    if (g_taken.ring != nullptr) {
        print("dom0: FAIL already serving the console of d%u\n", g_taken.dom);
        return false;
    }
    abi::Domctl c = domctl_op(abi::DomctlCmd::console_handover, dom);
    long rc = domctl(&c);
    if (rc != 0) {
        print("dom0: FAIL domctl console_handover(d%u) -> %ld\n", dom, rc);
        return false;
    }
    const long local = ev::bind_interdomain(dom, c.u.console.port);
    if (local <= 0) {
        print("dom0: FAIL bind_interdomain(d%u, port %u) -> %ld\n", dom, c.u.console.port, local);
        return false;
    }
    const uint64_t win = alloc_unused_gfn(1);
    const uint64_t idx = c.u.console.gfn;
    rc = win != 0 ? dom0::map_foreign_frame(dom, idx, win) : -1;
    if (rc != 0) {
        print("dom0: FAIL mapping the console page of d%u (gfn 0x%llx) -> %ld\n", dom,
              static_cast<unsigned long long>(idx), rc);
        return false;
    }
    g_taken.dom = dom;
    g_taken.local_gfn = win;
    g_taken.local_port = static_cast<uint32_t>(local);
    g_taken.ring = reinterpret_cast<volatile xen::xencons_interface*>(win * PAGE);
    ev::clear_pending(g_taken.local_port);   // the new local end starts pending (as in Xen)
    ev::set_handler(g_taken.local_port, on_ring);
    print("dom0: took the console of d%u (gfn 0x%llx, port %u, local port %u)\n", dom,
          static_cast<unsigned long long>(idx), c.u.console.port, g_taken.local_port);
    return true;
}

// What the taken domain wrote, as lines.
void drain_ring() {
    volatile xen::xencons_interface* r = g_taken.ring;
    if (r == nullptr) return;
    uint32_t cons = r->out_cons;
    const uint32_t prod = load(r->out_prod);
    if (prod - cons > OUT_SIZE) {
        print("dom0: d%u: out_prod - out_cons exceeds the ring, ignored\n", g_taken.dom);
        return;
    }
    for (; cons != prod; ++cons) {
        const char ch = r->out[cons & (OUT_SIZE - 1)];
        if (ch == '\n' || g_taken.len + 1 >= sizeof g_taken.line) {
            g_taken.line[g_taken.len] = '\0';
            print("dom0: d%u: %s\n", g_taken.dom, g_taken.line);
            g_taken.len = 0;
            if (ch == '\n') continue;
        }
        if (ch != '\r') g_taken.line[g_taken.len++] = ch;
    }
    __atomic_store_n(&r->out_cons, cons, __ATOMIC_RELEASE);
}

void forward(const char* text) {
    volatile xen::xencons_interface* r = g_taken.ring;
    if (r == nullptr) {
        print("dom0: no console taken: 'take N' first\n");
        return;
    }
    for (const char* p = text;; ++p) {
        const char ch = *p != '\0' ? *p : '\r';
        uint32_t prod = r->in_prod;
        if (prod - load(r->in_cons) >= IN_SIZE) break;   // full: the rest is dropped
        r->in[prod & (IN_SIZE - 1)] = ch;
        __atomic_store_n(&r->in_prod, prod + 1, __ATOMIC_RELEASE);
        if (*p == '\0') break;
    }
    ev::send(g_taken.local_port);
}

void release_if_gone() {
    if (g_taken.ring == nullptr) return;
    abi::Domctl c = domctl_op(abi::DomctlCmd::get_info, g_taken.dom);
    const long rc = domctl(&c);
    if (rc == 0 && (c.u.info.state == static_cast<uint8_t>(abi::DomainStateAbi::running) ||
                    c.u.info.state == static_cast<uint8_t>(abi::DomainStateAbi::paused)))
        return;
    drain_ring();
    const long unmap = dom0::unmap_frame(g_taken.local_gfn);
    const long closed = ev::close(g_taken.local_port);
    g_taken.ring = nullptr;
    if (unmap != 0 || closed != 0)
        print("dom0: FAIL releasing the console of d%u: unmap -> %ld, close -> %ld\n", g_taken.dom, unmap, closed);
    else
        print("dom0: d%u is gone, its console released\n", g_taken.dom);
}

// "take N" / "kill N": the domain id after the word, 0 if none.
uint16_t domain_arg(const char* line, const char* word) {
    const size_t n = str_len(word);
    if (__builtin_memcmp(line, word, n) != 0 || line[n] != ' ') return 0;
    char option[24];
    format(option, sizeof option, "n=%s", line + n + 1);
    uint64_t dom = 0;
    if (!cmdline_number(option, "n", &dom) || dom >= xen::DOMID_FIRST_RESERVED) return 0;
    return static_cast<uint16_t>(dom);
}

void handle_line(const char* line) {
    print("dom0: input '%s'\n", line);
    if (const uint16_t dom = domain_arg(line, "kill")) {
        abi::Domctl c = domctl_op(abi::DomctlCmd::shutdown, dom);
        c.u.shutdown.reason = 0;   // SHUTDOWN_poweroff
        print("dom0: domctl shutdown(d%u) -> %ld\n", dom, domctl(&c));
        return;
    }
    if (const uint16_t dom = domain_arg(line, "take")) {
        take(dom);
        return;
    }
    forward(line);
}

}  // namespace

namespace dom0 {

void test_console() {
    if (!ev::init()) for (;;) sched_block();
    const long in_port = ev::bind_virq(xen::VIRQ_CONSOLE, 0);
    const long exc_port = ev::bind_virq(xen::VIRQ_DOM_EXC, 0);
    if (in_port <= 0 || exc_port <= 0) {
        print("dom0: FAIL bind_virq(VIRQ_CONSOLE) -> %ld, bind_virq(VIRQ_DOM_EXC) -> %ld\n", in_port, exc_port);
        for (;;) sched_block();
    }
    ev::set_handler(static_cast<uint32_t>(in_port), on_input);
    ev::set_handler(static_cast<uint32_t>(exc_port), on_dom_exc);
    irq_enable();
    print("dom0: test=console: serving serial input\n");
    char line[80];
    size_t len = 0;
    uint64_t seen_input = 0, seen_ring = 0, seen_exc = 0;
    for (;;) {
        ev::wait_until([&] { return g_input_events != seen_input || g_ring_events != seen_ring ||
                                    g_dom_exc_events != seen_exc; }, ev::FOREVER);
        seen_input = g_input_events;
        seen_ring = g_ring_events;
        drain_ring();
        if (g_dom_exc_events != seen_exc) {
            seen_exc = g_dom_exc_events;
            release_if_gone();
        }
        // Serial input: whatever is queued, 64 bytes at a time.
        for (;;) {
            char buf[64];
            const long n = console_io(xen::CONSOLEIO_read, sizeof buf, buf);
            if (n <= 0) break;
            for (long i = 0; i < n; ++i) {
                if (buf[i] == '\r' || buf[i] == '\n') {
                    if (len == 0) continue;
                    line[len] = '\0';
                    handle_line(line);
                    len = 0;
                } else if (len + 1 < sizeof line) {
                    line[len++] = buf[i];
                }
            }
        }
    }
}

}  // namespace dom0
