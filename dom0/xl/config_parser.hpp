// The xl.cfg parser (pure: text in, DomainConfig and diagnostic lines out; no I/O, no heap; host-tested).
//
// Syntax as xl's libxlu accepts it (xl.cfg(5)): `KEY = VALUE` statements ended by a newline or `;`;
// KEY is [a-z][_0-9a-z]*; VALUE is a STRING ('...' or "..." with the escapes \' \" \\ \a \b \f \n
// \r \t \v \xHH \OOO), a NUMBER (decimal, 0x hex, 0-prefixed octal, as strtol base 0 reads it)
// or a list `[ VALUE, VALUE, ]` (a trailing comma and newlines inside are allowed); `#` starts a
// comment. A key given twice takes its last value. KEY=VALUE overrides (`xl create FILE KEY=VALUE...`)
// are read after the file as further lines, as xl appends them to the file, so they win and their
// diagnostics carry the line numbers that follow the file's.
//
// Diagnostics are whole lines without a newline: `FILE:LINE: message` for errors,
// `FILE:LINE: warning: message` for warnings (an unknown key is one, as xl ignores unknown keys).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "dom0/xl/domain_config.hpp"

namespace dom0::xl {

// Receives each diagnostic line (NUL-terminated, no newline); ctx is the caller's.
using DiagnosticSink = void (*)(void* ctx, const char* line);

inline constexpr unsigned MAX_OVERRIDES = 16;
inline constexpr unsigned DIAGNOSTIC_MAX_LEN = 319;   // longer lines are cut

struct ParseStats {
    unsigned errors = 0;
    unsigned warnings = 0;
};

// Parses `len` bytes of `text` (the file named `file` in diagnostics, which need not be
// NUL-terminated) and then the NUL-terminated `overrides`. Returns true with `out` filled when
// there was no error; false otherwise: `out` is then meaningless and nothing may be created.
// Warnings do not make it fail. `sink` may be null (diagnostics are then only counted).
// Needs about 2.5 KiB of stack (the value being read and one diagnostic line), nothing else.
[[nodiscard]] bool parse_config(const char* text, size_t len, const char* file, const char* const* overrides,
                                unsigned nr_overrides, DomainConfig& out, DiagnosticSink sink, void* ctx,
                                ParseStats* stats = nullptr);

// xl's CPU list forms for `cpus` ("all", "3", "0-3", "0,2-3", "0-7,^5", items joined by commas,
// `^` removing): the pCPU mask. Null on success, else why it is bad. pCPUs above 63 are refused.
[[nodiscard]] const char* parse_cpu_list(const char* spec, uint64_t* mask);

}  // namespace dom0::xl
