// blkif request checks for dom0's back end: see blkif_request.hpp.
#include "dom0/block/blkif_request.hpp"

namespace dom0::block {

const char* to_string(RequestError e)
{
    switch (e) {
    case RequestError::none: return "ok";
    case RequestError::unsupported: return "operation not supported";
    case RequestError::bad_segments: return "bad number of segments";
    case RequestError::bad_segment: return "bad segment (first_sect/last_sect)";
    case RequestError::beyond_disk: return "sectors beyond the end of the disk";
    case RequestError::read_only: return "write to a read-only disk";
    }
    return "?";
}

RequestError decode(const blkif::Entry& slot, bool writable, Decoded& out)
{
    out = Decoded{};
    out.operation = slot.req.operation;
    out.id = slot.req.id;   // at offset 8 in every request layout
    out.sector = slot.req.sector_number;
    switch (slot.req.operation) {
    case blkif::op_read:
    case blkif::op_write:
    case blkif::op_flush_diskcache: {
        out.op = slot.req.operation == blkif::op_read ? Op::read : Op::write;
        out.nr_segments = slot.req.nr_segments;
        if (slot.req.operation == blkif::op_flush_diskcache) {
            // Linux's blkfront sends a flush with data for REQ_FUA writes.
            if (out.nr_segments == 0) out.op = Op::flush;
            else out.flush_after = true;
        } else if (out.nr_segments == 0) {
            return RequestError::bad_segments;
        }
        if (out.nr_segments > blkif::max_segments_per_request) return RequestError::bad_segments;
        for (uint32_t i = 0; i < out.nr_segments; ++i)
            out.direct[i] = slot.req.seg[i];
        break;
    }
    case blkif::op_indirect: {
        const blkif::IndirectRequest& r = slot.ind;
        if (r.indirect_op != blkif::op_read && r.indirect_op != blkif::op_write) return RequestError::unsupported;
        out.op = r.indirect_op == blkif::op_read ? Op::read : Op::write;
        out.indirect = true;
        out.nr_segments = r.nr_segments;
        if (out.nr_segments == 0 || out.nr_segments > max_indirect_segments) return RequestError::bad_segments;
        out.nr_indirect_pages = (out.nr_segments + blkif::segments_per_indirect_page - 1) / blkif::segments_per_indirect_page;
        for (uint32_t i = 0; i < out.nr_indirect_pages; ++i) out.indirect_grefs[i] = r.indirect_grefs[i];
        break;
    }
    default:
        return RequestError::unsupported;
    }
    if (out.op != Op::read && !writable) return RequestError::read_only;
    return RequestError::none;
}

uint8_t response_operation(const blkif::Entry& slot)
{
    if (slot.req.operation == blkif::op_indirect &&
        (slot.ind.indirect_op == blkif::op_read || slot.ind.indirect_op == blkif::op_write))
        return slot.ind.indirect_op;
    return slot.req.operation;
}

RequestError check_segment(const blkif::Segment& s, Seg& out)
{
    out = Seg{s.gref, s.first_sect, s.last_sect};
    if (s.last_sect >= blkif::sectors_per_page || s.first_sect > s.last_sect) return RequestError::bad_segment;
    return RequestError::none;
}

RequestError check_range(uint64_t sector, uint64_t sectors, uint64_t disk_sectors)
{
    if (sector > disk_sectors || sectors > disk_sectors - sector) return RequestError::beyond_disk;
    return RequestError::none;
}

long unconsumed_requests(uint32_t req_prod, uint32_t req_cons, uint32_t rsp_prod_pvt, uint32_t ring_size)
{
    // Requests in flight (answered or not) can never exceed the ring.
    if (static_cast<uint32_t>(req_prod - rsp_prod_pvt) > ring_size) return -1;
    return static_cast<long>(static_cast<uint32_t>(req_prod - req_cons));
}

unsigned coalesce(const Seg* segs, uint32_t n, Run* runs, unsigned max)
{
    unsigned nr = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t secs = static_cast<uint32_t>(segs[i].last - segs[i].first) + 1;
        const bool joins = nr > 0 && i > 0 && segs[i - 1].last == blkif::sectors_per_page - 1 && segs[i].first == 0;
        if (joins) {
            runs[nr - 1].sectors += secs;
            continue;
        }
        if (nr == max) return max;
        runs[nr++] = Run{i, i * blkif::page_bytes + segs[i].first * blkif::sector_bytes, secs};
    }
    return nr;
}

}  // namespace dom0::block
