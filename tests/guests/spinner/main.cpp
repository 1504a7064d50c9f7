// spinner: burns CPU forever and reports progress, so the integration tests
// can compare how much CPU two spinners get.
//
// Command line: `name=NAME` (default: the whole command line, or "spinner"
// when empty) and `every=K` (default 20000000). Every K iterations of a
// two-instruction loop it prints `spinner NAME: N`, N counting the reports
// (so N * K iterations done). At Bochs' default 50 M instructions/s a
// spinner alone on a CPU reports a bit more than once per emulated second.
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

extern "C" const char guest_name[] = "spinner";

namespace {

constexpr uint64_t DEFAULT_EVERY = 20000000;

// Exactly `iterations` rounds of dec/jnz: a fixed instruction count per
// report whatever the compiler does around it.
void spin(uint64_t iterations) {
    if (iterations == 0) return;
#if defined(__x86_64__)
    asm volatile("1: dec %0\n\tjnz 1b" : "+r"(iterations) : : "cc");
#else
    uint32_t n = static_cast<uint32_t>(iterations);
    asm volatile("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
#endif
}

}  // namespace

extern "C" void guest_main(const xen::hvm_start_info*) {
    const char* line = cmdline();
    char name[64];
    if (!cmdline_option(line, "name", name, sizeof(name))) {
        size_t i = 0;
        for (; line[i] != '\0' && i < sizeof(name) - 1; ++i) name[i] = line[i];
        name[i] = '\0';
        if (i == 0) format(name, sizeof(name), "spinner");
    }
    uint64_t every = DEFAULT_EVERY;
    if (!cmdline_number(line, "every", &every) || every == 0) every = DEFAULT_EVERY;

    print("spinner %s: started, every %llu\n", name, static_cast<unsigned long long>(every));
    for (uint64_t n = 1;; ++n) {
        spin(every);
        print("spinner %s: %llu\n", name, static_cast<unsigned long long>(n));
    }
}
