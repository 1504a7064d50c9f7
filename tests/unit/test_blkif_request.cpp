#include <catch2/catch.hpp>

#include <cstring>

#include "dom0/block/blkif_request.hpp"

using namespace dom0::block;

namespace {

blkif::Entry rw(uint8_t op, uint8_t nseg, uint64_t sector)
{
    blkif::Entry e;
    std::memset(&e, 0, sizeof e);
    e.req.operation = op;
    e.req.nr_segments = nseg;
    e.req.id = 0x1122334455667788ull;
    e.req.sector_number = sector;
    for (unsigned i = 0; i < nseg && i < blkif::max_segments_per_request; ++i)
        e.req.seg[i] = blkif::Segment{100 + i, 0, 7, 0};
    return e;
}

}  // namespace

TEST_CASE("blkif: a read or write is decoded with its id and segments", "[blkif]")
{
    Decoded d;
    REQUIRE(decode(rw(blkif::op_write, 3, 40), true, d) == RequestError::none);
    CHECK(d.op == Op::write);
    CHECK(d.id == 0x1122334455667788ull);
    CHECK(d.sector == 40);
    CHECK(d.nr_segments == 3);
    CHECK(d.direct[2].gref == 102);
    CHECK_FALSE(d.indirect);
    CHECK_FALSE(d.flush_after);
}

TEST_CASE("blkif: segment counts beyond the protocol or zero are refused", "[blkif]")
{
    Decoded d;
    CHECK(decode(rw(blkif::op_read, 0, 0), true, d) == RequestError::bad_segments);
    CHECK(decode(rw(blkif::op_read, 12, 0), true, d) == RequestError::bad_segments);
    CHECK(d.id == 0x1122334455667788ull);   // still there for the error response
    CHECK(decode(rw(blkif::op_read, 11, 0), true, d) == RequestError::none);
}

TEST_CASE("blkif: flushes, with and without data", "[blkif]")
{
    Decoded d;
    REQUIRE(decode(rw(blkif::op_flush_diskcache, 0, 0), true, d) == RequestError::none);
    CHECK(d.op == Op::flush);
    REQUIRE(decode(rw(blkif::op_flush_diskcache, 2, 8), true, d) == RequestError::none);
    CHECK(d.op == Op::write);
    CHECK(d.flush_after);
    CHECK(decode(rw(blkif::op_flush_diskcache, 0, 0), false, d) == RequestError::read_only);
}

TEST_CASE("blkif: a read-only disk refuses writes but serves reads", "[blkif]")
{
    Decoded d;
    CHECK(decode(rw(blkif::op_write, 1, 0), false, d) == RequestError::read_only);
    CHECK(decode(rw(blkif::op_read, 1, 0), false, d) == RequestError::none);
}

TEST_CASE("blkif: operations not offered get EOPNOTSUPP", "[blkif]")
{
    Decoded d;
    CHECK(decode(rw(blkif::op_discard, 0, 0), true, d) == RequestError::unsupported);
    CHECK(decode(rw(blkif::op_write_barrier, 1, 0), true, d) == RequestError::unsupported);
    CHECK(decode(rw(200, 1, 0), true, d) == RequestError::unsupported);
    CHECK(d.operation == 200);
}

TEST_CASE("blkif: indirect requests within the negotiated count", "[blkif]")
{
    blkif::Entry e;
    std::memset(&e, 0, sizeof e);
    e.ind.operation = blkif::op_indirect;
    e.ind.indirect_op = blkif::op_read;
    e.ind.nr_segments = 513;
    e.ind.id = 7;
    e.ind.indirect_grefs[0] = 30;
    e.ind.indirect_grefs[1] = 31;
    Decoded d;
    CHECK(decode(e, true, d) == RequestError::bad_segments);   // above max_indirect_segments
    e.ind.nr_segments = max_indirect_segments;
    REQUIRE(decode(e, true, d) == RequestError::none);
    CHECK(d.indirect);
    CHECK(d.nr_indirect_pages == 1);
    CHECK(d.indirect_grefs[0] == 30);
    CHECK(d.id == 7);
    CHECK(response_operation(e) == blkif::op_read);   // an indirect request is answered as its indirect_op
    e.ind.indirect_op = blkif::op_flush_diskcache;
    CHECK(decode(e, true, d) == RequestError::unsupported);
    CHECK(response_operation(e) == blkif::op_indirect);
    e.ind.indirect_op = blkif::op_write;
    e.ind.nr_segments = 0;
    CHECK(decode(e, true, d) == RequestError::bad_segments);
    e.ind.nr_segments = 20;
    CHECK(decode(e, false, d) == RequestError::read_only);
}

TEST_CASE("blkif: segments must lie in their page, first before last", "[blkif]")
{
    Seg s;
    CHECK(check_segment(blkif::Segment{1, 0, 7, 0}, s) == RequestError::none);
    CHECK(check_segment(blkif::Segment{1, 3, 3, 0}, s) == RequestError::none);
    CHECK(check_segment(blkif::Segment{1, 4, 3, 0}, s) == RequestError::bad_segment);
    CHECK(check_segment(blkif::Segment{1, 0, 8, 0}, s) == RequestError::bad_segment);
}

TEST_CASE("blkif: ranges past the end of the disk are refused, without overflow", "[blkif]")
{
    CHECK(check_range(0, 8, 8) == RequestError::none);
    CHECK(check_range(1, 8, 8) == RequestError::beyond_disk);
    CHECK(check_range(9, 0, 8) == RequestError::beyond_disk);
    CHECK(check_range(~0ull - 2, 8, 8) == RequestError::beyond_disk);
}

TEST_CASE("blkif: a req_prod beyond the ring is refused, wrap-around is not", "[blkif]")
{
    CHECK(unconsumed_requests(5, 2, 2, 32) == 3);
    CHECK(unconsumed_requests(2, 2, 2, 32) == 0);
    CHECK(unconsumed_requests(34, 2, 2, 32) == 32);
    CHECK(unconsumed_requests(35, 2, 2, 32) == -1);
    CHECK(unconsumed_requests(3, 0xfffffffe, 0xfffffffe, 32) == 5);   // indices wrap
    CHECK(unconsumed_requests(1, 5, 5, 32) == -1);                    // behind the backend
}

TEST_CASE("blkif: whole-page segments coalesce into one run", "[blkif]")
{
    Seg segs[4] = {{1, 2, 7}, {2, 0, 7}, {3, 0, 3}, {4, 0, 7}};
    Run runs[4];
    REQUIRE(coalesce(segs, 4, runs, 4) == 2);
    CHECK(runs[0].first_seg == 0);
    CHECK(runs[0].byte_offset == 2 * 512);
    CHECK(runs[0].sectors == 6 + 8 + 4);
    CHECK(runs[1].first_seg == 3);
    CHECK(runs[1].byte_offset == 3 * 4096);
    CHECK(runs[1].sectors == 8);
    Seg gaps[3] = {{1, 0, 3}, {2, 4, 7}, {3, 1, 2}};
    REQUIRE(coalesce(gaps, 3, runs, 4) == 3);
    CHECK(runs[1].byte_offset == 4096 + 4 * 512);
    CHECK(coalesce(gaps, 3, runs, 2) == 2);
}
