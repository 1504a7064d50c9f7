#include <catch2/catch.hpp>

#include <string>

#include "dom0/block/disk_name.hpp"

using namespace dom0::block;

namespace {

std::string name(uint8_t disk, uint8_t part) {
    char buf[16];
    const size_t n = format_disk_name(DiskRef{disk, part}, buf, sizeof buf);
    return n ? std::string(buf, n) : std::string("<none>");
}

}  // namespace

TEST_CASE("disk names: hda..hdd by channel and drive") {
    CHECK(name(0, 0) == "/dev/hda");
    CHECK(name(1, 0) == "/dev/hdb");
    CHECK(name(2, 0) == "/dev/hdc");
    CHECK(name(3, 0) == "/dev/hdd");
    CHECK(name(1, 1) == "/dev/hdb1");
    CHECK(name(1, 5) == "/dev/hdb5");
    CHECK(name(3, 63) == "/dev/hdd63");
    CHECK(name(4, 0) == "<none>");
    CHECK(name(0, 64) == "<none>");
    CHECK(disk_channel(1) == 0);
    CHECK(disk_is_slave(1));
    CHECK(disk_channel(2) == 1);
    CHECK_FALSE(disk_is_slave(2));
    char small[4];
    CHECK(format_disk_name(DiskRef{1, 1}, small, sizeof small) == 0);
}

TEST_CASE("disk names: parsing") {
    DiskRef r;
    REQUIRE(parse_disk_name("/dev/hdb1", r) == DiskNameError::none);
    CHECK(r.disk == 1);
    CHECK(r.partition == 1);
    REQUIRE(parse_disk_name("hdc", r) == DiskNameError::none);
    CHECK(r.disk == 2);
    CHECK(r.partition == 0);
    REQUIRE(parse_disk_name("/dev/hda12", r) == DiskNameError::none);
    CHECK(r.disk == 0);
    CHECK(r.partition == 12);
    REQUIRE(parse_disk_name("/dev/hdd63", r) == DiskNameError::none);
    CHECK(r.partition == 63);

    CHECK(parse_disk_name("/dev/hde", r) == DiskNameError::bad_letter);
    CHECK(parse_disk_name("/dev/sda1", r) == DiskNameError::not_hd);
    CHECK(parse_disk_name("/dev/hd", r) == DiskNameError::not_hd);
    CHECK(parse_disk_name("/dev/hdB", r) == DiskNameError::not_hd);
    CHECK(parse_disk_name("/dev/hdb0", r) == DiskNameError::bad_partition);
    CHECK(parse_disk_name("/dev/hdb01", r) == DiskNameError::bad_partition);
    CHECK(parse_disk_name("/dev/hdb64", r) == DiskNameError::bad_partition);
    CHECK(parse_disk_name("/dev/hdb1x", r) == DiskNameError::bad_partition);
    CHECK(parse_disk_name("/dev/hdb100", r) == DiskNameError::too_long);
    CHECK(parse_disk_name("/devhdb1", r) == DiskNameError::not_hd);
    CHECK(parse_disk_name("", r) == DiskNameError::not_hd);
    CHECK(parse_disk_name(nullptr, r) == DiskNameError::not_hd);
    CHECK(r.disk == 0);   // left cleared on error
    CHECK(r.partition == 0);
}
