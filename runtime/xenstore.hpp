// A guest's xenstore client on its store ring (HVM_PARAM_STORE_PFN/EVTCHN), as Linux's xenbus talks to xenstored.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace guest::xs {

// Finds the ring and port in the HVM parameters. Needs ev::init(); replies
// arrive once interrupts are on. False if the domain has no store ring.
[[nodiscard]] bool open();

// Each call sends one request and waits (up to 10 s) for its reply. The
// result is >= 0 on success, else -1 with the error xenstored sent
// ("ENOENT", "EACCES", ...) or "ETIMEDOUT" in last_error(). tx 0 is no
// transaction.
long read(const char* path, char* out, size_t size, uint32_t tx = 0);   // bytes read (out NUL-terminated)
long write(const char* path, const char* value, uint32_t tx = 0);
long mkdir(const char* path, uint32_t tx = 0);
long rm(const char* path, uint32_t tx = 0);
long directory(const char* path, char* out, size_t size, uint32_t tx = 0);   // NUL-separated names, total bytes
long watch(const char* path, const char* token);
long unwatch(const char* path, const char* token);
long transaction_start(uint32_t* tx);
long transaction_end(uint32_t tx, bool commit);   // -1 with "EAGAIN": a conflict, start again
long get_domain_path(uint16_t domid, char* out, size_t size);
const char* last_error();

// Watch events that came in (with replies or alone): true and the next
// one's path and token, else false. event_pending() says whether there may
// be one (for a wait_until() condition).
[[nodiscard]] bool next_event(char* path, size_t path_size, char* token, size_t token_size);
[[nodiscard]] bool event_pending();
// The same for one watch's token, leaving other watches' events queued
// for their owners (a library waiting on its own watch inside a guest
// that has others): take_event() drops the oldest event with `token`.
[[nodiscard]] bool take_event(const char* token);
[[nodiscard]] bool event_pending(const char* token);

}  // namespace guest::xs
