// See disks.hpp.
#include "dom0/block/disks.hpp"

#include "runtime/print.hpp"

using namespace guest;

namespace dom0::block {
namespace {

PartitionTable g_tables[max_ata_disks];
MbrResult g_mbr[max_ata_disks];
bool g_done = false;

bool read_sector(void* ctx, uint64_t lba, uint8_t (&out)[mbr_sector_bytes]) {
    const auto disk = *static_cast<const unsigned*>(ctx);
    return ata::read(disk, lba, 1, out).ok();
}

// "64 MiB" for whole MiB and up, else KiB: sizes the way xl prints them.
void print_size(uint64_t sectors, char* out, size_t size) {
    if (sectors >= 2048) format(out, size, "%llu MiB", static_cast<unsigned long long>(sectors / 2048));
    else format(out, size, "%llu KiB", static_cast<unsigned long long>(sectors / 2));
}

const char* kind_name(PartitionKind k) {
    switch (k) {
    case PartitionKind::primary: return "";
    case PartitionKind::extended: return " (extended)";
    case PartitionKind::logical: return " (logical)";
    }
    return "";
}

}  // namespace

bool disks_init() {
    if (g_done) return true;
    const bool ok = ata::init();
    for (unsigned disk = 0; disk < max_ata_disks; ++disk) {
        g_tables[disk].count = 0;
        g_mbr[disk] = MbrResult{};
        if (!ata::device(disk).usable) continue;
        unsigned ctx = disk;
        g_mbr[disk] = parse_mbr(read_sector, &ctx, ata::device(disk).id.sectors, g_tables[disk]);
    }
    g_done = true;
    return ok;
}

const PartitionTable* partitions(unsigned disk) {
    if (disk >= max_ata_disks || !ata::device(disk).usable || !g_mbr[disk].ok()) return nullptr;
    return &g_tables[disk];
}

MbrResult mbr_result(unsigned disk) { return disk < max_ata_disks ? g_mbr[disk] : MbrResult{}; }

const char* to_string(OpenError e) {
    switch (e) {
    case OpenError::none: return "ok";
    case OpenError::bad_name: return "not a disk name";
    case OpenError::no_disk: return "no such disk";
    case OpenError::no_partition: return "no such partition";
    }
    return "?";
}

OpenError resolve(const char* name, Extent& out) {
    DiskRef ref;
    if (parse_disk_name(name, ref) != DiskNameError::none) return OpenError::bad_name;
    const ata::Device& d = ata::device(ref.disk);
    if (!d.usable) return OpenError::no_disk;
    if (ref.partition == 0) {
        out = Extent{ref.disk, 0, d.id.sectors};
        return OpenError::none;
    }
    const PartitionTable* t = partitions(ref.disk);
    const Partition* p = t ? t->find(ref.partition) : nullptr;
    if (!p || p->kind == PartitionKind::extended) return OpenError::no_partition;
    out = Extent{ref.disk, p->start, p->sectors};
    return OpenError::none;
}

void list_disks() {
    char name[16], size[24];
    for (unsigned disk = 0; disk < max_ata_disks; ++disk) {
        const ata::Device& d = ata::device(disk);
        if (!d.present) continue;
        (void)format_disk_name(DiskRef{static_cast<uint8_t>(disk), 0}, name, sizeof name);
        if (d.id.atapi) {
            print("dom0: %s: ATAPI device, model \"%s\" (not a disk: skipped)\n", name, d.id.model);
            continue;
        }
        if (!d.usable) {
            print("dom0: %s: ATA device, model \"%s\", not usable: %s (%u-byte sectors)\n", name, d.id.model,
                  to_string(d.id_error), d.id.logical_sector_bytes);
            continue;
        }
        print_size(d.id.sectors, size, sizeof size);
        print("dom0: %s: %llu sectors (%s), model \"%s\", lba48 %s, flush %s, sector %u/%u bytes\n", name,
              static_cast<unsigned long long>(d.id.sectors), size, d.id.model, d.id.lba48 ? "yes" : "no",
              (d.id.lba48 && d.id.flush_cache_ext) ? "ext" : (d.id.flush_cache ? "yes" : "no"),
              d.id.logical_sector_bytes, d.id.physical_sector_bytes);
        const MbrResult r = g_mbr[disk];
        if (!r.ok()) {
            if (r.error == MbrError::no_signature && r.partition == 0)
                print("dom0: %s: no partition table\n", name);
            else if (r.error == MbrError::overlap)
                print("dom0: %s: partition table refused: partition %u overlaps partition %u\n", name, r.partition,
                      r.other);
            else
                print("dom0: %s: partition table refused: partition %u: %s\n", name, r.partition, to_string(r.error));
            continue;
        }
        const PartitionTable& t = g_tables[disk];
        for (size_t i = 0; i < t.count; ++i) {
            const Partition& p = t.part[i];
            (void)format_disk_name(DiskRef{static_cast<uint8_t>(disk), p.number}, name, sizeof name);
            print_size(p.sectors, size, sizeof size);
            print("dom0: %s: start %llu, %llu sectors (%s), type 0x%02x%s\n", name,
                  static_cast<unsigned long long>(p.start), static_cast<unsigned long long>(p.sectors), size, p.type,
                  kind_name(p.kind));
        }
    }
}

}  // namespace dom0::block
