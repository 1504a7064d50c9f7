// Fatal errors inside the hypervisor itself. A panic prints everything a
// reader needs on the serial line, then stops every CPU.
#pragma once

namespace menhir {
struct InterruptFrame;

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void panic_exception(const InterruptFrame& frame);
[[nodiscard]] bool panic_in_progress();
} // namespace menhir
