// The guest side of its console ring: see hvc.hpp.
#include "hvc.hpp"

#include "events.hpp"
#include "hypercall.hpp"
#include "print.hpp"
#include "runtime.hpp"

namespace guest::hvc {
namespace {

constexpr uint64_t PAGE = 4096;
constexpr uint32_t OUT_SIZE = sizeof(xen::xencons_interface{}.out);
constexpr uint32_t IN_SIZE = sizeof(xen::xencons_interface{}.in);

volatile xen::xencons_interface* g_ring = nullptr;
uint32_t g_port = 0;

void on_event(uint32_t, void*) {}   // the wake-up from hlt is all it is for

uint32_t load(const volatile uint32_t& v) { return __atomic_load_n(&v, __ATOMIC_ACQUIRE); }

// One byte typed, or -1 if there is none.
int get_char() {
    const uint32_t cons = g_ring->in_cons;
    if (load(g_ring->in_prod) == cons) return -1;
    const char c = g_ring->in[cons & (IN_SIZE - 1)];
    __atomic_store_n(&g_ring->in_cons, cons + 1, __ATOMIC_RELEASE);
    ev::send(g_port);
    return static_cast<unsigned char>(c);
}

}  // namespace

bool open() {
    uint64_t gfn = 0, port = 0;
    if (hvm_get_param(xen::HVM_PARAM_CONSOLE_PFN, &gfn) != 0 || hvm_get_param(xen::HVM_PARAM_CONSOLE_EVTCHN, &port) != 0 ||
        gfn == 0 || port == 0 || gfn * PAGE >= IDENTITY_MAP_END)
        return false;
    g_ring = reinterpret_cast<volatile xen::xencons_interface*>(gfn * PAGE);
    g_port = static_cast<uint32_t>(port);
    ev::set_handler(g_port, on_event);
    return true;
}

bool write(const char* s, size_t n) {
    if (!g_ring) return false;
    for (size_t i = 0; i < n; ++i) {
        const uint32_t prod = g_ring->out_prod;
        if (prod - load(g_ring->out_cons) >= OUT_SIZE) {
            ev::send(g_port);
            if (!ev::wait_until([&] { return prod - load(g_ring->out_cons) < OUT_SIZE; }, 10000 * ev::MS))
                return false;
        }
        g_ring->out[prod & (OUT_SIZE - 1)] = s[i];
        __atomic_store_n(&g_ring->out_prod, prod + 1, __ATOMIC_RELEASE);
    }
    ev::send(g_port);
    return true;
}

bool print(const char* fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    const size_t n = vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return write(buf, n < sizeof buf ? n : sizeof buf - 1);
}

bool input_ready() { return g_ring && load(g_ring->in_prod) != g_ring->in_cons; }

bool poll_line(char* line, size_t size, size_t* len) {
    if (!g_ring) return false;
    for (int c; (c = get_char()) >= 0;) {
        if (c == '\r' || c == '\n') {
            write("\n", 1);
            line[*len] = '\0';
            *len = 0;
            return true;
        }
        if (c == 0x7f || c == '\b') {
            if (*len > 0) {
                --*len;
                write("\b \b", 3);
            }
            continue;
        }
        if (c < 0x20 || *len + 1 >= size) continue;
        line[(*len)++] = static_cast<char>(c);
        const char ch = static_cast<char>(c);
        write(&ch, 1);
    }
    return false;
}

}  // namespace guest::hvc
