// `xl create`: see create_command.hpp.
#include "create_command.hpp"

#include "dom0/xl/config_parser.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

using namespace guest;

namespace dom0::xl {
namespace {

void print_diagnostic(void*, const char* line) { print("%s\n", line); }

bool has_equals(const char* s) {
    for (; *s; ++s)
        if (*s == '=') return true;
    return false;
}

}  // namespace

long create_command(int argc, const char* const* argv, toolstack::FileReader read, bool* console) {
    *console = false;
    const char* file = nullptr;
    const char* overrides[MAX_OVERRIDES];
    unsigned nr_overrides = 0;
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        if (str_eq(a, "-c")) {
            *console = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            print("xl create: unknown option '%s'\nusage: xl create FILE [-c] [KEY=VALUE...]\n", a);
            return -1;
        } else if (!file && !has_equals(a)) {
            file = a;
        } else if (nr_overrides == MAX_OVERRIDES) {
            print("xl create: at most %u KEY=VALUE overrides\n", MAX_OVERRIDES);
            return -1;
        } else {
            overrides[nr_overrides++] = a;
        }
    }
    if (!file) {
        print("usage: xl create FILE [-c] [KEY=VALUE...]\n");
        return -1;
    }
    Blob text;
    if (!read(file, text)) {
        print("Failed to read config file: %s: No such file or directory\n", file);
        return -1;
    }
    print("Parsing config from %s\n", file);
    static DomainConfig cfg;   // 2.6 KiB: not on the stack
    cfg = DomainConfig{};
    if (!parse_config(reinterpret_cast<const char*>(text.data), text.size, file, overrides, nr_overrides, cfg,
                      print_diagnostic, nullptr)) {
        print("xl: failed to parse %s: no domain created\n", file);
        return -1;
    }
    return toolstack::create(cfg);
}

}  // namespace dom0::xl
