#include <catch2/catch.hpp>

#include <string>

#include "dom0/block/disk_spec.hpp"

using namespace dom0::block;

namespace {

struct Result {
    bool ok;
    DiskSpec spec;
    std::string err;
};

Result parse(const char* s) {
    Result r{};
    char err[160];
    r.ok = parse_disk_spec(s, r.spec, err, sizeof err);
    r.err = r.ok ? "" : err;
    return r;
}

uint32_t devid(const char* vdev) {
    uint32_t d = 0;
    return vdev_to_devid(vdev, d) ? d : 0xdeadbeefu;
}

void check_spec(const char* s, const char* target, const char* vdev, uint32_t id, bool writable) {
    INFO(s);
    const Result r = parse(s);
    REQUIRE(r.ok);
    CHECK(std::string(r.spec.target) == target);
    CHECK(std::string(r.spec.vdev) == vdev);
    CHECK(r.spec.devid == id);
    CHECK(r.spec.writable == writable);
}

void check_refused(const char* s, const char* why) {
    INFO(s);
    const Result r = parse(s);
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.err, Catch::Contains(why));
}

}  // namespace

TEST_CASE("disk spec: the classic deprecated form is target, vdev, access") {
    check_spec("phy:/dev/hdb1,xvda,w", "/dev/hdb1", "xvda", 51712, true);
    check_spec("phy:/dev/hdb1,xvdb,r", "/dev/hdb1", "xvdb", 51728, false);
    check_spec("file:/dev/hdb,xvda,ro", "/dev/hdb", "xvda", 51712, false);
    check_spec("tap:aio:/dev/hdb2,xvdc,rw", "/dev/hdb2", "xvdc", 51744, true);
    check_spec("raw:/dev/hdb1,hda,w", "/dev/hdb1", "hda", 768, true);
    check_spec("phy:/dev/hdb1,xvda:disk,w", "/dev/hdb1", "xvda", 51712, true);
}

TEST_CASE("disk spec: the positional order is target, format, vdev, access") {
    check_spec("/dev/hdb1,raw,xvda,rw", "/dev/hdb1", "xvda", 51712, true);
    check_spec("/dev/hdb1,,xvda", "/dev/hdb1", "xvda", 51712, true);
    check_spec("/dev/hdb1,,xvda,r", "/dev/hdb1", "xvda", 51712, false);
    check_spec("/dev/hdb1, raw, xvdb, ro", "/dev/hdb1", "xvdb", 51728, false);
    // Without a prefix the second value is the format, so a vdev there is refused.
    check_refused("/dev/hdb1,xvda,w", "unknown value for format: 'xvda'");
    check_refused("/dev/hdb1,raw,xvda,w,extra", "too many positional parameters");
}

TEST_CASE("disk spec: key=value form, and mixes as xl takes them") {
    check_spec("format=raw, vdev=xvda, access=w, target=/dev/hdb1", "/dev/hdb1", "xvda", 51712, true);
    check_spec("vdev=xvda,access=ro,format=raw,backendtype=phy,target=/dev/hdb1", "/dev/hdb1", "xvda", 51712, false);
    // target= first swallows the rest, so there is no vdev: as in xl, it goes last.
    check_refused("target=/dev/hdb1,vdev=xvda,access=ro", "no vdev");
    check_spec("vdev=xvdb,access=r,/dev/hdb1", "/dev/hdb1", "xvdb", 51728, false);
    check_spec("/dev/hdb1,raw,access=r,vdev=xvdb", "/dev/hdb1", "xvdb", 51728, false);
    check_spec("backendtype=phy,devtype=disk,specification=xen,backend=0,/dev/hdb1,,xvda", "/dev/hdb1", "xvda", 51712,
               true);
    check_spec("trusted,/dev/hdb1,,xvda,direct-io-safe", "/dev/hdb1", "xvda", 51712, true);
    // target= takes the rest of the string, commas included.
    check_spec("vdev=xvda,target=/dev/hdb1,", "/dev/hdb1", "xvda", 51712, true);
    const Result r = parse("vdev=xvda,target=/dev/hdb1,access=r");
    REQUIRE(r.ok);
    CHECK(std::string(r.spec.target) == "/dev/hdb1,access=r");
    CHECK(r.spec.writable);
    // A target that is not a path is one under /dev, as in xl.
    check_spec("hdb1,raw,xvda", "/dev/hdb1", "xvda", 51712, true);
}

TEST_CASE("disk spec: what dom0 cannot serve is refused by name") {
    check_refused("/dev/hdb1,qcow2,xvda", "format 'qcow2' is not supported");
    check_refused("format=vhd,vdev=xvda,target=/dev/hdb1", "format 'vhd' is not supported");
    check_refused("qcow2:/dev/hdb1,xvda,w", "format 'qcow2' is not supported");
    check_refused("/dev/hdb1,foo,xvda", "unknown value for format: 'foo'");
    check_refused("backendtype=qdisk,/dev/hdb1,,xvda", "backendtype 'qdisk' is not supported");
    check_refused("backendtype=zzz,/dev/hdb1,,xvda", "unknown value for backendtype");
    check_refused("/dev/hdb1,,xvda,cdrom", "cdrom");
    check_refused("devtype=cdrom,/dev/hdb1,,xvda", "cdrom");
    check_refused(",hdc:cdrom,r", "cdrom");
    check_refused("backend=driverdom,/dev/hdb1,,xvda", "backend 'driverdom' is not supported");
    check_refused("script=block-iscsi,/dev/hdb1,,xvda", "block scripts are not supported");
    check_refused("iscsi:/dev/hdb1,xvda,w", "block scripts are not supported");
    check_refused("frob=1,/dev/hdb1,,xvda", "unknown parameter: 'frob'");
    check_refused("foo:/dev/hdb1,xvda,w", "unknown deprecated disk prefix: 'foo:'");
}

TEST_CASE("disk spec: bad access, vdev, target and repeats") {
    check_refused("phy:/dev/hdb1,xvda,q", "unknown value for access: 'q'");
    check_refused("access=x,/dev/hdb1,,xvda", "unknown value for access: 'x'");
    check_refused("phy:/dev/hdb1,floppy,w", "bad vdev: 'floppy'");
    check_refused("phy:/dev/hdb1,xvda:tape,w", "unknown deprecated type: 'tape'");
    check_refused("phy:/dev/hdb1", "no vdev");
    check_refused("vdev=xvda,access=w", "no target");
    check_refused("", "no target");
    check_refused("vdev=xvda,vdev=xvdb,target=/dev/hdb1", "vdev respecified: 'xvdb'");
    check_refused("/dev/hdb1,raw,xvda,w,target=/dev/hdb2", "target respecified");
    check_refused("phy:/dev/hdb1,xvda,w,z", "too many positional parameters: 'z'");
    std::string longt = "phy:/dev/" + std::string(80, 'x') + ",xvda,w";
    check_refused(longt.c_str(), "target too long");
    // Nothing half-filled is left behind on a refusal.
    const Result r = parse("phy:/dev/hdb1,floppy,w");
    CHECK(r.spec.target[0] == '\0');
}

TEST_CASE("vdev numbers as xen-vbd-interface(7) gives them") {
    CHECK(devid("xvda") == 51712);
    CHECK(devid("xvdb") == 51728);
    CHECK(devid("xvda1") == 51713);
    CHECK(devid("xvdb2") == (202u << 8 | 1u << 4 | 2u));
    CHECK(devid("xvdp15") == (202u << 8 | 15u << 4 | 15u));
    // Past 15 disks or partitions: the 1<<28 form.
    CHECK(devid("xvdq") == (1u << 28 | 16u << 8));
    CHECK(devid("xvda16") == (1u << 28 | 16u));
    CHECK(devid("xvdz") == (1u << 28 | 25u << 8));
    CHECK(devid("xvdaa") == (1u << 28 | 26u << 8));
    CHECK(devid("xvdtq37") == (1u << 28 | 536u << 8 | 37u));   // the man page's example
    CHECK(devid("d536p37") == (1u << 28 | 536u << 8 | 37u));
    CHECK(devid("d0") == 51712);
    CHECK(devid("d0p0") == 51712);
    CHECK(devid("d1p2") == (202u << 8 | 1u << 4 | 2u));
    // IDE: majors 3 and 22, 64 minors a disk.
    CHECK(devid("hda") == 768);
    CHECK(devid("hdb") == (3u << 8 | 64u));
    CHECK(devid("hdc2") == (22u << 8 | 2u));
    CHECK(devid("hdd63") == (22u << 8 | 64u | 63u));
    // SCSI: major 8, 16 minors a disk.
    CHECK(devid("sda") == 2048);
    CHECK(devid("sdb3") == (8u << 8 | 1u << 4 | 3u));
    CHECK(devid("sdp15") == (8u << 8 | 15u << 4 | 15u));
    // A number is the devid itself.
    CHECK(devid("51712") == 51712);
    CHECK(devid("0xca00") == 51712);
    CHECK(devid("0145000") == 51712);
}

TEST_CASE("vdev names out of range or malformed are refused") {
    for (const char* bad : {"", "xvd", "xvdA", "xvda0", "xvda01", "xvda256", "hde", "hda64", "sdq", "sda16", "vda",
                            "xvda1x", "d", "dp1", "d1p", "d01", "d1048576", "0x", "0x20000000", "12ab", "08"}) {
        INFO(bad);
        uint32_t d = 0;
        CHECK_FALSE(vdev_to_devid(bad, d));
    }
    uint32_t d = 0;
    CHECK_FALSE(vdev_to_devid(nullptr, d));
    CHECK(devid("d1048575p255") == (1u << 28 | 1048575u << 8 | 255u));
}
