// dom0's xenstored: serves every introduced domain's xenstore ring (the
// page at HVM_PARAM_STORE_PFN, mapped with a foreign mapping, and the
// interdomain event channel bound to its HVM_PARAM_STORE_EVTCHN) over the
// pure store in dom0/xenstore/. dom0 itself, the server, uses the store
// through direct calls. A ring that lies (indices, lengths) or floods
// requests without reading replies is dropped with a line naming the domain.
//
// Effectful. Single-threaded: call everything from dom0's main loop.
#pragma once
#include <cstdint>
#include "xenstore/local_watch.hpp"
#include "xenstore/store.hpp"

namespace dom0::xenstored {

// Sets up the store (dom0's own /local/domain/0) and introduces every
// boot-time domU that has a store page (domctl store_info). Needs
// guest::ev::init() done.
[[nodiscard]] bool start();

// Starts serving domain `domid`'s ring (frame `gfn` in that domain, its
// unbound port `port` for dom0), writes its /local/domain/N layout as xl
// does and fires @introduceDomain. `name` may be null (taken from the
// hypervisor). A negative errno on failure, nothing left behind.
[[nodiscard]] long introduce(uint16_t domid, uint64_t gfn, uint32_t port, const char* name);

// Stops serving `domid`, removes /local/domain/N and /vm/N, fires
// @releaseDomain. -ENOENT if it was not introduced.
[[nodiscard]] long release(uint16_t domid);

// Whether a ring has something to do (for ev::wait_until).
[[nodiscard]] bool pending();
// Serves every ring with work (a bounded number of requests each), and
// releases domains that died.
void poll();
// VIRQ_DOM_EXC came (the toolstack owns it): the next poll() releases the
// domains that died.
void domains_changed();

// dom0's own use of the store (as domain 0: no permission checks, no quotas).
[[nodiscard]] xenstore::Err read(const char* path, char* out, uint32_t cap, uint32_t& len);
[[nodiscard]] xenstore::Err write(const char* path, const char* value);
[[nodiscard]] xenstore::Err mkdir(const char* path);
[[nodiscard]] xenstore::Err rm(const char* path);
[[nodiscard]] xenstore::Err set_perms(const char* path, const xenstore::Perm* perms, uint32_t n);
xenstore::Store& store();

// dom0's own watches, for a back end that follows its frontends' keys.
// The callback never runs inside a store call: the events are queued and
// delivered from poll() (pending() is true meanwhile), bounded, an event
// that does not fit turning into one call with `rescan` set; the rules are
// xenstore/local_watch.hpp's. Paths are absolute. Tokens name dom0's
// watches: EEXIST if one has `token` already; E2BIG for a path of
// LocalWatches::path_max bytes or more, or a token of token_max or more;
// ENOSPC when all are in use; else the store's own answer to the watch.
using LocalWatchFn = xenstore::LocalWatchFn;
[[nodiscard]] xenstore::Err watch_local(const char* path, const char* token, LocalWatchFn fn, void* ctx);
// ENOENT if no local watch has this path and token.
[[nodiscard]] xenstore::Err unwatch_local(const char* path, const char* token);

} // namespace dom0::xenstored
