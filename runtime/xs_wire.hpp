// Xen's xenstore wire protocol (public io/xs_wire.h): message types, the
// message header, error names and the shared ring page. Menhir's own
// rendering of the layout, shared by dom0's xenstored and every guest's
// client (runtime/xenstore). Host-testable.
#pragma once
#include <cstddef>
#include <cstdint>

namespace xenstore {

// enum xsd_sockmsg_type; the numbers are the ABI.
enum class MsgType : uint32_t {
    control = 0,   // XS_CONTROL (formerly XS_DEBUG)
    directory = 1,
    read = 2,
    get_perms = 3,
    watch = 4,
    unwatch = 5,
    transaction_start = 6,
    transaction_end = 7,
    introduce = 8,
    release = 9,
    get_domain_path = 10,
    write = 11,
    mkdir = 12,
    rm = 13,
    set_perms = 14,
    watch_event = 15,
    error = 16,
    is_domain_introduced = 17,
    resume = 18,
    set_target = 19,
    // 20 was XS_RESTRICT, withdrawn
    reset_watches = 21,
    directory_part = 22,
};

// struct xsd_sockmsg: every message starts with it, the payload follows.
struct Header {
    uint32_t type;     // MsgType
    uint32_t req_id;   // echoed in the reply
    uint32_t tx_id;    // 0: outside any transaction
    uint32_t len;      // payload bytes that follow
};
static_assert(sizeof(Header) == 16);

// XENSTORE_PAYLOAD_MAX and the path limits (XENSTORE_ABS_PATH_MAX,
// XENSTORE_REL_PATH_MAX).
inline constexpr uint32_t payload_max = 4096;
inline constexpr uint32_t abs_path_max = 3072;
inline constexpr uint32_t rel_path_max = 2048;

// struct xenstore_domain_interface: one page shared by a domain (client)
// and xenstored. The client produces req[] and consumes rsp[]; indices run
// freely and are masked with XENSTORE_RING_SIZE.
inline constexpr uint32_t ring_size = 1024;
struct RingInterface {
    char req[ring_size];
    char rsp[ring_size];
    uint32_t req_cons, req_prod;
    uint32_t rsp_cons, rsp_prod;
    uint32_t server_features;   // XENSTORE_SERVER_FEATURE_*
    uint32_t connection;        // XENSTORE_CONNECTED / XENSTORE_RECONNECT
    uint32_t error;             // XENSTORE_ERROR_*
};
static_assert(__builtin_offsetof(RingInterface, rsp) == 1024);
static_assert(__builtin_offsetof(RingInterface, req_cons) == 2048);
static_assert(__builtin_offsetof(RingInterface, req_prod) == 2052);
static_assert(__builtin_offsetof(RingInterface, rsp_cons) == 2056);
static_assert(__builtin_offsetof(RingInterface, rsp_prod) == 2060);
static_assert(__builtin_offsetof(RingInterface, server_features) == 2064);
static_assert(__builtin_offsetof(RingInterface, connection) == 2068);
static_assert(__builtin_offsetof(RingInterface, error) == 2072);
static_assert((ring_size & (ring_size - 1)) == 0, "indices are masked");

inline constexpr uint32_t feature_reconnection = 1;   // XENSTORE_SERVER_FEATURE_RECONNECTION
inline constexpr uint32_t feature_error = 2;          // XENSTORE_SERVER_FEATURE_ERROR
inline constexpr uint32_t connected = 0;              // XENSTORE_CONNECTED
inline constexpr uint32_t error_none = 0, error_comm = 1, error_ringidx = 2, error_proto = 3;   // XENSTORE_ERROR_*

// The errors xenstored sends, as the strings in an XS_ERROR payload
// (xsd_errors; EQUOTA is oxenstored's, for a quota reached).
enum class Err : uint8_t {
    none,
    einval, eacces, eexist, eisdir, enoent, enomem, enospc, eio, enotempty, enosys, erofs, ebusy,
    eagain, eisconn, e2big, eperm, equota,
};
[[nodiscard]] constexpr const char* err_name(Err e)
{
    switch (e) {
    case Err::none: return "OK";
    case Err::einval: return "EINVAL";
    case Err::eacces: return "EACCES";
    case Err::eexist: return "EEXIST";
    case Err::eisdir: return "EISDIR";
    case Err::enoent: return "ENOENT";
    case Err::enomem: return "ENOMEM";
    case Err::enospc: return "ENOSPC";
    case Err::eio: return "EIO";
    case Err::enotempty: return "ENOTEMPTY";
    case Err::enosys: return "ENOSYS";
    case Err::erofs: return "EROFS";
    case Err::ebusy: return "EBUSY";
    case Err::eagain: return "EAGAIN";
    case Err::eisconn: return "EISCONN";
    case Err::e2big: return "E2BIG";
    case Err::eperm: return "EPERM";
    case Err::equota: return "EQUOTA";
    }
    return "EINVAL";
}

// strlen (the runtime has none).
[[nodiscard]] constexpr uint32_t cstr_len(const char* s)
{
    uint32_t n = 0;
    while (s[n]) ++n;
    return n;
}

} // namespace xenstore
