// The decoder and executor of vmm/x86_decode.hpp (encodings: SDM Vol 2
// chapter 2 and appendix A).
#include "vmm/x86_decode.hpp"

namespace menhir::x86 {
namespace {

constexpr uint64_t mask_of(uint32_t size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

constexpr uint64_t sign_extend(uint64_t v, uint32_t from_bytes)
{
    const uint32_t shift = 64 - 8 * from_bytes;
    return static_cast<uint64_t>(static_cast<int64_t>(v << shift) >> shift);
}

constexpr uint8_t rex_w = 8, rex_r = 4, rex_x = 2, rex_b = 1;

struct Reader {
    const uint8_t* bytes;
    size_t len;
    size_t pos;
    DecodeError error;

    bool byte(uint8_t& b)
    {
        if (pos >= max_length) {
            error = DecodeError::unsupported;   // longer than any instruction may be (#GP)
            return false;
        }
        if (pos >= len) {
            error = DecodeError::truncated;
            return false;
        }
        b = bytes[pos++];
        return true;
    }
    // Little-endian immediate or displacement of n bytes.
    bool value(uint32_t n, uint64_t& v)
    {
        v = 0;
        for (uint32_t i = 0; i < n; ++i) {
            uint8_t b = 0;
            if (!byte(b)) return false;
            v |= static_cast<uint64_t>(b) << (8 * i);
        }
        return true;
    }
};

// ModRM (and SIB and displacement) of a memory operand (SDM Vol 2 2.1.5,
// Tables 2-1 to 2-3; 64-bit mode 2.2.1). A register operand (mod = 3) is
// refused: it cannot be the access that faulted.
bool modrm(Reader& r, Instruction& in, uint8_t rex, bool is64, uint8_t& reg_field)
{
    uint8_t m = 0;
    if (!r.byte(m)) return false;
    const uint8_t mod = m >> 6, rm = m & 7;
    reg_field = static_cast<uint8_t>(((m >> 3) & 7) | ((rex & rex_r) ? 8 : 0));
    if (mod == 3) {
        r.error = DecodeError::unsupported;
        return false;
    }
    uint64_t d = 0;
    if (in.address_size == 2) {
        // 16-bit forms: BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (or disp16), BX.
        constexpr uint8_t bx = 3, bp = 5, si = 6, di = 7;
        constexpr uint8_t bases[8] = {bx, bx, bp, bp, si, di, bp, bx};
        constexpr uint8_t indexes[8] = {si, di, si, di, 0, 0, 0, 0};
        if (mod == 0 && rm == 6) {
            if (!r.value(2, d)) return false;
            in.disp = static_cast<int64_t>(sign_extend(d, 2));
            return true;
        }
        in.has_base = true;
        in.base = bases[rm];
        in.has_index = rm < 4;
        in.index = indexes[rm];
        if (in.base == bp) in.seg = Seg::ss;
        if (mod == 1 || mod == 2) {
            if (!r.value(mod, d)) return false;
            in.disp = static_cast<int64_t>(sign_extend(d, mod));
        }
        return true;
    }
    bool disp32 = false;
    if (rm == 4) {
        uint8_t sib = 0;
        if (!r.byte(sib)) return false;
        in.scale = static_cast<uint8_t>(1u << (sib >> 6));
        in.index = static_cast<uint8_t>(((sib >> 3) & 7) | ((rex & rex_x) ? 8 : 0));
        in.has_index = in.index != 4;   // index 100b without REX.X: none
        if ((sib & 7) == 5 && mod == 0) {
            disp32 = true;
        } else {
            in.has_base = true;
            in.base = static_cast<uint8_t>((sib & 7) | ((rex & rex_b) ? 8 : 0));
        }
    } else if (rm == 5 && mod == 0) {
        disp32 = true;
        in.base_rip = is64;   // 64-bit mode: RIP-relative (SDM Vol 2 2.2.1.6)
    } else {
        in.has_base = true;
        in.base = static_cast<uint8_t>(rm | ((rex & rex_b) ? 8 : 0));
    }
    if (in.has_base && (in.base == 4 || in.base == 5)) in.seg = Seg::ss;   // rSP/rBP-based
    const uint32_t n = mod == 1 ? 1 : (mod == 2 || disp32) ? 4 : 0;
    if (n) {
        if (!r.value(n, d)) return false;
        in.disp = static_cast<int64_t>(sign_extend(d, n));
    }
    return true;
}

// The register operand of a ModRM form: byte registers 4..7 are AH..BH
// unless a REX prefix is present (SDM Vol 2 3.7.2.1).
void set_reg(Instruction& in, uint8_t reg, uint32_t size, bool had_rex)
{
    in.reg = reg;
    if (size == 1 && !had_rex && reg >= 4 && reg < 8) {
        in.high_byte = true;
        in.reg = static_cast<uint8_t>(reg - 4);
    }
}

} // namespace

DecodeError decode(const uint8_t* bytes, size_t len, Mode mode, Instruction& out)
{
    Reader r{bytes, len, 0, DecodeError::none};
    Instruction in{};
    const bool is64 = mode == Mode::bits64;
    bool opsize = false, addrsize = false, rep = false, lock = false, had_rex = false;
    int seg_override = -1;
    uint8_t rex = 0;
    uint8_t b = 0;
    // Legacy prefixes in any order, then at most one REX (64-bit mode),
    // which counts only right before the opcode (SDM Vol 2 2.2.1).
    for (;;) {
        if (!r.byte(b)) return r.error;
        bool legacy = true;
        switch (b) {
        case 0x66: opsize = true; break;
        case 0x67: addrsize = true; break;
        case 0xf2: case 0xf3: rep = true; break;
        case 0xf0: lock = true; break;
        case 0x26: seg_override = 0; break;
        case 0x2e: seg_override = 1; break;
        case 0x36: seg_override = 2; break;
        case 0x3e: seg_override = 3; break;
        case 0x64: seg_override = 4; break;
        case 0x65: seg_override = 5; break;
        default: legacy = false; break;
        }
        if (legacy) {
            rex = 0;
            had_rex = false;
            continue;
        }
        if (is64 && (b & 0xf0) == 0x40) {
            rex = b;
            had_rex = true;
            continue;
        }
        break;
    }
    const uint8_t opsz = is64 ? ((rex & rex_w) ? 8 : opsize ? 2 : 4) : (mode == Mode::bits32) != opsize ? 4 : 2;
    in.address_size = is64 ? (addrsize ? 4 : 8) : (mode == Mode::bits32) != addrsize ? 4 : 2;
    uint8_t reg = 0;
    // Immediates are at most 4 bytes, sign-extended to 8-byte operands.
    auto imm = [&](uint32_t bytes_, uint32_t size) {
        uint64_t v = 0;
        if (!r.value(bytes_, v)) return false;
        in.has_imm = true;
        in.imm = sign_extend(v, bytes_) & mask_of(size);
        return true;
    };
    const uint32_t imm_full = opsz == 8 ? 4 : opsz;

    if (b == 0x0f) {
        if (!r.byte(b)) return r.error;
        if (b != 0xb6 && b != 0xb7 && b != 0xbe && b != 0xbf) return DecodeError::unsupported;
        in.kind = (b & 8) ? Kind::movsx : Kind::movzx;
        in.size = (b & 1) ? 2 : 1;
        in.reg_size = opsz;
        if (!modrm(r, in, rex, is64, reg)) return r.error;
        in.reg = reg;
    } else if (b < 0x40 && (b & 7) < 4) {
        // ADD OR ADC SBB AND SUB XOR CMP with ModRM: bit 0 word/byte, bit 1 to the register.
        in.alu = static_cast<Alu>(b >> 3);
        in.kind = (b & 2) ? Kind::alu_to_reg : Kind::alu_to_mem;
        in.size = in.reg_size = (b & 1) ? opsz : 1;
        if (!modrm(r, in, rex, is64, reg)) return r.error;
        set_reg(in, reg, in.size, had_rex);
    } else if (b == 0x80 || b == 0x81 || b == 0x83) {
        in.kind = Kind::alu_to_mem;
        in.size = b == 0x80 ? 1 : opsz;
        if (!modrm(r, in, rex, is64, reg)) return r.error;
        in.alu = static_cast<Alu>(reg & 7);
        if (!imm(b == 0x81 ? imm_full : 1, in.size)) return r.error;
    } else if (b == 0x84 || b == 0x85) {
        in.kind = Kind::test;
        in.size = in.reg_size = b == 0x84 ? 1 : opsz;
        if (!modrm(r, in, rex, is64, reg)) return r.error;
        set_reg(in, reg, in.size, had_rex);
    } else if (b >= 0x88 && b <= 0x8b) {
        in.kind = (b & 2) ? Kind::load : Kind::store;
        in.size = in.reg_size = (b & 1) ? opsz : 1;
        if (!modrm(r, in, rex, is64, reg)) return r.error;
        set_reg(in, reg, in.size, had_rex);
    } else if (b >= 0xa0 && b <= 0xa3) {
        // MOV AL/eAX <-> moffs: an address-size offset, no ModRM (SDM Vol 2 MOV).
        in.kind = (b & 2) ? Kind::store : Kind::load;
        in.size = in.reg_size = (b & 1) ? opsz : 1;
        uint64_t off = 0;
        if (!r.value(in.address_size, off)) return r.error;
        in.disp = static_cast<int64_t>(off);
        in.reg = 0;
    } else if (b == 0xa4 || b == 0xa5 || b == 0xaa || b == 0xab || b == 0xac || b == 0xad) {
        in.kind = b <= 0xa5 ? Kind::movs : b <= 0xab ? Kind::stos : Kind::lods;
        in.size = in.reg_size = (b & 1) ? opsz : 1;
        in.rep = rep;
        in.reg = 0;
        if (in.kind == Kind::stos) in.seg = Seg::es;   // ES:rDI, no override (SDM Vol 2 STOS)
    } else if (b == 0xc6 || b == 0xc7) {
        in.kind = Kind::store;
        in.size = b == 0xc6 ? 1 : opsz;
        if (!modrm(r, in, rex, is64, reg)) return r.error;
        if ((reg & 7) != 0) return DecodeError::unsupported;
        if (!imm(b == 0xc6 ? 1 : imm_full, in.size)) return r.error;
    } else if (b == 0xf6 || b == 0xf7) {
        in.kind = Kind::test;
        in.size = b == 0xf6 ? 1 : opsz;
        if (!modrm(r, in, rex, is64, reg)) return r.error;
        if ((reg & 7) > 1) return DecodeError::unsupported;   // /0 and /1 are TEST; NOT NEG MUL DIV are not here
        if (!imm(b == 0xf6 ? 1 : imm_full, in.size)) return r.error;
    } else {
        return DecodeError::unsupported;
    }
    if (seg_override >= 0 && in.kind != Kind::stos) in.seg = static_cast<Seg>(seg_override);
    // LOCK only on read-modify-write forms, as the CPU allows (#UD otherwise).
    if (lock && !(in.kind == Kind::alu_to_mem && in.alu != Alu::cmp)) return DecodeError::unsupported;
    in.length = static_cast<uint8_t>(r.pos);
    out = in;
    return DecodeError::none;
}

namespace {

uint64_t seg_base(const Cpu& cpu, Mode mode, Seg s)
{
    // 64-bit mode: only FS and GS have bases (SDM Vol 3A 3.4.4).
    if (mode == Mode::bits64 && s != Seg::fs && s != Seg::gs) return 0;
    return cpu.seg_base[static_cast<uint8_t>(s)];
}

uint64_t linear(const Cpu& cpu, Mode mode, Seg s, uint64_t offset)
{
    const uint64_t l = seg_base(cpu, mode, s) + offset;
    return mode == Mode::bits64 ? l : l & 0xffffffffull;
}

uint64_t read_reg(const Cpu& cpu, uint8_t reg, uint32_t size, bool high)
{
    if (high) return (cpu.gpr[reg & 15] >> 8) & 0xff;
    return cpu.gpr[reg & 15] & mask_of(size);
}

// 32-bit results zero-extend to 64 bits; 8- and 16-bit ones merge (SDM Vol 1 3.4.1.1).
void write_reg(Cpu& cpu, uint8_t reg, uint32_t size, bool high, uint64_t value)
{
    uint64_t& g = cpu.gpr[reg & 15];
    if (high)
        g = (g & ~0xff00ull) | ((value & 0xff) << 8);
    else if (size >= 8)
        g = value;
    else if (size == 4)
        g = value & 0xffffffffull;
    else
        g = (g & ~mask_of(size)) | (value & mask_of(size));
}

bool parity_even(uint64_t v)
{
    uint8_t b = static_cast<uint8_t>(v);
    b ^= b >> 4;
    b ^= b >> 2;
    b ^= b >> 1;
    return (b & 1) == 0;
}

void advance_rip(Cpu& cpu, const Instruction& in, Mode mode)
{
    const uint64_t next = cpu.rip + in.length;
    cpu.rip = mode == Mode::bits64 ? next : mode == Mode::bits32 ? next & 0xffffffffull : next & 0xffffull;
}

} // namespace

AluResult alu(Alu op, uint64_t a, uint64_t b, uint32_t size, uint64_t rflags)
{
    const uint64_t m = mask_of(size);
    const uint64_t msb = 1ull << (8 * size - 1);
    a &= m;
    b &= m;
    const uint64_t cin = rflags & flag_cf;
    uint64_t r = 0;
    bool cf = false, of = false, af = false;
    switch (op) {
    case Alu::add:
    case Alu::adc: {
        const uint64_t c = op == Alu::adc ? cin : 0;
        const uint64_t full = a + b + c;
        r = full & m;
        cf = size >= 8 ? (full < a || (c && full == a)) : ((full >> (8 * size)) & 1) != 0;
        of = ((a ^ r) & (b ^ r) & msb) != 0;
        af = ((a ^ b ^ r) & 0x10) != 0;
        break;
    }
    case Alu::sub:
    case Alu::sbb:
    case Alu::cmp: {
        const uint64_t c = op == Alu::sbb ? cin : 0;
        r = (a - b - c) & m;
        cf = a < b || (c && a == b);
        of = ((a ^ b) & (a ^ r) & msb) != 0;
        af = ((a ^ b ^ r) & 0x10) != 0;
        break;
    }
    case Alu::or_: r = a | b; break;
    case Alu::and_: r = a & b; break;
    case Alu::xor_: r = a ^ b; break;
    }
    uint64_t f = rflags & ~arith_flags;
    if (cf) f |= flag_cf;
    if (parity_even(r)) f |= flag_pf;
    if (af) f |= flag_af;
    if (r == 0) f |= flag_zf;
    if (r & msb) f |= flag_sf;
    if (of) f |= flag_of;
    return AluResult{r, f};
}

uint64_t effective_address(const Instruction& in, const Cpu& cpu, Mode mode)
{
    uint64_t off = static_cast<uint64_t>(in.disp);
    if (in.base_rip) off += cpu.rip + in.length;
    if (in.has_base) off += cpu.gpr[in.base & 15];
    if (in.has_index) off += cpu.gpr[in.index & 15] * in.scale;
    return linear(cpu, mode, in.seg, off & mask_of(in.address_size));
}

bool execute_device(const Instruction& in, Cpu& cpu, Mode mode, const Device& dev)
{
    const uint64_t m = mask_of(in.size);
    switch (in.kind) {
    case Kind::load: write_reg(cpu, in.reg, in.size, in.high_byte, dev.read(dev.ctx, in.size) & m); break;
    case Kind::store:
        dev.write(dev.ctx, in.size, (in.has_imm ? in.imm : read_reg(cpu, in.reg, in.size, in.high_byte)) & m);
        break;
    case Kind::movzx: write_reg(cpu, in.reg, in.reg_size, false, dev.read(dev.ctx, in.size) & m); break;
    case Kind::movsx:
        write_reg(cpu, in.reg, in.reg_size, false, sign_extend(dev.read(dev.ctx, in.size) & m, in.size) & mask_of(in.reg_size));
        break;
    case Kind::alu_to_reg: {
        const AluResult res = alu(in.alu, read_reg(cpu, in.reg, in.size, in.high_byte), dev.read(dev.ctx, in.size) & m,
                                  in.size, cpu.rflags);
        if (in.alu != Alu::cmp) write_reg(cpu, in.reg, in.size, in.high_byte, res.value);
        cpu.rflags = res.rflags;
        break;
    }
    case Kind::alu_to_mem:
    case Kind::test: {
        const uint64_t src = in.has_imm ? in.imm : read_reg(cpu, in.reg, in.size, in.high_byte);
        const Alu op = in.kind == Kind::test ? Alu::and_ : in.alu;
        const AluResult res = alu(op, dev.read(dev.ctx, in.size) & m, src, in.size, cpu.rflags);
        cpu.rflags = res.rflags;
        if (in.kind == Kind::alu_to_mem && in.alu != Alu::cmp) dev.write(dev.ctx, in.size, res.value & m);
        break;
    }
    default:
        return false;
    }
    advance_rip(cpu, in, mode);
    return true;
}

namespace {
// Nothing behind the operand: all ones, writes dropped (Xen's PVH answer).
uint64_t ones_read(void*, uint32_t size) { return mask_of(size); }
void drop_write(void*, uint32_t, uint64_t) {}
} // namespace

uint64_t execute_unbacked(const Instruction& in, Cpu& cpu, Mode mode, const Memory& mem, uint64_t max_items)
{
    const uint64_t ones = mask_of(in.size);
    if (execute_device(in, cpu, mode, Device{nullptr, ones_read, drop_write})) return 1;
    switch (in.kind) {
    case Kind::movs:
    case Kind::stos:
    case Kind::lods: {
        // rSI/rDI/rCX as wide as the address size (SDM Vol 2 MOVS, REP).
        const uint64_t am = mask_of(in.address_size);
        auto set_index = [&](uint8_t reg, uint64_t value) { write_reg(cpu, reg, in.address_size, false, value & am); };
        constexpr uint8_t rcx = 1, rsi = 6, rdi = 7;
        const uint64_t count = in.rep ? cpu.gpr[rcx] & am : 1;
        const uint64_t n = count < max_items ? count : max_items;
        const uint64_t step = (cpu.rflags & flag_df) ? -static_cast<uint64_t>(in.size) : in.size;
        uint64_t si = cpu.gpr[rsi] & am, di = cpu.gpr[rdi] & am;
        for (uint64_t i = 0; i < n; ++i) {
            uint64_t v = ones;
            if (in.kind != Kind::stos) {
                if (!mem.read(mem.ctx, linear(cpu, mode, in.seg, si), in.size, v)) v = ones;
                v &= ones;
                si = (si + step) & am;
            }
            if (in.kind == Kind::lods) {
                write_reg(cpu, 0, in.size, false, v);
                continue;
            }
            if (in.kind == Kind::stos) v = read_reg(cpu, 0, in.size, false);
            mem.write(mem.ctx, linear(cpu, mode, Seg::es, di), in.size, v);
            di = (di + step) & am;
        }
        if (in.kind != Kind::stos) set_index(rsi, si);
        if (in.kind != Kind::lods) set_index(rdi, di);
        if (in.rep) set_index(rcx, count - n);
        if (count - n == 0) advance_rip(cpu, in, mode);
        return n;
    }
    default:
        return 0;   // not reached: execute_device ran every other kind
    }
}

} // namespace menhir::x86
