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

// dom0's own watches (its back ends follow their frontends this way).
// The store fires while it changes a node, possibly inside a write the
// watcher itself makes, so events are queued and the callback runs later,
// from poll() (pending() is true meanwhile), never from inside a store
// call. `path` is the node that changed (the watch's own path for the
// first event, which comes at once as with Xen's watches); both strings
// live only during the call. The queue is bounded (local_queue events,
// paths up to local_path_max bytes): an event that does not fit is
// replaced by one call with `rescan` set and `path` the watch's path,
// after the queued events: the watcher must then re-read everything it
// follows below that path. Events for a watch removed (or re-added)
// since they were queued are not delivered. Paths are absolute.
inline constexpr uint32_t local_watches = 32, local_queue = 64, local_path_max = 160, local_token_max = 32;
using LocalWatchFn = void (*)(void* ctx, const char* path, const char* token, bool rescan);
// EEXIST if a local watch has `token` already (tokens name watches here);
// E2BIG for a path or token too long; ENOSPC when all are in use.
[[nodiscard]] xenstore::Err watch_local(const char* path, const char* token, LocalWatchFn fn, void* ctx);
// ENOENT if no local watch has this path and token.
[[nodiscard]] xenstore::Err unwatch_local(const char* path, const char* token);

} // namespace dom0::xenstored
