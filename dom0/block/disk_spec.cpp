// See disk_spec.hpp. One pass over the items; positional values are put in the first free slot as xl does.
#include "dom0/block/disk_spec.hpp"

namespace dom0::block {
namespace {

struct Sv {
    const char* p;
    size_t n;
};

size_t length(const char* s) {
    size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

bool is(Sv s, const char* lit) {
    size_t i = 0;
    for (; i < s.n; ++i)
        if (lit[i] == '\0' || s.p[i] != lit[i]) return false;
    return lit[i] == '\0';
}

bool starts(Sv s, const char* lit) {
    for (size_t i = 0; lit[i] != '\0'; ++i)
        if (i >= s.n || s.p[i] != lit[i]) return false;
    return true;
}

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

// The reason being written into the caller's buffer, cut to fit.
class Msg {
public:
    Msg(char* buf, size_t cap) : buf_(buf), cap_(cap) {
        if (cap_) buf_[0] = '\0';
    }
    Msg& add(const char* s, size_t n) {
        for (size_t i = 0; i < n && len_ + 1 < cap_; ++i) buf_[len_++] = s[i];
        if (cap_) buf_[len_] = '\0';
        return *this;
    }
    Msg& add(const char* s) { return add(s, length(s)); }
    Msg& add(Sv s) { return add(s.p, s.n); }
    Msg& quoted(Sv s) { return add("'").add(s).add("'"); }

private:
    char* buf_;
    size_t cap_;
    size_t len_ = 0;
};

enum class Format : uint8_t { unset, raw };   // any other is refused when seen

struct Parse {
    bool target_set = false;   // an empty value still fills the slot, as in xl
    Sv target{};
    Format format = Format::unset;
    bool had_prefix = false;   // a deprecated prefix: the format slot is skipped
    bool vdev_set = false;
    Sv vdev{};
    bool access_set = false;
    bool writable = true;
};

// Each setter returns false after writing the reason.
bool set_format(Parse& st, Sv v, Msg& m) {
    if (v.n == 0 || is(v, "raw")) {
        st.format = Format::raw;   // raw again is no change, as xl sees it
        return true;
    }
    if (is(v, "qcow") || is(v, "qcow2") || is(v, "vhd") || is(v, "qed") || is(v, "empty"))
        m.add("format ").quoted(v).add(" is not supported: dom0 serves raw disks only");
    else
        m.add("unknown value for format: ").quoted(v);
    return false;
}

bool set_access(Parse& st, Sv v, Msg& m) {
    if (is(v, "r") || is(v, "ro"))
        st.writable = false;
    else if (v.n == 0 || is(v, "w") || is(v, "rw"))
        st.writable = true;
    else {
        m.add("unknown value for access: ").quoted(v);
        return false;
    }
    st.access_set = true;
    return true;
}

// Strings may be given once; an empty one may be given again.
bool set_string(bool& set, Sv& slot, Sv v, const char* what, Msg& m) {
    if (set && slot.n != 0) {
        m.add(what).add(" respecified: ").quoted(v);
        return false;
    }
    set = true;
    slot = v;
    return true;
}

// "xvda:disk" is the old way to say devtype=disk; ":cdrom" asks for a cdrom.
bool set_vdev_positional(Parse& st, Sv v, Msg& m) {
    size_t colon = v.n;
    for (size_t i = 0; i < v.n; ++i)
        if (v.p[i] == ':') colon = i;
    if (colon != v.n) {
        const Sv type{v.p + colon + 1, v.n - colon - 1};
        if (is(type, "cdrom")) {
            m.add("cdrom devices are not supported: ").quoted(v);
            return false;
        }
        if (!is(type, "disk")) {
            m.add("unknown deprecated type: ").quoted(type);
            return false;
        }
        v.n = colon;
    }
    return set_string(st.vdev_set, st.vdev, v, "vdev", m);
}

bool key_value(Parse& st, Sv key, Sv v, Msg& m) {
    if (is(key, "format")) return set_format(st, v, m);
    if (is(key, "access")) return set_access(st, v, m);
    if (is(key, "vdev")) return set_string(st.vdev_set, st.vdev, v, "vdev", m);
    if (is(key, "backendtype")) {
        if (is(v, "phy")) return true;
        if (is(v, "tap") || is(v, "qdisk") || is(v, "standalone"))
            m.add("backendtype ").quoted(v).add(" is not supported: dom0's block back end is phy");
        else
            m.add("unknown value for backendtype: ").quoted(v);
        return false;
    }
    if (is(key, "devtype")) {
        if (is(v, "disk")) return true;
        if (is(v, "cdrom"))
            m.add("cdrom devices are not supported");
        else
            m.add("unknown value for type: ").quoted(v);
        return false;
    }
    if (is(key, "specification")) {
        if (is(v, "xen")) return true;
        m.add("specification ").quoted(v).add(" is not supported: only xen");
        return false;
    }
    if (is(key, "backend")) {
        if (is(v, "0") || is(v, "Domain-0")) return true;
        m.add("backend ").quoted(v).add(" is not supported: dom0 serves every disk");
        return false;
    }
    if (is(key, "script")) {
        m.add("block scripts are not supported: ").quoted(v);
        return false;
    }
    m.add("unknown parameter: ").quoted(key);
    return false;
}

// xl's flags (whole items without '='); the harmless ones change nothing here.
bool is_flag(Sv f) {
    return is(f, "trusted") || is(f, "untrusted") || is(f, "direct-io-safe") || is(f, "no-discard") ||
           is(f, "no-colo") || is(f, "cdrom") || is(f, "discard") || is(f, "colo");
}
bool apply_flag(Sv f, Msg& m) {
    if (is(f, "cdrom")) {
        m.add("cdrom devices are not supported");
        return false;
    }
    if (is(f, "discard") || is(f, "colo")) {
        m.add(f).add(" is not supported");
        return false;
    }
    return true;
}

// Strips the deprecated prefixes ("phy:", "tap:aio:", "raw:") from v.
bool strip_prefixes(Parse& st, Sv& v, Msg& m) {
    for (;;) {
        size_t i = 0;
        if (i >= v.n || !is_lower(v.p[i])) return true;
        while (i < v.n && (is_lower(v.p[i]) || is_digit(v.p[i]))) ++i;
        if (i >= v.n || v.p[i] != ':') return true;
        const Sv word{v.p, i};
        const Sv rest{v.p + i + 1, v.n - i - 1};
        if (is(word, "raw") || is(word, "qcow") || is(word, "qcow2") || is(word, "vhd")) {
            if (!set_format(st, word, m)) return false;
        } else if (is(word, "iscsi") || is(word, "nbd") || is(word, "enbd") || is(word, "drbd")) {
            m.add("block scripts are not supported: ").quoted(Sv{v.p, i + 1});
            return false;
        } else if (!is(word, "phy") && !is(word, "file") && !is(word, "aio") && !is(word, "tap") &&
                   !is(word, "tap2") && !is(word, "tapdisk") && !is(word, "ioemu")) {
            // "hda:cdrom" is a vdev with a type, not a prefix.
            if (rest.n != 0 && (is_lower(rest.p[0]) || is_digit(rest.p[0]))) return true;
            m.add("unknown deprecated disk prefix: ").quoted(Sv{v.p, i + 1});
            return false;
        }
        st.had_prefix = true;
        v = rest;
    }
}

bool positional(Parse& st, Sv v, Msg& m) {
    if (!strip_prefixes(st, v, m)) return false;
    if (!st.target_set) return set_string(st.target_set, st.target, v, "target", m);
    if (!st.had_prefix && st.format == Format::unset) {
        if (st.target.n == 0 && !st.vdev_set) {
            for (size_t i = 0; i < v.n; ++i)
                if (v.p[i] == ':') return set_vdev_positional(st, v, m);   // ",hdc:cdrom,r"
        }
        return set_format(st, v, m);
    }
    if (!st.vdev_set) return set_vdev_positional(st, v, m);
    if (!st.access_set) return set_access(st, v, m);
    m.add("too many positional parameters: ").quoted(v);
    return false;
}

bool copy(Sv v, char* out, size_t cap) {
    if (v.n + 1 > cap) return false;
    for (size_t i = 0; i < v.n; ++i) out[i] = v.p[i];
    out[v.n] = '\0';
    return true;
}

// Decimal without leading zeros (a lone "0" is fine); false on overflow past `max`.
bool decimal(Sv s, uint32_t max, uint32_t& out) {
    if (s.n == 0 || (s.p[0] == '0' && s.n > 1)) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; ++i) {
        if (!is_digit(s.p[i])) return false;
        v = v * 10 + static_cast<uint32_t>(s.p[i] - '0');
        if (v > max) return false;
    }
    out = static_cast<uint32_t>(v);
    return true;
}

// strtoul base 0: 0x hex, 0-prefixed octal, decimal.
bool number(Sv s, uint64_t max, uint32_t& out) {
    if (s.n == 0) return false;
    unsigned base = 10;
    size_t i = 0;
    if (s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
        base = 16;
        i = 2;
    } else if (s.n > 1 && s.p[0] == '0') {
        base = 8;
        i = 1;
    }
    uint64_t v = 0;
    for (; i < s.n; ++i) {
        const char c = s.p[i];
        unsigned d = 0;
        if (is_digit(c))
            d = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = static_cast<unsigned>(c - 'A' + 10);
        else
            return false;
        if (d >= base) return false;
        v = v * base + d;
        if (v > max) return false;
    }
    out = static_cast<uint32_t>(v);
    return true;
}

constexpr uint32_t xvd_max_disk = (1u << 20) - 1, xvd_max_part = 255;

bool xvd_devid(uint32_t disk, uint32_t part, uint32_t& devid) {
    if (disk <= 15 && part <= 15) {
        devid = (202u << 8) | (disk << 4) | part;
        return true;
    }
    if (disk > xvd_max_disk || part > xvd_max_part) return false;
    devid = (1u << 28) | (disk << 8) | part;
    return true;
}

}  // namespace

bool vdev_to_devid(const char* vdev, uint32_t& devid) {
    if (!vdev) return false;
    const Sv s{vdev, length(vdev)};
    if (s.n == 0) return false;
    if (is_digit(s.p[0])) return number(s, (2ull << 28) - 1, devid);   // 2<<28 on: reserved
    if (s.p[0] == 'd' && s.n > 1 && is_digit(s.p[1])) {
        size_t i = 1;
        while (i < s.n && is_digit(s.p[i])) ++i;
        uint32_t disk = 0, part = 0;
        if (!decimal(Sv{s.p + 1, i - 1}, xvd_max_disk, disk)) return false;
        if (i < s.n) {
            if (s.p[i] != 'p' || !decimal(Sv{s.p + i + 1, s.n - i - 1}, xvd_max_part, part)) return false;
        }
        return xvd_devid(disk, part, devid);
    }
    size_t prefix = 0;
    if (starts(s, "xvd"))
        prefix = 3;
    else if (starts(s, "hd") || starts(s, "sd"))
        prefix = 2;
    else
        return false;
    // Disk letters count from a = 0 as a spreadsheet's columns do: z = 25, aa = 26.
    size_t i = prefix;
    uint64_t disk = 0;
    while (i < s.n && is_lower(s.p[i])) {
        disk = disk * 26 + static_cast<uint64_t>(s.p[i] - 'a' + 1);
        if (disk > xvd_max_disk + 1ull) return false;
        ++i;
    }
    if (i == prefix) return false;
    --disk;
    uint32_t part = 0;
    if (i < s.n) {
        if (s.p[i] == '0' || !decimal(Sv{s.p + i, s.n - i}, xvd_max_part, part)) return false;
    }
    const auto d = static_cast<uint32_t>(disk);
    if (prefix == 3) return xvd_devid(d, part, devid);
    if (s.p[0] == 'h') {   // IDE: two majors of two disks each, 64 minors a disk
        if (d > 3 || part > 63) return false;
        devid = (d < 2 ? (3u << 8) | (d << 6) : (22u << 8) | ((d - 2) << 6)) | part;
        return true;
    }
    if (d > 15 || part > 15) return false;   // SCSI
    devid = (8u << 8) | (d << 4) | part;
    return true;
}

bool parse_disk_spec(const char* s, DiskSpec& out, char* err, size_t err_size) {
    out = DiskSpec{};
    Msg m(err, err_size);
    if (!s) {
        m.add("no disk spec");
        return false;
    }
    Parse st;
    size_t pos = 0;
    const size_t len = length(s);
    while (pos < len) {
        while (pos < len && is_space(s[pos])) ++pos;
        if (pos == len) break;
        const Sv here{s + pos, len - pos};
        if (starts(here, "target=")) {   // takes the rest, commas and all
            Sv v{here.p + 7, here.n - 7};
            if (v.n && v.p[v.n - 1] == ',') --v.n;
            if (!set_string(st.target_set, st.target, v, "target", m)) return false;
            break;
        }
        size_t end = pos;
        while (end < len && s[end] != ',') ++end;
        const Sv item{s + pos, end - pos};
        pos = end < len ? end + 1 : end;
        size_t eq = 0;
        while (eq < item.n && item.p[eq] != '=') ++eq;
        if (eq < item.n) {
            if (!key_value(st, Sv{item.p, eq}, Sv{item.p + eq + 1, item.n - eq - 1}, m)) return false;
        } else if (is_flag(item)) {
            if (!apply_flag(item, m)) return false;
        } else if (!positional(st, item, m)) {
            return false;
        }
    }
    if (st.target.n == 0) {
        m.add("no target (the disk to give, e.g. /dev/hdb1)");
        return false;
    }
    if (st.vdev.n == 0) {
        m.add("no vdev (the guest's name for the disk, e.g. xvda)");
        return false;
    }
    // "hdb1" means "/dev/hdb1", as xl reads a target that is not a path.
    size_t t = 0;
    if (st.target.p[0] != '/') {
        if (!copy(Sv{"/dev/", 5}, out.target, sizeof out.target)) return false;
        t = 5;
    }
    if (!copy(st.target, out.target + t, sizeof out.target - t)) {
        m.add("target too long: ").quoted(st.target);
        out = DiskSpec{};
        return false;
    }
    if (!copy(st.vdev, out.vdev, sizeof out.vdev) || !vdev_to_devid(out.vdev, out.devid)) {
        m.add("bad vdev: ").quoted(st.vdev).add(" (xvdX, hdX, sdX with an optional partition number, dNpM, or a number)");
        out = DiskSpec{};
        return false;
    }
    out.writable = st.writable;
    return true;
}

}  // namespace dom0::block
