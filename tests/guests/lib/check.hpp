// One line per checked case, as `NAME: CASE -> RESULT (expected EXPECTED) ok|FAIL`,
// and the tally for a final `NAME: N passed, M failed` line.
#pragma once

#include "runtime/print.hpp"
#include "runtime/runtime.hpp"

namespace guest {

struct Checks {
    unsigned passed = 0;
    unsigned failed = 0;

    bool expect(const char* what, long got, long expected) {
        bool ok = got == expected;
        (ok ? passed : failed)++;
        print("%s: %s -> %ld (expected %ld) %s\n", guest_name, what, got, expected, ok ? "ok" : "FAIL");
        return ok;
    }
    // For a case whose result is known to be wrong before it is compared.
    void fail(const char* what) {
        ++failed;
        print("%s: %s FAIL\n", guest_name, what);
    }
};

}  // namespace guest
