// `xl sched-credit`: its options ([-d DOM [-w WEIGHT] [-c CAP]], long forms
// --domain= --weight= --cap= too) and its tables. Pure: builds on the host.
#pragma once
#include <cstddef>
#include <cstdint>
#include "text.hpp"

namespace dom0::xl {

struct SchedCreditArgs {
    const char* domain{nullptr};   // -d
    bool set_weight{false};
    bool set_cap{false};
    uint32_t weight{0};
    uint32_t cap{0};
};

// argv[0] is "sched-credit". nullptr on success, else xl's message.
[[nodiscard]] const char* parse_sched_credit(size_t argc, const char* const* argv, SchedCreditArgs& out);

// "Cpupool Pool-0: tslice=30ms ratelimit=0us migration-delay=0us" then the header.
void sched_credit_header(Text& t, uint64_t tslice_ms);
void sched_credit_row(Text& t, const char* name, uint16_t domid, uint32_t weight, uint32_t cap);

// A decimal number that fits in 32 bits, all of the text.
[[nodiscard]] bool parse_u32(const char* s, uint32_t& out);

} // namespace dom0::xl
