// dom0's own xenstore watches: their events queued (bounded) and handed to callbacks later, never from inside the store call that fired them. Pure, host-tested.
//
// The store fires a watch while it changes a node, possibly inside a write
// the watcher itself is making; so dom0's watchers are not called there.
// event() (from the store's sink, for domid 0) queues the event; deliver()
// (from xenstored's poll) calls the watchers. `path` is the node that
// changed (the watch's own path for the first event, which the store fires
// when the watch is set); both strings live only during the call. An event
// that does not fit (queue full, path of path_max bytes or more) becomes one
// call with `rescan` set and `path` the watch's own path, after the queued
// events: the watcher must then read again everything it follows below it.
// Events queued for a watch that was removed (or removed and set again)
// are not delivered. Tokens name dom0's watches: one watch per token.
#pragma once
#include <cstdint>
#include "runtime/xs_wire.hpp"
#include "store.hpp"

namespace xenstore {

using LocalWatchFn = void (*)(void* ctx, const char* path, const char* token, bool rescan);

// No constructor run needed: lives zeroed in static storage (dom0 has no global constructors).
class LocalWatches {
public:
    static constexpr uint32_t max_watches = 32, queue_len = 64, path_max = 160, token_max = 32;

    // EINVAL (no path, token or fn), E2BIG (too long), EEXIST (the token
    // is taken), ENOSPC. Add before the store's watch, whose first event
    // comes at once.
    [[nodiscard]] Err add(const char* path, const char* token, LocalWatchFn fn, void* ctx);
    // ENOENT if no watch has this path and token.
    [[nodiscard]] Err remove(const char* path, const char* token);

    void event(Str path, Str token);
    [[nodiscard]] bool pending() const;
    // The events queued when it is called (those the callbacks cause wait
    // for the next call, so a watcher that writes what it watches cannot
    // keep it here), then the rescans.
    void deliver();

    [[nodiscard]] uint32_t queued() const { return count_; }

private:
    struct Watch {
        bool used;
        bool rescan;
        uint32_t serial;   // tells this watch's queued events from an earlier one's in the slot
        LocalWatchFn fn;
        void* ctx;
        char path[path_max];
        char token[token_max];
    };
    struct Pending {
        uint8_t slot;
        uint32_t serial;
        char path[path_max];
    };
    Watch watches_[max_watches];
    Pending queue_[queue_len];
    uint32_t head_, count_;
    uint32_t serial_;
};

} // namespace xenstore
