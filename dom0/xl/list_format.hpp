// xl list's outputs from the hypervisor's domain records: the table (`xl
// list`), its state letters, the JSON of `xl list -l`, and `xl uptime`'s
// table, `xl block-list`'s. Pure: builds on the host.
#pragma once
#include <cstddef>
#include <cstdint>
#include "../../vmm/abi/menhir.hpp"
#include "text.hpp"

namespace dom0::xl {

// The domain's name, NUL-terminated even if the record's fills its 32 bytes.
void name_of(const menhir::abi::DomainInfo& d, char (&out)[33]);

// xl's six state columns: r(unning) b(locked) p(aused) s(hut down), then the
// shutdown reason (r reboot, s suspend, c crash, w watchdog, - poweroff or
// none) and d(ying); '-' where a flag is not set.
void state_letters(const menhir::abi::DomainInfo& d, char (&out)[7]);

void list_header(Text& t);
void list_row(Text& t, const menhir::abi::DomainInfo& d);
// `xl list -l`: a JSON array with one object per domain (domid, config's
// c_info and b_info: name, type, vCPUs, memory, scheduler parameters).
void list_json(Text& t, const menhir::abi::DomainInfo* doms, size_t count);

// `xl uptime`: "H:MM:SS", with "N day(s), " in front past a day.
void uptime_string(Text& t, uint64_t seconds);
void uptime_header(Text& t);
void uptime_row(Text& t, const menhir::abi::DomainInfo& d, uint64_t seconds);

// One `xl block-list` row as libxl's diskinfo has it: the frontend's
// state, event-channel and ring-ref keys, -1 for a key that is absent (a
// frontend not connected yet, or one with a multi-page ring, which writes
// ring-ref0.. instead).
struct BlockRow {
    uint32_t devid;
    uint32_t backend_id;
    uint32_t frontend_id;
    int64_t state;
    int64_t evtch;
    int64_t ring_ref;
    const char* be_path;
};
void block_list_header(Text& t);
void block_list_row(Text& t, const BlockRow& r);

} // namespace dom0::xl
