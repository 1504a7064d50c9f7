#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "dom0/block/mbr.hpp"

using namespace dom0::block;

namespace {

// A sparse in-memory disk: sectors not written read as zeros.
struct Image {
    uint64_t sectors{131072};
    std::map<uint64_t, std::vector<uint8_t>> data;
    int reads{0};
    uint64_t fail_at{~0ull};

    std::vector<uint8_t>& sector(uint64_t lba) {
        auto& s = data[lba];
        s.resize(512);
        return s;
    }
    void sign(uint64_t lba) {
        sector(lba)[510] = 0x55;
        sector(lba)[511] = 0xaa;
    }
    void entry(uint64_t lba, int slot, uint8_t type, uint32_t start, uint32_t count, uint8_t status = 0) {
        uint8_t* e = sector(lba).data() + 446 + 16 * slot;
        e[0] = status;
        e[4] = type;
        for (int i = 0; i < 4; ++i) {
            e[8 + i] = static_cast<uint8_t>(start >> (8 * i));
            e[12 + i] = static_cast<uint8_t>(count >> (8 * i));
        }
        sign(lba);
    }
    static bool read(void* ctx, uint64_t lba, uint8_t (&out)[512]) {
        auto* img = static_cast<Image*>(ctx);
        ++img->reads;
        if (lba == img->fail_at || lba >= img->sectors) return false;
        auto it = img->data.find(lba);
        if (it == img->data.end()) std::memset(out, 0, 512);
        else std::memcpy(out, it->second.data(), 512);
        return true;
    }
    MbrResult parse(PartitionTable& t) { return parse_mbr(read, this, sectors, t); }
};

}  // namespace

TEST_CASE("mbr: one primary partition, as scripts/run makes it") {
    Image img;
    img.entry(0, 0, 0x83, 2048, 129024, 0x80);
    PartitionTable t;
    REQUIRE(img.parse(t).ok());
    REQUIRE(t.count == 1);
    CHECK(t.part[0].number == 1);
    CHECK(t.part[0].type == 0x83);
    CHECK(t.part[0].bootable);
    CHECK(t.part[0].kind == PartitionKind::primary);
    CHECK(t.part[0].start == 2048);
    CHECK(t.part[0].sectors == 129024);
    CHECK(t.find(1) == &t.part[0]);
    CHECK(t.find(2) == nullptr);
}

TEST_CASE("mbr: slots keep their numbers; empty slots are skipped") {
    Image img;
    img.entry(0, 1, 0x83, 2048, 1000);
    img.entry(0, 3, 0x0c, 4096, 1000);
    img.entry(0, 2, 0x00, 8192, 1000);   // type 0: empty
    img.entry(0, 0, 0x83, 9000, 0);      // no sectors: empty
    PartitionTable t;
    REQUIRE(img.parse(t).ok());
    REQUIRE(t.count == 2);
    CHECK(t.part[0].number == 2);
    CHECK(t.part[1].number == 4);
    CHECK(t.part[1].type == 0x0c);
}

TEST_CASE("mbr: signature required") {
    Image img;
    img.entry(0, 0, 0x83, 2048, 1000);
    img.sector(0)[511] = 0x00;
    PartitionTable t;
    const MbrResult r = img.parse(t);
    CHECK(r.error == MbrError::no_signature);
    CHECK(t.count == 0);

    Image blank;   // all zeros: no table at all
    CHECK(blank.parse(t).error == MbrError::no_signature);
    Image unreadable;
    unreadable.fail_at = 0;
    CHECK(unreadable.parse(t).error == MbrError::read_failed);
}

TEST_CASE("mbr: a signed table with no entries is an empty, valid table") {
    Image img;
    img.sign(0);
    PartitionTable t;
    REQUIRE(img.parse(t).ok());
    CHECK(t.count == 0);
}

TEST_CASE("mbr: refused entries name the partition and leave the table empty") {
    PartitionTable t;
    {
        Image img;
        img.entry(0, 0, 0x83, 2048, 1000);
        img.entry(0, 1, 0x83, 2500, 1000);
        const MbrResult r = img.parse(t);
        CHECK(r.error == MbrError::overlap);
        CHECK(r.partition == 2);
        CHECK(r.other == 1);
        CHECK(t.count == 0);
    }
    {
        Image img;   // touching is fine: 2048+1000 == 3048
        img.entry(0, 0, 0x83, 2048, 1000);
        img.entry(0, 1, 0x83, 3048, 1000);
        CHECK(img.parse(t).ok());
        CHECK(t.count == 2);
    }
    {
        Image img;
        img.entry(0, 0, 0x83, 2048, 131072 - 2048 + 1);   // one sector too many
        const MbrResult r = img.parse(t);
        CHECK(r.error == MbrError::beyond_disk);
        CHECK(r.partition == 1);
    }
    {
        Image img;
        img.entry(0, 0, 0x83, 2048, 131072 - 2048);   // exactly to the end
        CHECK(img.parse(t).ok());
    }
    {
        Image img;
        img.entry(0, 2, 0x83, 0xffffffffu, 0xffffffffu);   // 32-bit wrap must not pass
        CHECK(img.parse(t).error == MbrError::beyond_disk);
    }
    {
        Image img;
        img.entry(0, 0, 0x83, 0, 100);
        CHECK(img.parse(t).error == MbrError::overlaps_mbr);
    }
    {
        Image img;
        img.entry(0, 0, 0x83, 2048, 100, 0x12);
        const MbrResult r = img.parse(t);
        CHECK(r.error == MbrError::bad_status);
        CHECK(r.partition == 1);
    }
    CHECK(std::strlen(to_string(MbrError::overlap)) > 0);
}

TEST_CASE("mbr: logical partitions through an EBR chain") {
    Image img;
    img.entry(0, 0, 0x83, 2048, 10000);
    img.entry(0, 1, 0x05, 20000, 50000);          // extended: 20000..70000
    img.entry(20000, 0, 0x83, 63, 1000);           // hdb5 at 20063
    img.entry(20000, 1, 0x05, 2000, 3000);         // next EBR at 22000
    img.entry(22000, 0, 0x82, 100, 2000);          // hdb6 at 22100
    PartitionTable t;
    const MbrResult r = img.parse(t);
    REQUIRE(r.ok());
    REQUIRE(t.count == 4);
    const Partition* ext = t.find(2);
    REQUIRE(ext);
    CHECK(ext->kind == PartitionKind::extended);
    const Partition* l5 = t.find(5);
    const Partition* l6 = t.find(6);
    REQUIRE(l5);
    REQUIRE(l6);
    CHECK(l5->kind == PartitionKind::logical);
    CHECK(l5->start == 20063);
    CHECK(l5->sectors == 1000);
    CHECK(l6->start == 22100);
    CHECK(l6->type == 0x82);
}

TEST_CASE("mbr: bad EBR chains are refused") {
    PartitionTable t;
    {
        Image img;   // a link pointing back to the first EBR: a loop
        img.entry(0, 0, 0x05, 2048, 50000);
        img.entry(2048, 0, 0x83, 63, 100);
        img.entry(2048, 1, 0x05, 0, 100);
        CHECK(img.parse(t).error == MbrError::logical_outside);
    }
    {
        Image img;   // a logical partition leaving the extended one
        img.entry(0, 0, 0x05, 2048, 1000);
        img.entry(2048, 0, 0x83, 63, 1000);
        const MbrResult r = img.parse(t);
        CHECK(r.error == MbrError::logical_outside);
        CHECK(r.partition == 5);
    }
    {
        Image img;   // two logicals overlapping
        img.entry(0, 0, 0x05, 2048, 50000);
        img.entry(2048, 0, 0x83, 63, 5000);
        img.entry(2048, 1, 0x05, 1000, 5000);
        img.entry(3048, 0, 0x83, 10, 100);
        const MbrResult r = img.parse(t);
        CHECK(r.error == MbrError::overlap);
        CHECK(r.partition == 6);
        CHECK(r.other == 5);
    }
    {
        Image img;   // a chain longer than the limit, always moving forward
        img.entry(0, 0, 0x05, 2048, 100000);
        for (uint32_t i = 0; i < 20; ++i) {
            img.entry(2048 + 100 * i, 0, 0x83, 1, 10);
            img.entry(2048 + 100 * i, 1, 0x05, 100 * (i + 1), 100);
        }
        CHECK(img.parse(t).error == MbrError::too_many_logical);
        CHECK(img.reads <= 1 + static_cast<int>(max_logical_partitions));
    }
    {
        Image img;   // an unsigned EBR
        img.entry(0, 0, 0x05, 2048, 1000);
        CHECK(img.parse(t).error == MbrError::no_signature);
    }
    {
        Image img;
        img.entry(0, 0, 0x05, 2048, 1000);
        img.entry(0, 1, 0x0f, 4000, 1000);
        CHECK(img.parse(t).error == MbrError::two_extended);
    }
}
