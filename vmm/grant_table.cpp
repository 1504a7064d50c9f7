#include "vmm/grant_table.hpp"

namespace menhir::grant {
namespace {

using xen::GrantEntryV1;

// flags and domid form the entry's first 32-bit word (flags in the low half
// on x86); the hypervisor and the granter both update them with one
// compare-and-swap of that word, so a check of flags and domid and the
// setting of a status bit happen as one step.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__);
static_assert(__builtin_offsetof(GrantEntryV1, flags) == 0 && __builtin_offsetof(GrantEntryV1, domid) == 2);
typedef uint32_t __attribute__((may_alias)) HeaderWord;

HeaderWord* header(GrantEntryV1& e) { return reinterpret_cast<HeaderWord*>(&e); }
constexpr uint16_t flags_of(uint32_t word) { return static_cast<uint16_t>(word); }
constexpr uint16_t domid_of(uint32_t word) { return static_cast<uint16_t>(word >> 16); }

void clear_flags(GrantEntryV1& e, uint16_t bits)
{
    __atomic_fetch_and(&e.flags, static_cast<uint16_t>(~bits), __ATOMIC_SEQ_CST);
}

} // namespace

int16_t detail::pin_hooked(Granter& g, GrantEntryV1* entries, uint32_t ref, uint16_t mapper, bool readonly,
                           uint32_t& frame_out, CasHook hook, void* ctx)
{
    if (ref >= g.nr_entries())
        return xen::gntst_bad_gntref;
    Active& act = g.active[ref];
    const bool pinned = act.readers != 0 || act.writers != 0;
    if (pinned && act.mapper != mapper)
        return xen::gntst_general_error;
    uint32_t& count = readonly ? act.readers : act.writers;
    if (count == UINT32_MAX)
        return xen::gntst_general_error;

    // Re-checked on every attempt: a failed swap means the granter changed the
    // entry, perhaps revoking or narrowing the grant.
    GrantEntryV1& e = entries[ref];
    const uint16_t status = readonly ? xen::gtf_reading : static_cast<uint16_t>(xen::gtf_reading | xen::gtf_writing);
    uint32_t word = __atomic_load_n(header(e), __ATOMIC_ACQUIRE);
    for (uint32_t attempt = 0;; ++attempt) {
        const uint16_t flags = flags_of(word);
        // Xen answers both with GNTST_general_error ("bad flags or dom",
        // "attempt to write-pin a r/o grant entry").
        if ((flags & xen::gtf_type_mask) != xen::gtf_permit_access || domid_of(word) != mapper)
            return xen::gntst_general_error;
        if (!readonly && (flags & xen::gtf_readonly))
            return xen::gntst_general_error;
        if (attempt == max_cas_retries)
            return xen::gntst_general_error;
        if (hook)
            hook(e, ctx);
        if (__atomic_compare_exchange_n(header(e), &word, word | status, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_ACQUIRE))
            break;
    }

    // With the status bits set the granter may no longer change the frame.
    const uint32_t frame = __atomic_load_n(&e.frame, __ATOMIC_ACQUIRE);
    if (pinned && frame != act.frame) {
        // The granter broke the rules while the ref was pinned: keep using
        // the frame pinned first, refuse the new pin, and take back the
        // GTF_writing it may have added.
        if (!readonly && act.writers == 0)
            clear_flags(e, xen::gtf_writing);
        return xen::gntst_general_error;
    }
    if (!pinned) {
        act.mapper = mapper;
        act.frame = frame;
    }
    ++count;
    frame_out = act.frame;
    return xen::gntst_okay;
}

int16_t pin(Granter& g, GrantEntryV1* entries, uint32_t ref, uint16_t mapper, bool readonly, uint32_t& frame_out)
{
    return detail::pin_hooked(g, entries, ref, mapper, readonly, frame_out, nullptr, nullptr);
}

bool unpin(Granter& g, GrantEntryV1* entries, uint32_t ref, bool readonly)
{
    if (ref >= g.nr_entries())
        return false;
    Active& act = g.active[ref];
    uint32_t& count = readonly ? act.readers : act.writers;
    if (count == 0)
        return false;
    --count;
    uint16_t clear = 0;
    if (act.writers == 0)
        clear |= xen::gtf_writing;
    if (act.readers == 0 && act.writers == 0) {
        clear |= xen::gtf_reading;
        act = Active{};
    }
    // One atomic AND: the granter may be writing the entry too, and clearing
    // bits cannot be refused, so no retry is needed.
    clear_flags(entries[ref], clear);
    return true;
}

int64_t Maptrack::add(const Mapping& m)
{
    for (uint32_t h = 0; h < max_maptrack; ++h) {
        if (map[h].used)
            continue;
        map[h] = m;
        map[h].used = true;
        return h;
    }
    return -1;
}

const Mapping* Maptrack::find(uint32_t handle) const
{
    if (handle >= max_maptrack || !map[handle].used)
        return nullptr;
    return &map[handle];
}

int16_t Maptrack::remove(uint32_t handle, uint64_t gpa, Mapping& out)
{
    if (handle >= max_maptrack || !map[handle].used)
        return xen::gntst_bad_handle;
    if (map[handle].gpa != gpa)
        return xen::gntst_general_error;
    out = map[handle];
    map[handle] = Mapping{};
    return xen::gntst_okay;
}

bool Maptrack::mapped_at(uint64_t gpa) const
{
    for (const Mapping& m : map)
        if (m.used && m.gpa == gpa)
            return true;
    return false;
}

int16_t check_copy(const xen::GnttabCopy& op)
{
    if (op.source.offset + uint32_t{op.len} > page_size || op.dest.offset + uint32_t{op.len} > page_size)
        return xen::gntst_bad_copy_arg;
    if (!(op.flags & xen::gntcopy_source_gref) && op.source.domid != xen::domid_self)
        return xen::gntst_permission_denied;
    if (!(op.flags & xen::gntcopy_dest_gref) && op.dest.domid != xen::domid_self)
        return xen::gntst_permission_denied;
    return xen::gntst_okay;
}

} // namespace menhir::grant
