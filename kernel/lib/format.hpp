// printf-style formatting into a caller's buffer, for the console and the
// log ring. Freestanding: no libc, no floating point (the kernel is built
// with -mgeneral-regs-only), no allocation.
//
// Supported: %% %c %s %d %i %u %x %X %p %o %b (binary, as in C23);
// flags '-' '0' ' ' '+' '#'; width and precision, each may be '*';
// length modifiers hh h l ll z t j. The semantics are those of C's
// snprintf, so the compiler's -Wformat checks apply unchanged.
// Departures, on purpose:
//   - %s with nullptr prints "(null)" (precision still applies);
//   - %p always prints 0x and 16 hex digits, so addresses line up in dumps;
//   - an unknown conversion (%n, %f, ...) is copied to the output as written
//     and consumes no argument: %n would let a format write memory, and
//     floating point is unavailable;
//   - widths and precisions are clamped to format_max_field.
#pragma once
#include <cstdarg>
#include <cstddef>

namespace menhir {

// A width of a million spaces is never meant; the clamp keeps a corrupt
// '*' argument from spinning the console for minutes.
inline constexpr int format_max_field = 4096;

// Always NUL-terminates when size > 0 and returns the length the whole
// output would have had, like vsnprintf, so `ret >= size` means truncated.
size_t vformat(char* buf, size_t size, const char* fmt, va_list ap);
size_t format(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

} // namespace menhir
