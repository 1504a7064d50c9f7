// Unit tests for the xl.cfg parser (dom0/xl/config_parser): syntax, every key, errors with their lines.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dom0/xl/config_parser.hpp"

using namespace dom0::xl;

namespace {

struct Result {
    bool ok = false;
    DomainConfig cfg{};
    std::vector<std::string> lines;
    ParseStats stats{};
};

void collect(void* ctx, const char* line) { static_cast<std::vector<std::string>*>(ctx)->push_back(line); }

Result parse(const std::string& text, std::vector<std::string> overrides = {}) {
    Result r;
    std::vector<const char*> ov;
    for (const auto& o : overrides) ov.push_back(o.c_str());
    // The text is handed over without a NUL after it, as a file's bytes would be.
    std::vector<char> bytes(text.begin(), text.end());
    r.ok = parse_config(bytes.data(), bytes.size(), "t.cfg", ov.data(), static_cast<unsigned>(ov.size()), r.cfg,
                        collect, &r.lines, &r.stats);
    return r;
}

const std::string BASE = "name = \"d\"\nkernel = \"/boot/k.elf\"\n";  // lines 1-2

// One error line, exactly.
void expect_error(const std::string& text, const std::string& line, std::vector<std::string> overrides = {}) {
    Result r = parse(text, overrides);
    INFO(text);
    CHECK_FALSE(r.ok);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0] == line);
    CHECK(r.stats.errors == 1);
}

}  // namespace

TEST_CASE("xl.cfg: the demo config", "[xl_config]") {
    Result r = parse(
        "# The demo domain\n"
        "name = \"demo\"\n"
        "type = \"pvh\"\n"
        "kernel = \"/boot/hello.elf\"\n"
        "memory = 16\n"
        "vcpus = 1\n"
        "extra = \"hello from the demo domain\"\n");
    REQUIRE(r.ok);
    CHECK(r.lines.empty());
    CHECK(std::string(r.cfg.name) == "demo");
    CHECK(std::string(r.cfg.kernel) == "/boot/hello.elf");
    CHECK(std::string(r.cfg.ramdisk).empty());
    CHECK(std::string(r.cfg.cmdline) == "hello from the demo domain");
    CHECK(r.cfg.memory_mib == 16);
    CHECK(r.cfg.vcpus == 1);
    CHECK(r.cfg.maxmem_mib == 0);
    CHECK(r.cfg.cpus_mask == ~0ull);
    CHECK(r.cfg.cpu_weight == 256);
    CHECK(r.cfg.cap == 0);
    CHECK(r.cfg.nr_disks == 0);
    CHECK(r.cfg.on_poweroff == Action::destroy);
    CHECK(r.cfg.on_reboot == Action::restart);
    CHECK(r.cfg.on_crash == Action::destroy);
}

TEST_CASE("xl.cfg: every key", "[xl_config]") {
    Result r = parse(
        "name='full'\n"
        "type='pvh'\n"
        "kernel='/boot/vmlinuz'\n"
        "ramdisk='/boot/initrd.img'\n"
        "root='/dev/xvda1 ro'\n"
        "extra='console=hvc0'\n"
        "memory=256\n"
        "maxmem=512\n"
        "vcpus=2\n"
        "maxvcpus=4\n"
        "cpus='0-3,^1'\n"
        "cpu_weight=512\n"
        "cap=50\n"
        "disk=['phy:/dev/hdb1,xvda,w', 'format=raw,vdev=xvdb,access=r,target=/dev/hdb2']\n"
        "on_poweroff='preserve'\n"
        "on_reboot='destroy'\n"
        "on_crash='restart'\n");
    REQUIRE(r.ok);
    CHECK(r.lines.empty());
    CHECK(std::string(r.cfg.name) == "full");
    CHECK(std::string(r.cfg.kernel) == "/boot/vmlinuz");
    CHECK(std::string(r.cfg.ramdisk) == "/boot/initrd.img");
    CHECK(std::string(r.cfg.cmdline) == "root=/dev/xvda1 ro console=hvc0");
    CHECK(r.cfg.memory_mib == 256);
    CHECK(r.cfg.maxmem_mib == 512);
    CHECK(r.cfg.vcpus == 2);
    CHECK(r.cfg.maxvcpus == 4);
    CHECK(r.cfg.cpus_mask == 0b1101);
    CHECK(r.cfg.nr_vcpu_cpus == 0);
    CHECK(r.cfg.cpu_weight == 512);
    CHECK(r.cfg.cap == 50);
    REQUIRE(r.cfg.nr_disks == 2);
    CHECK(std::string(r.cfg.disks[0].target) == "/dev/hdb1");
    CHECK(std::string(r.cfg.disks[0].vdev) == "xvda");
    CHECK(r.cfg.disks[0].devid == 51712);
    CHECK(r.cfg.disks[0].writable);
    CHECK(std::string(r.cfg.disks[1].target) == "/dev/hdb2");
    CHECK(r.cfg.disks[1].devid == 51728);
    CHECK_FALSE(r.cfg.disks[1].writable);
    CHECK(r.cfg.on_poweroff == Action::preserve);
    CHECK(r.cfg.on_reboot == Action::destroy);
    CHECK(r.cfg.on_crash == Action::restart);
}

TEST_CASE("xl.cfg: statements, spacing, comments, semicolons", "[xl_config]") {
    Result r = parse(
        "\n"
        "   # indented comment\n"
        "name=\"x\";kernel=\"/k\" ; memory = 32 # trailing comment\n"
        "\t\tvcpus\t=\t2\t;\n"
        ";\n"
        "\n");
    REQUIRE(r.ok);
    CHECK(r.lines.empty());
    CHECK(std::string(r.cfg.name) == "x");
    CHECK(std::string(r.cfg.kernel) == "/k");
    CHECK(r.cfg.memory_mib == 32);
    CHECK(r.cfg.vcpus == 2);

    // No newline at the end of the last line; CR LF line ends; a '#' inside a string is no comment.
    r = parse("name = 'a#b'\r\nkernel = '/k'");
    REQUIRE(r.ok);
    CHECK(std::string(r.cfg.name) == "a#b");
    CHECK(std::string(r.cfg.kernel) == "/k");

    // A comment on the last line without a newline.
    r = parse(BASE + "# the end");
    CHECK(r.ok);
    CHECK(r.lines.empty());
}

TEST_CASE("xl.cfg: strings and escapes", "[xl_config]") {
    Result r = parse(BASE + "extra = \"a\\\"b\\'c\\\\d\\te\\nf\\x41\\101\\7\"\n");
    REQUIRE(r.ok);
    CHECK(std::string(r.cfg.cmdline) == "a\"b'c\\d\te\nfAA\a");
    r = parse(BASE + "extra = 'it\\'s \"quoted\"'\n");
    REQUIRE(r.ok);
    CHECK(std::string(r.cfg.cmdline) == "it's \"quoted\"");
    r = parse(BASE + "extra = ''\n");
    REQUIRE(r.ok);
    CHECK(std::string(r.cfg.cmdline).empty());
    // Numbers are strings too, and strings numbers (values are text, as in xl).
    r = parse(BASE + "extra = 42\nmemory = '64'\n");
    REQUIRE(r.ok);
    CHECK(std::string(r.cfg.cmdline) == "42");
    CHECK(r.cfg.memory_mib == 64);

    expect_error(BASE + "extra = 'a\\qb'\n", "t.cfg:3: config parsing error near `'a\\qb'': unknown backslash escape "
                                             "in quoted string");
    expect_error(BASE + "extra = '\\x4'\n", "t.cfg:3: config parsing error near `'\\x4'': invalid digit after "
                                            "backslash hex numerical character escape in quoted string");
    expect_error(BASE + "extra = 'abc\n", "t.cfg:3: config parsing error near `'abc': unterminated quoted string");
    expect_error(BASE + "extra = \"abc'\n", "t.cfg:3: config parsing error near `\"abc'': unterminated quoted string");
}

TEST_CASE("xl.cfg: numbers as strtol base 0 reads them", "[xl_config]") {
    Result r = parse(BASE + "memory = 0x40\ncpu_weight = 010\ncap = 0\n");
    REQUIRE(r.ok);
    CHECK(r.cfg.memory_mib == 64);
    CHECK(r.cfg.cpu_weight == 8);
    CHECK(r.cfg.cap == 0);
    expect_error(BASE + "memory = 0x\n", "t.cfg:3: memory: '0x' is not a valid number");
    expect_error(BASE + "memory = 09\n", "t.cfg:3: memory: '09' is not a valid number");
    expect_error(BASE + "memory = 12ab\n", "t.cfg:3: memory: '12ab' is not a valid number");
    expect_error(BASE + "memory = 'lots'\n", "t.cfg:3: memory: 'lots' is not a valid number");
    expect_error(BASE + "memory = ''\n", "t.cfg:3: memory: '' is not a valid number");
    expect_error(BASE + "memory = 99999999999999999999999\n",
                 "t.cfg:3: memory: '99999999999999999999999' is not a valid number");
    // A sign is no part of a NUMBER: xl's lexer stops there.
    expect_error(BASE + "cap = -1\n", "t.cfg:3: config parsing error near `-1': lexical error");
    expect_error(BASE + "memory = 16M\n", "t.cfg:3: config parsing error near `M': lexical error");
}

TEST_CASE("xl.cfg: ranges of the numbers", "[xl_config]") {
    expect_error(BASE + "memory = 0\n", "t.cfg:3: memory: 0 is out of range (1-1048576)");
    expect_error(BASE + "maxmem = 0\n", "t.cfg:3: maxmem: 0 is out of range (1-1048576)");
    expect_error(BASE + "vcpus = 0\n", "t.cfg:3: vcpus: 0 is out of range (1-8)");
    expect_error(BASE + "vcpus = 9\n", "t.cfg:3: vcpus: 9 is out of range (1-8)");
    expect_error(BASE + "maxvcpus = 9\n", "t.cfg:3: maxvcpus: 9 is out of range (1-8)");
    expect_error(BASE + "cpu_weight = 0\n", "t.cfg:3: cpu_weight: 0 is out of range (1-65535)");
    expect_error(BASE + "cpu_weight = 65536\n", "t.cfg:3: cpu_weight: 65536 is out of range (1-65535)");
    expect_error(BASE + "cap = 6401\n", "t.cfg:3: cap: 6401 is out of range (0-6400)");
    expect_error(BASE + "memory = 64\nmaxmem = 32\n", "t.cfg:4: maxmem (32 MiB) is less than memory (64 MiB)");
    expect_error(BASE + "vcpus = 4\nmaxvcpus = 2\n", "t.cfg:4: maxvcpus (2) is less than vcpus (4)");
    Result r = parse(BASE + "memory = 1048576\nvcpus = 8\ncpu_weight = 65535\ncap = 6400\n");
    CHECK(r.ok);
}

TEST_CASE("xl.cfg: disk entries are judged at parse time", "[xl_config]") {
    expect_error(BASE + "disk = [ 'phy:/dev/hdb1,xvda,w',\n 'phy:/dev/hdb2,xvda,r' ]\n",
                 "t.cfg:4: disk: 'phy:/dev/hdb2,xvda,r': vdev xvda is already this domain's xvda");
    expect_error(BASE + "disk = [ 'phy:/dev/hdb1,xvda,w', 'phy:/dev/hdb2,hda,r',\n 'hdb3,,51712' ]\n",
                 "t.cfg:4: disk: 'hdb3,,51712': vdev 51712 is already this domain's xvda");
    expect_error(BASE + "disk = [ 'phy:/dev/hdb1,xvda,q' ]\n",
                 "t.cfg:3: disk: 'phy:/dev/hdb1,xvda,q': unknown value for access: 'q'");
    expect_error(BASE + "disk = [ '/dev/hdb1,qcow2,xvda' ]\n",
                 "t.cfg:3: disk: '/dev/hdb1,qcow2,xvda': format 'qcow2' is not supported: dom0 serves raw disks only");
    expect_error(BASE + "disk = [ 3 ]\n", "t.cfg:3: disk: '3': no vdev (the guest's name for the disk, e.g. xvda)");
    // Only the last `disk` is judged, as xl only reads that one.
    Result r = parse(BASE + "disk = [ 'bad' ]\ndisk = [ 'phy:/dev/hdb1,xvda,w' ]\n");
    REQUIRE(r.ok);
    REQUIRE(r.cfg.nr_disks == 1);
    CHECK(r.cfg.disks[0].devid == 51712);
}

TEST_CASE("xl.cfg: lists across lines", "[xl_config]") {
    Result r = parse(BASE +
                     "disk = [\n"
                     "    'hdb1,,xvda',   # first\n"
                     "\n"
                     "    \"hdb2,,xvdb\"\n"
                     "    , 'hdb3,,xvdc',\n"
                     "]\n"
                     "memory = 8\n");
    REQUIRE(r.ok);
    CHECK(r.lines.empty());
    REQUIRE(r.cfg.nr_disks == 3);
    CHECK(std::string(r.cfg.disks[0].target) == "/dev/hdb1");
    CHECK(std::string(r.cfg.disks[1].target) == "/dev/hdb2");
    CHECK(std::string(r.cfg.disks[2].vdev) == "xvdc");
    CHECK(r.cfg.memory_mib == 8);

    r = parse(BASE + "disk = []\n");
    REQUIRE(r.ok);
    CHECK(r.cfg.nr_disks == 0);
    r = parse(BASE + "disk = [ 'phy:/dev/hda,hda,r', ]\n");
    REQUIRE(r.ok);
    CHECK(r.cfg.nr_disks == 1);

    expect_error(BASE + "disk = [ , 'a' ]\n",
                 "t.cfg:3: config parsing error near `,': syntax error, expecting a string or a number in the list");
    expect_error(BASE + "disk = [ 'a' 'b' ]\n",
                 "t.cfg:3: config parsing error near `'b'': syntax error, expecting ',' or ']'");
    expect_error(BASE + "disk = [ 'a',\n 'b'\n",
                 "t.cfg:5: config parsing error near <end of file>: syntax error, expecting ',' or ']'");
    expect_error(BASE + "disk = [ ['a'] ]\n",
                 "t.cfg:3: config parsing error near `[': syntax error, expecting a string or a number in the list");
    expect_error(BASE + "disk = 'a'\n", "t.cfg:3: disk: is a single value but should be a list");
    expect_error(BASE + "memory = [ 8 ]\n", "t.cfg:3: memory: is a list but should be a single value");
    expect_error(BASE + "name = [ 'a' ]\n", "t.cfg:3: name: is a list but should be a single value");
    expect_error(BASE + "disk = ['hdb1,,xvda','hdb1,,xvdb','hdb1,,xvdc','hdb1,,xvdd','hdb1,,xvde','hdb1,,xvdf',"
                        "'hdb1,,xvdg','hdb1,,xvdh',\n'hdb1,,xvdi']\n",
                 "t.cfg:4: disk: more than 8 disks");
    expect_error(BASE + "disk = ['" + std::string(128, 'x') + "']\n",
                 "t.cfg:3: disk: disk spec longer than 127 characters");
}

TEST_CASE("xl.cfg: syntax errors carry their line; nothing is created", "[xl_config]") {
    expect_error(BASE + "memory\n", "t.cfg:3: config parsing error near <newline>: syntax error, expecting '='");
    expect_error(BASE + "memory =\n",
                 "t.cfg:3: config parsing error near <newline>: syntax error, expecting a string, a number or '['");
    expect_error(BASE + "= 3\n", "t.cfg:3: config parsing error near `=': syntax error, expecting KEY = VALUE");
    expect_error(BASE + "memory = 8 vcpus = 1\n",
                 "t.cfg:3: config parsing error near `vcpus': syntax error, expecting a newline or ';' after the value");
    expect_error(BASE + "Memory = 8\n", "t.cfg:3: config parsing error near `Memory': lexical error");
    expect_error(BASE + "memory = (8)\n", "t.cfg:3: config parsing error near `(8)': lexical error");
    expect_error("\n\n\n\nname = 'x' + 'y'\nkernel='/k'\n",
                 "t.cfg:5: config parsing error near `+': lexical error");

    // Every bad line is reported, once each, and nothing else is judged.
    Result r = parse("name = 'a'\nmemory 8\nkernel = '/k'\nvcpus = = 2\nmemory = 'bad'\n");
    CHECK_FALSE(r.ok);
    REQUIRE(r.lines.size() == 2);
    CHECK(r.lines[0] == "t.cfg:2: config parsing error near `8': syntax error, expecting '='");
    CHECK(r.lines[1] == "t.cfg:4: config parsing error near `=': syntax error, expecting a string, a number or '['");
}

TEST_CASE("xl.cfg: name and kernel are required", "[xl_config]") {
    expect_error("kernel = '/k'\n", "t.cfg: Domain name must be specified.");
    expect_error("name = ''\nkernel = '/k'\n", "t.cfg: Domain name must be specified.");
    expect_error("name = 'n'\n", "t.cfg: kernel must be specified (a PVH domain boots the kernel file it names).");
    Result r = parse("");
    CHECK_FALSE(r.ok);
    CHECK(r.lines.size() == 2);
    expect_error(BASE + "name = '" + std::string(64, 'n') + "'\n", "t.cfg:3: name: name longer than 63 characters");
    expect_error(BASE + "kernel = '" + std::string(128, 'k') + "'\n",
                 "t.cfg:3: kernel: path longer than 127 characters");
    expect_error(BASE + "ramdisk = '" + std::string(128, 'r') + "'\n",
                 "t.cfg:3: ramdisk: path longer than 127 characters");
    r = parse(BASE + "name = '" + std::string(63, 'n') + "'\n");
    CHECK(r.ok);
    CHECK(std::string(r.cfg.name) == std::string(63, 'n'));
}

TEST_CASE("xl.cfg: type and builder", "[xl_config]") {
    CHECK(parse(BASE + "type = 'pvh'\n").ok);
    expect_error(BASE + "type = 'hvm'\n",
                 "t.cfg:3: type: \"hvm\" is not supported: Menhir runs PVH domains only (type=\"pvh\")");
    expect_error(BASE + "type = 'pv'\n",
                 "t.cfg:3: type: \"pv\" is not supported: Menhir runs PVH domains only (type=\"pvh\")");
    expect_error(BASE + "type = 'qemu'\n",
                 "t.cfg:3: type: unknown guest type \"qemu\" (Menhir runs PVH domains only: type=\"pvh\")");
    expect_error(BASE + "builder = 'hvm'\n",
                 "t.cfg:3: builder: \"hvm\" is not supported: Menhir runs PVH domains only (type=\"pvh\")");
    expect_error(BASE + "builder = 'generic'\n",
                 "t.cfg:3: builder: \"generic\" is not supported: Menhir runs PVH domains only (type=\"pvh\")");
    Result r = parse(BASE + "type = 'pvh'\nbuilder = 'hvm'\n");
    CHECK(r.ok);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0] == "t.cfg:4: warning: builder ignored, type is given");
}

TEST_CASE("xl.cfg: the kernel command line from cmdline, root and extra", "[xl_config]") {
    CHECK(std::string(parse(BASE + "root = '/dev/xvda'\n").cfg.cmdline) == "root=/dev/xvda");
    CHECK(std::string(parse(BASE + "extra = 'quiet'\n").cfg.cmdline) == "quiet");
    CHECK(std::string(parse(BASE + "extra = 'quiet'\nroot = '/dev/xvda'\n").cfg.cmdline) == "root=/dev/xvda quiet");
    Result r = parse(BASE + "root = '/dev/xvda'\ncmdline = 'init=/bin/sh'\nextra = 'x'\n");
    REQUIRE(r.ok);
    CHECK(std::string(r.cfg.cmdline) == "init=/bin/sh");
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0] == "t.cfg:4: warning: ignoring root= and extra= in favour of cmdline=");
    CHECK(std::string(parse(BASE).cfg.cmdline).empty());

    r = parse(BASE + "extra = '" + std::string(1023, 'e') + "'\n");
    CHECK(r.ok);
    expect_error(BASE + "extra = '" + std::string(1024, 'e') + "'\n",
                 "t.cfg:3: kernel command line longer than 1023 characters");
    expect_error(BASE + "extra = '" + std::string(1025, 'e') + "'\n", "t.cfg:3: extra: value too long");
    expect_error(BASE + "root = 'r'\nextra = '" + std::string(1018, 'e') + "'\n",
                 "t.cfg:4: kernel command line longer than 1023 characters");
    CHECK(parse(BASE + "root = 'r'\nextra = '" + std::string(1016, 'e') + "'\n").ok);
    expect_error(BASE + "cmdline = '" + std::string(1024, 'c') + "'\n",
                 "t.cfg:3: cmdline: command line longer than 1023 characters");
}

TEST_CASE("xl.cfg: cpus", "[xl_config]") {
    uint64_t m = 0;
    CHECK(parse_cpu_list("all", &m) == nullptr);
    CHECK(m == ~0ull);
    CHECK(parse_cpu_list("2", &m) == nullptr);
    CHECK(m == 0b100);
    CHECK(parse_cpu_list("0-3", &m) == nullptr);
    CHECK(m == 0xf);
    CHECK(parse_cpu_list("0,2-3", &m) == nullptr);
    CHECK(m == 0b1101);
    CHECK(parse_cpu_list("0-7,^5", &m) == nullptr);
    CHECK(m == 0xdf);
    CHECK(parse_cpu_list("all,^0", &m) == nullptr);
    CHECK(m == ~1ull);
    CHECK(parse_cpu_list("63", &m) == nullptr);
    CHECK(m == 1ull << 63);
    CHECK(parse_cpu_list("0-63", &m) == nullptr);
    CHECK(m == ~0ull);
    m = 7;
    CHECK(parse_cpu_list("^1", &m) != nullptr);  // selects nothing
    CHECK(parse_cpu_list("64", &m) != nullptr);
    CHECK(parse_cpu_list("3-1", &m) != nullptr);
    CHECK(parse_cpu_list("", &m) != nullptr);
    CHECK(parse_cpu_list("1,", &m) != nullptr);
    CHECK(parse_cpu_list("a", &m) != nullptr);
    CHECK(parse_cpu_list("1-", &m) != nullptr);
    CHECK(parse_cpu_list("nodes:0", &m) != nullptr);
    CHECK(m == 7);

    Result r = parse(BASE + "cpus = '1-2'\n");
    REQUIRE(r.ok);
    CHECK(r.cfg.cpus_mask == 0b110);
    r = parse(BASE + "cpus = 3\n");
    REQUIRE(r.ok);
    CHECK(r.cfg.cpus_mask == 0b1000);
    r = parse(BASE + "vcpus = 3\ncpus = ['2', \"0-1\",\n 3]\n");
    REQUIRE(r.ok);
    CHECK(r.cfg.cpus_mask == ~0ull);
    REQUIRE(r.cfg.nr_vcpu_cpus == 3);
    CHECK(r.cfg.vcpu_cpus[0] == 0b100);
    CHECK(r.cfg.vcpu_cpus[1] == 0b11);
    CHECK(r.cfg.vcpu_cpus[2] == 0b1000);

    expect_error(BASE + "cpus = '0-99'\n", "t.cfg:3: cpus: CPU number above 63");
    expect_error(BASE + "cpus = '^1'\n", "t.cfg:3: cpus: the CPU list selects no CPU");
    expect_error(BASE + "cpus = 'nodes:1'\n", "t.cfg:3: cpus: NUMA node lists (nodes:) are not supported");
    expect_error(BASE + "cpus = ['1',\n'x']\n",
                 "t.cfg:4: cpus (vCPU 1): bad CPU list (want e.g. \"all\", \"2\", \"0-3\", \"0,2-3\", \"0-7,^5\")");
    expect_error(BASE + "cpus = [0,1,2,3,4,5,6,7,8]\n", "t.cfg:3: cpus: more than 8 entries (one per vCPU)");
}

TEST_CASE("xl.cfg: on_poweroff, on_reboot, on_crash", "[xl_config]") {
    Result r = parse(BASE + "on_poweroff = 'restart'\non_reboot = 'preserve'\non_crash = 'destroy'\n");
    REQUIRE(r.ok);
    CHECK(r.cfg.on_poweroff == Action::restart);
    CHECK(r.cfg.on_reboot == Action::preserve);
    CHECK(r.cfg.on_crash == Action::destroy);
    for (const char* a : {"rename-restart", "coredump-destroy", "coredump-restart", "soft-reset"})
        expect_error(BASE + "on_crash = '" + a + "'\n",
                     std::string("t.cfg:3: on_crash: action \"") + a + "\" is not supported (destroy, restart, preserve)");
    expect_error(BASE + "on_reboot = 'explode'\n",
                 "t.cfg:3: on_reboot: unknown action \"explode\" (destroy, restart, preserve)");
    expect_error(BASE + "on_poweroff = 1\n", "t.cfg:3: on_poweroff: unknown action \"1\" (destroy, restart, preserve)");
}

TEST_CASE("xl.cfg: unknown keys are warnings", "[xl_config]") {
    Result r = parse("name = 'w'\nvif = [ 'bridge=xenbr0' ]\nkernel = '/k'\nbootloader = \"pygrub\"\n");
    CHECK(r.ok);
    REQUIRE(r.lines.size() == 2);
    CHECK(r.lines[0] == "t.cfg:2: warning: unknown key 'vif' ignored");
    CHECK(r.lines[1] == "t.cfg:4: warning: unknown key 'bootloader' ignored");
    CHECK(r.stats.warnings == 2);
    CHECK(r.stats.errors == 0);
}

TEST_CASE("xl.cfg: the last value of a key counts", "[xl_config]") {
    Result r = parse(BASE + "memory = 'not a number'\nmemory = 24\n");
    REQUIRE(r.ok);
    CHECK(r.cfg.memory_mib == 24);
    r = parse(BASE + "memory = 24\nmemory = 'not a number'\n");
    CHECK_FALSE(r.ok);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0] == "t.cfg:4: memory: 'not a number' is not a valid number");
}

TEST_CASE("xl.cfg: KEY=VALUE overrides after the file", "[xl_config]") {
    const std::string file = BASE + "memory = 16\nextra = 'from the file'\n";  // 4 lines
    Result r = parse(file, {"memory=32", "extra='from the command line'", "vcpus = 2", "name=\"other\""});
    REQUIRE(r.ok);
    CHECK(r.lines.empty());
    CHECK(r.cfg.memory_mib == 32);
    CHECK(r.cfg.vcpus == 2);
    CHECK(std::string(r.cfg.name) == "other");
    CHECK(std::string(r.cfg.cmdline) == "from the command line");

    // An override mends a bad value in the file, as in xl (only the last value is read).
    r = parse(BASE + "memory = 'lots'\n", {"memory=8"});
    REQUIRE(r.ok);
    CHECK(r.cfg.memory_mib == 8);
    // A file without name gets one from the command line.
    r = parse("kernel = '/k'", {"name=late"});
    CHECK_FALSE(r.ok);  // `late` is no value: a bare word is a syntax error, as in xl
    r = parse("kernel = '/k'", {"name='late'"});
    REQUIRE(r.ok);
    CHECK(std::string(r.cfg.name) == "late");

    // Their lines follow the file's (xl appends them to it).
    expect_error(file, "t.cfg:6: vcpus: 99 is out of range (1-8)", {"memory=8", "vcpus=99"});
    expect_error(file, "t.cfg:5: config parsing error near <newline>: syntax error, expecting '='", {"memory"});
    expect_error("name='n'\nkernel='/k'", "t.cfg:4: config parsing error near `(9)': lexical error",
                 {"memory=8", "x=(9)"});
    r = parse(file, {"colour='red'"});
    CHECK(r.ok);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0] == "t.cfg:5: warning: unknown key 'colour' ignored");

    // At most MAX_OVERRIDES.
    std::vector<std::string> many(MAX_OVERRIDES + 1, "memory=8");
    r = parse(file, many);
    CHECK_FALSE(r.ok);
    REQUIRE(r.lines.size() == 1);
    CHECK(r.lines[0] == "t.cfg: more than 16 KEY=VALUE overrides");
}

TEST_CASE("xl.cfg: hostile input stays in bounds", "[xl_config]") {
    // Every prefix of a config: no reads past the length (ASan checks), no crash.
    const std::string text = BASE + "disk = [ 'a\\x41', \"b\\101\",\n ]\ncpus = '0-3,^1'\nextra = 'x\\\\'\n";
    for (size_t n = 0; n <= text.size(); ++n) (void)parse(text.substr(0, n));
    // Lone backslashes and quotes at the very end.
    for (const char* t : {"extra = '\\", "extra = \"", "extra = '\\'", "x", "[", "name = [", "name = ['a',"}) {
        Result r = parse(t);
        CHECK_FALSE(r.ok);
    }
    // A null sink only counts.
    DomainConfig c;
    ParseStats st;
    const char text2[] = "memory = 'x'\n";
    CHECK_FALSE(parse_config(text2, sizeof(text2) - 1, "f", nullptr, 0, c, nullptr, nullptr, &st));
    CHECK(st.errors == 3);  // the bad number, no name, no kernel
}

// MENHIR_SOURCE_DIR: set by tests/unit/CMakeLists.txt.
TEST_CASE("xl.cfg: the demo config dom0's initramfs carries parses", "[xl_config]") {
    std::ifstream f(MENHIR_SOURCE_DIR "/dom0/rootfs/etc/xen/demo.cfg", std::ios::binary);
    REQUIRE(f.good());
    std::stringstream ss;
    ss << f.rdbuf();
    Result r = parse(ss.str());
    REQUIRE(r.ok);
    CHECK(r.lines.empty());
    CHECK(std::string(r.cfg.name) == "demo");
    CHECK(std::string(r.cfg.kernel) == "/boot/demo.elf");
    CHECK(std::string(r.cfg.cmdline) == "created by xl in dom0");
    CHECK(r.cfg.memory_mib == 16);
    CHECK(r.cfg.vcpus == 1);
}
