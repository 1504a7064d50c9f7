// conring: the console ring Xen's toolstack gives every domain
// (HVM_PARAM_CONSOLE_PFN / HVM_PARAM_CONSOLE_EVTCHN, io/console.h), used the
// way a guest written for Xen uses it from its first line.
//
// Checks and prints (through console_io, so they arrive even without a ring):
//  - both parameters are non-zero; the page lies in a reserved range of the
//    memory map (start_info's and XENMEM_memory_map's), not in RAM;
//  - the port is unbound, for domain 0 (the console back end's domain).
// Then, through the ring (out[], out_prod, EVTCHNOP_send on the port):
//  - `conring: hello through the ring`;
//  - `lines=N` (default 30) lines `conring: line K of N ...` written without
//    a send until the ring is full, so the indices wrap and one send has a
//    whole ring to drain.
// Default mode (echo): prints `conring: waiting for input` (console_io) and
// for every line typed (in[], ended by CR or LF) writes `conring: got 'TEXT'`
// through the ring; `quit` ends it with `conring: bye` and a power-off. No
// input for `idle=S` seconds (default 600): a FAIL line and a power-off.
// `mode=hostile`: after the hello, sets out_prod = out_cons + 100000 and
// sends. The back end must drop the ring without harming the domain: after
// a sane out_prod, a line and a send, out_cons must not move (printed
// `conring: ring dropped, out_cons stays at N ok`), then
// `conring: still alive after the hostile ring` and a power-off (with
// `linger`: `conring: lingering until shut down`, and it waits for that).
#include "runtime/events.hpp"
#include "runtime/hypercall.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

extern "C" const char guest_name[] = "conring";

namespace {

constexpr uint64_t PAGE = 4096;
constexpr uint32_t OUT_SIZE = sizeof(xen::xencons_interface{}.out);
constexpr uint32_t IN_SIZE = sizeof(xen::xencons_interface{}.in);

volatile xen::xencons_interface* g_ring = nullptr;
uint32_t g_port = 0;
volatile uint64_t g_events = 0;

void on_console(uint32_t, void*) { g_events = g_events + 1; }

uint32_t load(const volatile uint32_t& v) { return __atomic_load_n(&v, __ATOMIC_ACQUIRE); }

[[noreturn]] void fail(const char* what) {
    print("conring: FAIL %s\n", what);
    poweroff();
}

// Appends to out[] without telling the back end; when the ring is full,
// sends and waits for room (a back end drains on the send).
void ring_put(const char* s, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        uint32_t prod = g_ring->out_prod;
        if (prod - load(g_ring->out_cons) >= OUT_SIZE) {
            ev::send(g_port);
            if (!ev::wait_until([&] { return prod - load(g_ring->out_cons) < OUT_SIZE; }, 10000 * ev::MS))
                fail("out[] stays full 10 s after a send: nobody drains the ring");
        }
        g_ring->out[prod & (OUT_SIZE - 1)] = s[i];
        __atomic_store_n(&g_ring->out_prod, prod + 1, __ATOMIC_RELEASE);
    }
}

// One text through the ring, then a send.
void ring_print(const char* text) {
    ring_put(text, str_len(text));
    ev::send(g_port);
}

bool reserved_in(const MemoryRange* map, size_t n, uint64_t addr) {
    bool reserved = false;
    for (size_t i = 0; i < n; ++i) {
        if (addr < map[i].addr || addr - map[i].addr >= map[i].size) continue;
        if (map[i].type == xen::MEMMAP_TYPE_RAM) return false;
        reserved = true;
    }
    return reserved;
}

void check_memory_map(uint64_t gfn) {
    MemoryRange map[16];
    const size_t n = memory_map(map, 16);
    if (!reserved_in(map, n, gfn * PAGE)) fail("the console page is not a reserved range of start_info's memory map");
    static xen::e820_entry e820[16];
    xen::xen_memory_map mm{16, reinterpret_cast<uintptr_t>(e820)};
    long rc = memory_op(xen::XENMEM_memory_map, &mm);
    if (rc != 0) fail("XENMEM_memory_map");
    MemoryRange hmap[16];
    size_t hn = 0;
    for (; hn < mm.nr_entries && hn < 16; ++hn) hmap[hn] = MemoryRange{e820[hn].addr, e820[hn].size, e820[hn].type};
    if (!reserved_in(hmap, hn, gfn * PAGE)) fail("the console page is not a reserved range of XENMEM_memory_map");
    print("conring: console page reserved in the memory map (%zu entries, XENMEM_memory_map %zu) ok\n", n, hn);
}

void hostile() {
    const uint32_t cons = load(g_ring->out_cons);
    __atomic_store_n(&g_ring->out_prod, cons + 100000, __ATOMIC_RELEASE);
    long rc = ev::send(g_port);
    print("conring: bogus out_prod (out_cons %u + 100000) sent -> %ld\n", cons, rc);
    // A sane ring again, with a line: a back end that still served it would
    // consume it.
    const uint32_t now = load(g_ring->out_cons);
    __atomic_store_n(&g_ring->out_prod, now, __ATOMIC_RELEASE);
    static const char line[] = "conring: FAIL this line came through a dropped ring\n";
    ring_put(line, sizeof line - 1);
    ev::send(g_port);
    ev::wait_until([] { return false; }, 500 * ev::MS);
    const uint32_t after = load(g_ring->out_cons);
    if (after != now) print("conring: FAIL out_cons moved from %u to %u after the ring was dropped\n", now, after);
    else print("conring: ring dropped, out_cons stays at %u ok\n", after);
    print("conring: still alive after the hostile ring\n");
    char unused[4];
    if (cmdline_option(cmdline(), "linger", unused, sizeof unused)) {
        // Alive but without a console: someone else (dom0) shuts us down.
        print("conring: lingering until shut down\n");
        for (;;) ev::wait_until([] { return false; }, ev::FOREVER);
    }
    poweroff();
}

void echo(uint64_t idle_s) {
    print("conring: waiting for input\n");
    char line[64];
    size_t len = 0;
    for (;;) {
        if (!ev::wait_until([] { return load(g_ring->in_prod) != g_ring->in_cons; }, idle_s * 1000 * ev::MS)) {
            print("conring: FAIL no input for %llu s\n", static_cast<unsigned long long>(idle_s));
            poweroff();
        }
        uint32_t cons = g_ring->in_cons;
        const uint32_t prod = load(g_ring->in_prod);
        if (prod - cons > IN_SIZE) fail("in_prod - in_cons exceeds the ring");
        for (; cons != prod; ++cons) {
            const char c = g_ring->in[cons & (IN_SIZE - 1)];
            if (c != '\r' && c != '\n') {
                if (len + 1 < sizeof line) line[len++] = c;
                continue;
            }
            if (len == 0) continue;
            line[len] = '\0';
            char reply[100];
            format(reply, sizeof reply, "conring: got '%s'\n", line);
            ring_print(reply);
            if (len == 4 && __builtin_memcmp(line, "quit", 4) == 0) {
                __atomic_store_n(&g_ring->in_cons, cons + 1, __ATOMIC_RELEASE);
                ring_print("conring: bye\n");
                poweroff();
            }
            len = 0;
        }
        __atomic_store_n(&g_ring->in_cons, cons, __ATOMIC_RELEASE);
    }
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    char mode[16] = "echo";
    cmdline_option(cmdline(), "mode", mode, sizeof mode);
    uint64_t lines = 30, idle_s = 600;
    cmdline_number(cmdline(), "lines", &lines);
    cmdline_number(cmdline(), "idle", &idle_s);
    if (!ev::init()) poweroff();

    uint64_t gfn = 0, port = 0;
    long rc1 = hvm_get_param(xen::HVM_PARAM_CONSOLE_PFN, &gfn);
    long rc2 = hvm_get_param(xen::HVM_PARAM_CONSOLE_EVTCHN, &port);
    print("conring: HVM_PARAM_CONSOLE_PFN -> %ld 0x%llx, HVM_PARAM_CONSOLE_EVTCHN -> %ld %llu\n", rc1,
          static_cast<unsigned long long>(gfn), rc2, static_cast<unsigned long long>(port));
    if (rc1 != 0 || rc2 != 0 || gfn == 0 || port == 0 || port >= 1024) fail("no console ring in the HVM parameters");
    if (gfn * PAGE >= IDENTITY_MAP_END) fail("the console page is beyond the identity map");
    check_memory_map(gfn);
    xen::evtchn_status st{};
    long rc = ev::status(xen::DOMID_SELF, static_cast<uint32_t>(port), &st);
    if (rc != 0 || st.status != xen::EVTCHNSTAT_unbound || st.u.unbound.dom != 0)
        fail("the console port is not unbound for domain 0");
    print("conring: port %llu unbound for domain 0 ok\n", static_cast<unsigned long long>(port));

    g_ring = reinterpret_cast<volatile xen::xencons_interface*>(gfn * PAGE);
    g_port = static_cast<uint32_t>(port);
    ev::set_handler(g_port, on_console);
    if (!ev::heartbeat_start(100 * ev::MS)) poweroff();
    irq_enable();

    ring_print("conring: hello through the ring\n");
    if (str_eq(mode, "hostile")) hostile();

    // Whole lines, with a send only when out[] is full, then one at the end.
    for (uint64_t k = 1; k <= lines; ++k) {
        char line[120];
        size_t n = format(line, sizeof line, "conring: line %llu of %llu %s\n", static_cast<unsigned long long>(k),
                          static_cast<unsigned long long>(lines),
                          "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz");
        ring_put(line, n < sizeof line ? n : sizeof line - 1);
    }
    ev::send(g_port);
    echo(idle_s);
}
