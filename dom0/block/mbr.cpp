// See mbr.hpp. Layout: the partition entries are 16 bytes each at offsets
// 446, 462, 478, 494 (status, CHS start, type, CHS end, LBA start, sector
// count, little-endian), the signature bytes 0x55 0xAA at offsets 510-511.
// In an EBR, entry 0 is the logical partition (start relative to that EBR)
// and entry 1 the link to the next EBR (start relative to the extended
// partition's first sector). CHS fields are ignored: LBA is authoritative.
#include "dom0/block/mbr.hpp"

namespace dom0::block {
namespace {

constexpr size_t entry_offset = 446;
constexpr size_t entry_bytes = 16;

uint32_t le32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
           static_cast<uint32_t>(p[3]) << 24;
}

struct Entry {
    uint8_t status, type;
    uint32_t start, sectors;
    [[nodiscard]] bool empty() const { return type == 0 || sectors == 0; }
};

Entry entry(const uint8_t (&s)[mbr_sector_bytes], size_t i) {
    const uint8_t* e = s + entry_offset + i * entry_bytes;
    return Entry{e[0], e[4], le32(e + 8), le32(e + 12)};
}

bool signed_sector(const uint8_t (&s)[mbr_sector_bytes]) { return s[510] == 0x55 && s[511] == 0xaa; }

bool overlaps(const Partition& a, const Partition& b) {
    return a.start < b.start + b.sectors && b.start < a.start + a.sectors;
}

MbrResult fail(PartitionTable& out, MbrError e, uint8_t partition, uint8_t other = 0) {
    out.count = 0;
    return MbrResult{e, partition, other};
}

// Checks a new entry against the disk and the partitions already accepted;
// an extended partition and the logicals inside it do not count as overlapping.
MbrResult add(PartitionTable& out, const Partition& p, uint64_t disk_sectors) {
    if (p.start == 0) return fail(out, MbrError::overlaps_mbr, p.number);
    if (p.start > disk_sectors || p.sectors > disk_sectors - p.start)
        return fail(out, MbrError::beyond_disk, p.number);
    for (size_t i = 0; i < out.count; ++i) {
        const Partition& q = out.part[i];
        const bool container = (q.kind == PartitionKind::extended && p.kind == PartitionKind::logical);
        if (!container && overlaps(p, q)) return fail(out, MbrError::overlap, p.number, q.number);
    }
    out.part[out.count++] = p;
    return MbrResult{};
}

}  // namespace

const Partition* PartitionTable::find(unsigned number) const {
    for (size_t i = 0; i < count; ++i)
        if (part[i].number == number) return &part[i];
    return nullptr;
}

const char* to_string(MbrError e) {
    switch (e) {
    case MbrError::none: return "ok";
    case MbrError::read_failed: return "a sector of the table could not be read";
    case MbrError::no_signature: return "no 0x55AA boot signature";
    case MbrError::bad_status: return "status byte is neither 0x00 nor 0x80";
    case MbrError::overlaps_mbr: return "starts at sector 0, over the MBR";
    case MbrError::beyond_disk: return "ends beyond the end of the disk";
    case MbrError::overlap: return "overlaps another partition";
    case MbrError::two_extended: return "a second extended partition";
    case MbrError::logical_outside: return "lies outside its extended partition";
    case MbrError::too_many_logical: return "too many logical partitions (or an EBR loop)";
    }
    return "?";
}

MbrResult parse_mbr(ReadSector read, void* ctx, uint64_t disk_sectors, PartitionTable& out) {
    out.count = 0;
    static uint8_t sector[mbr_sector_bytes];   // dom0 has one thread; keeps 512 bytes off its stack
    if (!read(ctx, 0, sector)) return fail(out, MbrError::read_failed, 0);
    if (!signed_sector(sector)) return fail(out, MbrError::no_signature, 0);

    const Partition* extended = nullptr;
    for (size_t i = 0; i < 4; ++i) {
        const Entry e = entry(sector, i);
        const auto number = static_cast<uint8_t>(i + 1);
        if (e.empty()) continue;
        if (e.status != 0x00 && e.status != 0x80) return fail(out, MbrError::bad_status, number);
        Partition p{number, e.type, e.status == 0x80,
                    is_extended_type(e.type) ? PartitionKind::extended : PartitionKind::primary, e.start, e.sectors};
        if (p.kind == PartitionKind::extended && extended) return fail(out, MbrError::two_extended, number);
        if (const MbrResult r = add(out, p, disk_sectors); !r.ok()) return r;
        if (p.kind == PartitionKind::extended) extended = &out.part[out.count - 1];
    }
    if (!extended) return MbrResult{};

    // Follow the EBR chain. Each link must point strictly forward inside the
    // extended partition, so a chain ends (a loop would point backwards).
    const uint64_t ext_start = extended->start, ext_end = extended->start + extended->sectors;
    uint64_t ebr = ext_start;
    for (size_t n = 0;; ++n) {
        const auto number = static_cast<uint8_t>(5 + n);
        if (n == max_logical_partitions) return fail(out, MbrError::too_many_logical, number);
        if (!read(ctx, ebr, sector)) return fail(out, MbrError::read_failed, number);
        if (!signed_sector(sector)) return fail(out, MbrError::no_signature, number);
        const Entry l = entry(sector, 0), link = entry(sector, 1);
        if (!l.empty()) {
            if (l.status != 0x00 && l.status != 0x80) return fail(out, MbrError::bad_status, number);
            const Partition p{number, l.type, l.status == 0x80, PartitionKind::logical, ebr + l.start, l.sectors};
            // Past the disk first (the clearer reason), then inside the container.
            if (p.start > disk_sectors || p.sectors > disk_sectors - p.start)
                return fail(out, MbrError::beyond_disk, number);
            if (l.start == 0 || p.start + p.sectors > ext_end) return fail(out, MbrError::logical_outside, number);
            if (const MbrResult r = add(out, p, disk_sectors); !r.ok()) return r;
        }
        if (link.empty()) return MbrResult{};
        const uint64_t next = ext_start + link.start;
        if (next <= ebr || next >= ext_end) return fail(out, MbrError::logical_outside, static_cast<uint8_t>(number + 1));
        ebr = next;
    }
}

}  // namespace dom0::block
