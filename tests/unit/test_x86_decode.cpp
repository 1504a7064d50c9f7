// The unbacked-memory instruction decoder and executor: encodings as GNU as
// emits them in 64-, 32- and 16-bit code, lengths, operands and effective
// addresses, the all-ones results and flags, string instructions over a fake
// memory, and the forms it must refuse.
#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <vector>

#include "vmm/x86_decode.hpp"

namespace x86 = menhir::x86;
using x86::Kind;
using x86::Mode;

namespace {

x86::Instruction decode_ok(std::initializer_list<uint8_t> bytes, Mode mode = Mode::bits64)
{
    const std::vector<uint8_t> b(bytes);
    x86::Instruction in{};
    REQUIRE(x86::decode(b.data(), b.size(), mode, in) == x86::DecodeError::none);
    REQUIRE(in.length == b.size());
    return in;
}

x86::DecodeError decode_err(std::initializer_list<uint8_t> bytes, Mode mode = Mode::bits64)
{
    const std::vector<uint8_t> b(bytes);
    x86::Instruction in{};
    return x86::decode(b.data(), b.size(), mode, in);
}

// Byte-addressed fake memory: addresses in `backed` are RAM, the rest reads
// as nothing and drops writes.
struct FakeMem {
    std::map<uint64_t, uint8_t> ram;
    std::map<uint64_t, bool> backed;
    int dropped = 0;

    static bool read(void* ctx, uint64_t linear, uint32_t size, uint64_t& value)
    {
        auto* m = static_cast<FakeMem*>(ctx);
        if (!m->backed.count(linear)) return false;
        value = 0;
        for (uint32_t i = 0; i < size; ++i) value |= static_cast<uint64_t>(m->ram[linear + i]) << (8 * i);
        return true;
    }
    static void write(void* ctx, uint64_t linear, uint32_t size, uint64_t value)
    {
        auto* m = static_cast<FakeMem*>(ctx);
        if (!m->backed.count(linear)) {
            ++m->dropped;
            return;
        }
        for (uint32_t i = 0; i < size; ++i) m->ram[linear + i] = static_cast<uint8_t>(value >> (8 * i));
    }
    x86::Memory ops() { return x86::Memory{this, read, write}; }
};

x86::Cpu cpu_with(uint64_t fill)
{
    x86::Cpu c{};
    for (auto& g : c.gpr) g = fill;
    c.rip = 0x1000;
    c.rflags = 0x2;
    return c;
}

constexpr uint64_t RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSI = 6, RDI = 7, R9 = 9, R11 = 11;

} // namespace

TEST_CASE("x86: MOV loads and stores, 64-bit", "[x86]")
{
    auto in = decode_ok({0x8a, 0x00});   // mov (%rax),%al
    CHECK(in.kind == Kind::load);
    CHECK(in.size == 1);
    CHECK(in.reg == RAX);
    CHECK_FALSE(in.high_byte);

    in = decode_ok({0x8a, 0x20});   // mov (%rax),%ah
    CHECK(in.high_byte);
    CHECK(in.reg == RAX);

    in = decode_ok({0x40, 0x8a, 0x30});   // mov (%rax),%sil
    CHECK_FALSE(in.high_byte);
    CHECK(in.reg == RSI);

    in = decode_ok({0x66, 0x8b, 0x4b, 0x10});   // mov 0x10(%rbx),%cx
    CHECK(in.size == 2);
    CHECK(in.reg == RCX);
    CHECK(in.has_base);
    CHECK(in.base == RBX);
    CHECK(in.disp == 0x10);

    in = decode_ok({0x8b, 0x04, 0x8a});   // mov (%rdx,%rcx,4),%eax
    CHECK(in.size == 4);
    CHECK(in.base == RDX);
    CHECK(in.has_index);
    CHECK(in.index == RCX);
    CHECK(in.scale == 4);

    in = decode_ok({0x4c, 0x8b, 0x4d, 0xf8});   // mov -0x8(%rbp),%r9
    CHECK(in.size == 8);
    CHECK(in.reg == R9);
    CHECK(in.disp == -8);
    CHECK(in.seg == x86::Seg::ss);

    in = decode_ok({0x45, 0x89, 0x94, 0x24, 0x00, 0x01, 0x00, 0x00});   // mov %r10d,0x100(%r12)
    CHECK(in.kind == Kind::store);
    CHECK(in.reg == 10);
    CHECK(in.base == 12);
    CHECK_FALSE(in.has_index);
    CHECK(in.seg == x86::Seg::ds);   // R12 is not RSP: DS

    in = decode_ok({0xc6, 0x07, 0x12});   // movb $0x12,(%rdi)
    CHECK(in.kind == Kind::store);
    CHECK(in.imm == 0x12);

    in = decode_ok({0x48, 0xc7, 0x44, 0x24, 0x08, 0xff, 0xff, 0xff, 0xff});   // movq $-1,8(%rsp)
    CHECK(in.size == 8);
    CHECK(in.imm == ~0ull);

    in = decode_ok({0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12});   // movl $..,0x1000(%rip)
    CHECK(in.base_rip);
    CHECK(in.imm == 0x12345678);
    x86::Cpu c = cpu_with(0);
    c.rip = 0x26;
    CHECK(x86::effective_address(in, c, Mode::bits64) == 0x1030);   // as objdump computes it

    in = decode_ok({0xa1, 0x00, 0x00, 0xd0, 0xfe, 0, 0, 0, 0});   // movabs 0xfed00000,%eax
    CHECK(in.kind == Kind::load);
    CHECK(x86::effective_address(in, c, Mode::bits64) == 0xfed00000);
    in = decode_ok({0xa2, 0xf0, 0x00, 0xd0, 0xfe, 0, 0, 0, 0});   // movabs %al,0xfed000f0
    CHECK(in.kind == Kind::store);
    CHECK(in.size == 1);

    in = decode_ok({0x65, 0x48, 0x8b, 0x04, 0x25, 0x08, 0, 0, 0});   // mov %gs:0x8,%rax
    CHECK(in.seg == x86::Seg::gs);
    CHECK_FALSE(in.has_base);
    CHECK_FALSE(in.has_index);
    c.seg_base[5] = 0x7000;
    CHECK(x86::effective_address(in, c, Mode::bits64) == 0x7008);

    in = decode_ok({0x67, 0x8b, 0x08});   // mov (%eax),%ecx
    CHECK(in.address_size == 4);
    c.gpr[RAX] = 0x1'0000'0010ull;
    CHECK(x86::effective_address(in, c, Mode::bits64) == 0x10);   // 32-bit address wraps
}

TEST_CASE("x86: a legacy prefix after REX cancels it", "[x86]")
{
    // 48 66 8b 00: REX.W is not right before the opcode, so 66 decides (16-bit).
    auto in = decode_ok({0x48, 0x66, 0x8b, 0x00});
    CHECK(in.size == 2);
}

TEST_CASE("x86: MOVZX, MOVSX, ALU, TEST forms", "[x86]")
{
    auto in = decode_ok({0x0f, 0xb6, 0x06});   // movzbl (%rsi),%eax
    CHECK(in.kind == Kind::movzx);
    CHECK(in.size == 1);
    CHECK(in.reg_size == 4);
    in = decode_ok({0x4c, 0x0f, 0xb7, 0x1e});   // movzwq (%rsi),%r11
    CHECK(in.size == 2);
    CHECK(in.reg_size == 8);
    CHECK(in.reg == R11);
    in = decode_ok({0x49, 0x0f, 0xbf, 0x50, 0x02});   // movswq 2(%r8),%rdx
    CHECK(in.kind == Kind::movsx);
    CHECK(in.base == 8);

    in = decode_ok({0x39, 0x07});   // cmp %eax,(%rdi)
    CHECK(in.kind == Kind::alu_to_mem);
    CHECK(in.alu == x86::Alu::cmp);
    in = decode_ok({0x3b, 0x07});   // cmp (%rdi),%eax
    CHECK(in.kind == Kind::alu_to_reg);
    in = decode_ok({0x80, 0x3f, 0x01});   // cmpb $1,(%rdi)
    CHECK(in.alu == x86::Alu::cmp);
    CHECK(in.imm == 1);
    in = decode_ok({0x81, 0x0f, 0x80, 0x00, 0x00, 0x00});   // orl $0x80,(%rdi)
    CHECK(in.alu == x86::Alu::or_);
    in = decode_ok({0x48, 0x83, 0x0f, 0xff});   // orq $-1,(%rdi)
    CHECK(in.imm == ~0ull);
    in = decode_ok({0x85, 0x0f});   // test %ecx,(%rdi)
    CHECK(in.kind == Kind::test);
    CHECK(in.reg == RCX);
    in = decode_ok({0xf6, 0x47, 0x01, 0x40});   // testb $0x40,1(%rdi)
    CHECK(in.imm == 0x40);
    in = decode_ok({0xf7, 0x07, 0x00, 0x00, 0x00, 0x80});   // testl $0x80000000,(%rdi)
    CHECK(in.imm == 0x80000000u);
    in = decode_ok({0x02, 0x1f});   // add (%rdi),%bl
    CHECK(in.alu == x86::Alu::add);
    CHECK(in.size == 1);
    in = decode_ok({0xf0, 0x83, 0x0f, 0x01});   // lock orl $1,(%rdi)
    CHECK(in.kind == Kind::alu_to_mem);
}

TEST_CASE("x86: string instructions and prefixes", "[x86]")
{
    auto in = decode_ok({0xf3, 0xa4});   // rep movsb
    CHECK(in.kind == Kind::movs);
    CHECK(in.rep);
    CHECK(in.size == 1);
    in = decode_ok({0xf3, 0xab});   // rep stosl
    CHECK(in.kind == Kind::stos);
    CHECK(in.size == 4);
    CHECK(in.seg == x86::Seg::es);
    in = decode_ok({0x66, 0xad});   // lodsw
    CHECK(in.kind == Kind::lods);
    CHECK_FALSE(in.rep);
    CHECK(in.size == 2);
    in = decode_ok({0xf3, 0x48, 0xa5});   // rep movsq
    CHECK(in.size == 8);
}

TEST_CASE("x86: 32-bit and 16-bit code", "[x86]")
{
    auto in = decode_ok({0x8b, 0x00}, Mode::bits32);
    CHECK(in.size == 4);
    CHECK(in.address_size == 4);
    in = decode_ok({0xa1, 0x00, 0x00, 0xd0, 0xfe}, Mode::bits32);   // mov 0xfed00000,%eax
    x86::Cpu c = cpu_with(0);
    CHECK(x86::effective_address(in, c, Mode::bits32) == 0xfed00000);
    in = decode_ok({0x0f, 0xb6, 0x4c, 0x73, 0x04}, Mode::bits32);   // movzbl 4(%ebx,%esi,2),%ecx
    c.gpr[RBX] = 0x100;
    c.gpr[RSI] = 0x10;
    CHECK(x86::effective_address(in, c, Mode::bits32) == 0x124);
    in = decode_ok({0x83, 0x7d, 0x00, 0x05}, Mode::bits32);   // cmpl $5,0(%ebp)
    CHECK(in.seg == x86::Seg::ss);
    in = decode_ok({0x66, 0x89, 0x07}, Mode::bits32);   // mov %ax,(%edi)
    CHECK(in.size == 2);
    in = decode_ok({0x67, 0x66, 0x8b, 0x00}, Mode::bits32);   // mov (%bx,%si),%ax
    CHECK(in.address_size == 2);
    CHECK(in.size == 2);
    // No REX in 32-bit code: 0x40 is INC EAX, not a prefix.
    CHECK(decode_err({0x40, 0x8b, 0x00}, Mode::bits32) == x86::DecodeError::unsupported);

    in = decode_ok({0x8b, 0x00}, Mode::bits16);   // mov (%bx,%si),%ax
    CHECK(in.size == 2);
    CHECK(in.address_size == 2);
    c.gpr[RBX] = 0x1000;
    c.gpr[RSI] = 0x0234;
    c.seg_base[3] = 0x20000;
    CHECK(x86::effective_address(in, c, Mode::bits16) == 0x21234);
    in = decode_ok({0x8a, 0x46, 0x06}, Mode::bits16);   // mov 6(%bp),%al
    CHECK(in.seg == x86::Seg::ss);
    CHECK(in.disp == 6);
    in = decode_ok({0xa1, 0x34, 0x12}, Mode::bits16);   // mov 0x1234,%ax
    CHECK(in.disp == 0x1234);
    in = decode_ok({0x67, 0x66, 0x8b, 0x00}, Mode::bits16);   // mov (%eax),%eax
    CHECK(in.size == 4);
    CHECK(in.address_size == 4);
}

TEST_CASE("x86: refused and truncated instructions", "[x86]")
{
    using E = x86::DecodeError;
    CHECK(decode_err({0xf3, 0x0f, 0x6f, 0x00}) == E::unsupported);   // movdqu (%rax),%xmm0
    CHECK(decode_err({0x87, 0x07}) == E::unsupported);               // xchg %eax,(%rdi)
    CHECK(decode_err({0x89, 0xc0}) == E::unsupported);               // mov %eax,%eax: no memory operand
    CHECK(decode_err({0xf7, 0x17}) == E::unsupported);               // notl (%rdi)
    CHECK(decode_err({0xc7, 0x0f, 0, 0, 0, 0}) == E::unsupported);   // C7 /1
    CHECK(decode_err({0xf0, 0x8b, 0x07}) == E::unsupported);         // lock mov: #UD
    CHECK(decode_err({0xf0, 0x39, 0x07}) == E::unsupported);         // lock cmp: #UD
    CHECK(decode_err({0x0f, 0xc7, 0x0f}) == E::unsupported);         // cmpxchg8b/16b
    CHECK(decode_err({0xa6}) == E::unsupported);                     // cmpsb
    CHECK(decode_err({0x8b}) == E::truncated);
    CHECK(decode_err({0x8b, 0x04}) == E::truncated);                 // SIB missing
    CHECK(decode_err({0xc7, 0x07, 0x01, 0x02}) == E::truncated);     // imm32 cut short
    CHECK(decode_err({0x66, 0x66}) == E::truncated);
    // Fifteen prefixes and an opcode: longer than the architectural limit.
    CHECK(decode_err({0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                      0x66, 0x8b, 0x00}) == E::unsupported);
}

TEST_CASE("x86: loads give all ones of the operand size", "[x86]")
{
    FakeMem mem;
    auto run = [&](std::initializer_list<uint8_t> bytes, x86::Cpu& c, Mode mode = Mode::bits64) {
        const auto in = decode_ok(bytes, mode);
        CHECK(x86::execute_unbacked(in, c, mode, mem.ops()) == 1);
        CHECK(c.rip == 0x1000u + in.length);
        c.rip = 0x1000;
    };
    x86::Cpu c = cpu_with(0x1122334455667788ull);
    run({0x8a, 0x00}, c);   // al
    CHECK(c.gpr[RAX] == 0x11223344556677ffull);
    run({0x8a, 0x20}, c);   // ah
    CHECK(c.gpr[RAX] == 0x112233445566ffffull);
    run({0x66, 0x8b, 0x4b, 0x10}, c);   // cx
    CHECK(c.gpr[RCX] == 0x112233445566ffffull);
    run({0x8b, 0x14, 0x8a}, c);   // mov (%rdx,%rcx,4),%edx: zero-extends
    CHECK(c.gpr[RDX] == 0xffffffffull);
    run({0x4c, 0x8b, 0x4d, 0xf8}, c);   // r9
    CHECK(c.gpr[R9] == ~0ull);
    run({0x0f, 0xb6, 0x1e}, c);   // movzbl (%rsi),%ebx
    CHECK(c.gpr[RBX] == 0xff);
    run({0x48, 0x0f, 0xbe, 0x1e}, c);   // movsbq (%rsi),%rbx
    CHECK(c.gpr[RBX] == ~0ull);
    run({0x66, 0x0f, 0xb6, 0x3e}, c);   // movzbw (%rsi),%di
    CHECK(c.gpr[RDI] == 0x11223344556600ffull);
    const uint64_t before = c.gpr[RAX];
    run({0x89, 0x07}, c);   // store: nothing changes but RIP
    CHECK(c.gpr[RAX] == before);
    CHECK(mem.dropped == 0);   // a non-string store never touches memory

    x86::Cpu c32 = cpu_with(0x12345678);
    run({0xa1, 0x00, 0x00, 0xd0, 0xfe}, c32, Mode::bits32);
    CHECK(c32.gpr[RAX] == 0xffffffffull);
}

TEST_CASE("x86: ALU results and flags against all ones", "[x86]")
{
    using x86::Alu;
    // The flag arithmetic itself.
    auto f = x86::alu(Alu::cmp, 5, 0xffffffff, 4, 0);
    CHECK((f.rflags & x86::flag_cf) != 0);   // 5 < 0xffffffff unsigned
    CHECK((f.rflags & x86::flag_zf) == 0);
    CHECK(f.value == 6);
    f = x86::alu(Alu::cmp, 0xff, 0xff, 1, x86::flag_cf | x86::flag_sf);
    CHECK(f.rflags == (x86::flag_zf | x86::flag_pf));
    f = x86::alu(Alu::add, 0x7f, 1, 1, 0);
    CHECK(f.value == 0x80);
    CHECK((f.rflags & x86::flag_of) != 0);
    CHECK((f.rflags & x86::flag_sf) != 0);
    CHECK((f.rflags & x86::flag_af) != 0);
    f = x86::alu(Alu::add, ~0ull, 1, 8, 0);
    CHECK(f.value == 0);
    CHECK((f.rflags & (x86::flag_cf | x86::flag_zf)) == (x86::flag_cf | x86::flag_zf));
    f = x86::alu(Alu::adc, ~0ull, 0, 8, x86::flag_cf);
    CHECK(f.value == 0);
    CHECK((f.rflags & x86::flag_cf) != 0);
    f = x86::alu(Alu::sbb, 0, 0xffff, 2, x86::flag_cf);
    CHECK(f.value == 0);
    CHECK((f.rflags & x86::flag_cf) != 0);
    f = x86::alu(Alu::sub, 0x80, 1, 1, 0);
    CHECK((f.rflags & x86::flag_of) != 0);
    f = x86::alu(Alu::xor_, 0xf0, 0x0f, 1, x86::flag_cf | x86::flag_of);
    CHECK(f.value == 0xff);
    CHECK(f.rflags == (x86::flag_sf | x86::flag_pf));
    CHECK((x86::alu(Alu::and_, 0x01, 0xff, 1, 0).rflags & x86::flag_pf) == 0);   // one bit set: odd

    FakeMem mem;
    x86::Cpu c = cpu_with(0);
    c.gpr[RAX] = 5;
    auto in = decode_ok({0x39, 0x07});   // cmp %eax,(%rdi): 0xffffffff - 5
    x86::execute_unbacked(in, c, Mode::bits64, mem.ops());
    CHECK((c.rflags & (x86::flag_cf | x86::flag_zf)) == 0);
    CHECK((c.rflags & x86::flag_sf) != 0);
    CHECK(c.gpr[RAX] == 5);
    in = decode_ok({0x3b, 0x07});   // cmp (%rdi),%eax: 5 - 0xffffffff borrows
    x86::execute_unbacked(in, c, Mode::bits64, mem.ops());
    CHECK((c.rflags & x86::flag_cf) != 0);
    CHECK(c.gpr[RAX] == 5);
    in = decode_ok({0x80, 0x3f, 0xff});   // cmpb $0xff,(%rdi): equal
    x86::execute_unbacked(in, c, Mode::bits64, mem.ops());
    CHECK((c.rflags & x86::flag_zf) != 0);
    in = decode_ok({0x02, 0x07});   // add (%rdi),%al: 5 + 0xff
    x86::execute_unbacked(in, c, Mode::bits64, mem.ops());
    CHECK(c.gpr[RAX] == 4);
    CHECK((c.rflags & x86::flag_cf) != 0);
    in = decode_ok({0x48, 0x23, 0x07});   // and (%rdi),%rax
    c.gpr[RAX] = 0x8000'0000'0000'1234ull;
    x86::execute_unbacked(in, c, Mode::bits64, mem.ops());
    CHECK(c.gpr[RAX] == 0x8000'0000'0000'1234ull);
    CHECK((c.rflags & x86::flag_sf) != 0);
    in = decode_ok({0x0b, 0x07});   // or (%rdi),%eax
    x86::execute_unbacked(in, c, Mode::bits64, mem.ops());
    CHECK(c.gpr[RAX] == 0xffffffffull);
    in = decode_ok({0x85, 0x0f});   // test %ecx,(%rdi) with ecx 0: ZF
    c.gpr[RCX] = 0;
    x86::execute_unbacked(in, c, Mode::bits64, mem.ops());
    CHECK((c.rflags & x86::flag_zf) != 0);
    in = decode_ok({0xf6, 0x47, 0x01, 0x40});   // testb $0x40,1(%rdi)
    x86::execute_unbacked(in, c, Mode::bits64, mem.ops());
    CHECK((c.rflags & x86::flag_zf) == 0);
    in = decode_ok({0x81, 0x0f, 0x80, 0x00, 0x00, 0x00});   // orl: flags only
    x86::execute_unbacked(in, c, Mode::bits64, mem.ops());
    CHECK((c.rflags & x86::flag_sf) != 0);
    CHECK(mem.dropped == 0);
}

TEST_CASE("x86: string instructions element by element", "[x86]")
{
    FakeMem mem;
    for (uint64_t a = 0x5000; a < 0x5100; ++a) {
        mem.backed[a] = true;
        mem.ram[a] = 0x11;
    }
    // rep movsb from unbacked 0x9000 into RAM at 0x5000: RAM gets 0xff.
    x86::Cpu c = cpu_with(0);
    c.gpr[RSI] = 0x9000;
    c.gpr[RDI] = 0x5000;
    c.gpr[RCX] = 16;
    auto in = decode_ok({0xf3, 0xa4});
    CHECK(x86::execute_unbacked(in, c, Mode::bits64, mem.ops()) == 16);
    CHECK(c.gpr[RCX] == 0);
    CHECK(c.gpr[RSI] == 0x9010);
    CHECK(c.gpr[RDI] == 0x5010);
    CHECK(c.rip == 0x1002);
    CHECK(mem.ram[0x5000] == 0xff);
    CHECK(mem.ram[0x500f] == 0xff);
    CHECK(mem.ram[0x5010] == 0x11);

    // rep stosl into unbacked memory: dropped, RDI and RCX move on.
    c = cpu_with(0);
    c.gpr[RAX] = 0xdeadbeef;
    c.gpr[RDI] = 0xa000;
    c.gpr[RCX] = 8;
    in = decode_ok({0xf3, 0xab});
    CHECK(x86::execute_unbacked(in, c, Mode::bits64, mem.ops()) == 8);
    CHECK(c.gpr[RDI] == 0xa020);
    CHECK(c.gpr[RCX] == 0);
    CHECK(mem.dropped == 8);

    // Backwards (DF), bounded per call: RIP stays until the count is done.
    c = cpu_with(0);
    c.rflags |= x86::flag_df;
    c.gpr[RSI] = 0x9100;
    c.gpr[RDI] = 0xb100;
    c.gpr[RCX] = 10;
    in = decode_ok({0xf3, 0x48, 0xa5});   // rep movsq
    CHECK(x86::execute_unbacked(in, c, Mode::bits64, mem.ops(), 4) == 4);
    CHECK(c.gpr[RCX] == 6);
    CHECK(c.gpr[RSI] == 0x9100 - 32);
    CHECK(c.rip == 0x1000);
    CHECK(x86::execute_unbacked(in, c, Mode::bits64, mem.ops(), 100) == 6);
    CHECK(c.gpr[RCX] == 0);
    CHECK(c.rip == 0x1003);

    // REP with RCX = 0 does nothing but move on.
    c = cpu_with(0);
    in = decode_ok({0xf3, 0xa4});
    CHECK(x86::execute_unbacked(in, c, Mode::bits64, mem.ops()) == 0);
    CHECK(c.rip == 0x1002);

    // lodsw: AX all ones, RSI + 2; 16-bit addressing wraps SI only.
    c = cpu_with(0x12345678);
    c.gpr[RSI] = 0xabcdffff;
    in = decode_ok({0x66, 0xad}, Mode::bits16);   // lodsd in 16-bit code
    CHECK(in.size == 4);
    x86::execute_unbacked(in, c, Mode::bits16, mem.ops());
    CHECK(c.gpr[RAX] == 0xffffffffull);
    CHECK(c.gpr[RSI] == 0xabcd0003ull);
}

namespace {
// One 32-bit device register, as the xAPIC page's are.
struct FakeReg {
    uint64_t value = 0;
    int reads = 0, writes = 0;
    uint32_t last_size = 0;
    static uint64_t read(void* ctx, uint32_t size)
    {
        auto* r = static_cast<FakeReg*>(ctx);
        ++r->reads;
        r->last_size = size;
        return r->value;
    }
    static void write(void* ctx, uint32_t size, uint64_t value)
    {
        auto* r = static_cast<FakeReg*>(ctx);
        ++r->writes;
        r->last_size = size;
        r->value = value;
    }
    x86::Device ops() { return x86::Device{this, read, write}; }
};
} // namespace

TEST_CASE("x86: a device behind the operand: loads read it, stores and RMW forms write it", "[x86]")
{
    FakeReg reg;
    reg.value = 0x14050014;
    auto cpu = cpu_with(0xdeadbeefcafef00dull);
    auto in = decode_ok({0x8b, 0x07});   // mov (%rdi),%eax
    REQUIRE(x86::execute_device(in, cpu, Mode::bits64, reg.ops()));
    CHECK(cpu.gpr[RAX] == 0x14050014);   // zero-extended to 64 bits
    CHECK(cpu.rip == 0x1002);
    CHECK(reg.reads == 1);
    CHECK(reg.writes == 0);

    in = decode_ok({0x89, 0x0f});   // mov %ecx,(%rdi)
    REQUIRE(x86::execute_device(in, cpu, Mode::bits64, reg.ops()));
    CHECK(reg.value == 0xcafef00d);
    CHECK(reg.last_size == 4);

    in = decode_ok({0xc7, 0x07, 0x00, 0x01, 0x00, 0x00});   // movl $0x100,(%rdi)
    REQUIRE(x86::execute_device(in, cpu, Mode::bits64, reg.ops()));
    CHECK(reg.value == 0x100);

    in = decode_ok({0x81, 0x0f, 0x80, 0x00, 0x00, 0x00});   // orl $0x80,(%rdi)
    REQUIRE(x86::execute_device(in, cpu, Mode::bits64, reg.ops()));
    CHECK(reg.value == 0x180);
    CHECK(reg.writes == 3);

    in = decode_ok({0x39, 0x07});   // cmp %eax,(%rdi): reads, never writes
    REQUIRE(x86::execute_device(in, cpu, Mode::bits64, reg.ops()));
    CHECK(reg.writes == 3);
    CHECK(reg.value == 0x180);

    in = decode_ok({0xf7, 0x07, 0x00, 0x01, 0x00, 0x00});   // testl $0x100,(%rdi)
    REQUIRE(x86::execute_device(in, cpu, Mode::bits64, reg.ops()));
    CHECK((cpu.rflags & x86::flag_zf) == 0);

    in = decode_ok({0x0f, 0xb6, 0x07});   // movzbl (%rdi),%eax: the device is asked for one byte
    REQUIRE(x86::execute_device(in, cpu, Mode::bits64, reg.ops()));
    CHECK(reg.last_size == 1);
    CHECK(cpu.gpr[RAX] == 0x80);

    in = decode_ok({0xf3, 0xa5});   // rep movsl: not a device access
    CHECK_FALSE(x86::execute_device(in, cpu, Mode::bits64, reg.ops()));
}
