// Guest console output: a small printf that writes whole lines through the
// console_io hypercall (CONSOLEIO_write) and, when asked, to port 0xE9.
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

namespace guest {

inline constexpr unsigned CONSOLE_XEN = 1u << 0;  // console_io hypercall
inline constexpr unsigned CONSOLE_E9 = 1u << 1;   // port 0xE9, one outb per byte

// Where output goes; CONSOLE_XEN unless a guest changes it.
extern unsigned console_sinks;

// Writes bytes as they are (no buffering) to the enabled sinks.
void console_write(const char* s, size_t n);
void e9_write(const char* s, size_t n);

// printf subset: %d %i %u %x %X %p %s %c %%, flags '-' and '0', a field width
// (number or '*'), length modifiers h hh l ll z. Output is buffered by line;
// each call ends with a flush.
void print(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char* fmt, va_list ap);
// Formats into buf (always NUL-terminated when size > 0); returns the length
// the full output would have.
size_t format(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
size_t vformat(char* buf, size_t size, const char* fmt, va_list ap);

}  // namespace guest
