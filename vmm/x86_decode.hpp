// Pure x86 instruction decoder and executor for guest accesses to memory with
// nothing behind it (Xen's PVH answer: reads all ones, writes dropped): the
// instruction forms a kernel uses on device registers, nothing more. Host
// tested; vmm/exit/mmio_unbacked.cpp fetches the bytes and applies the result.
#pragma once
#include <cstddef>
#include <cstdint>

namespace menhir::x86 {

// Code-segment default sizes (SDM Vol 3A 3.4.5: CS.L with IA-32e mode, else CS.D).
enum class Mode : uint8_t { bits16, bits32, bits64 };

// What the instruction does with its memory operand.
enum class Kind : uint8_t {
    load,        // MOV r, m / MOV AL|eAX, moffs
    store,       // MOV m, r / MOV m, imm / MOV moffs, AL|eAX
    movzx,       // MOVZX r, m8/m16
    movsx,       // MOVSX r, m8/m16
    alu_to_reg,  // OP r, m (ADD ADC ... CMP): the register is the destination
    alu_to_mem,  // OP m, r / OP m, imm: memory is the destination (CMP: neither)
    test,        // TEST m, r / TEST m, imm
    movs, stos, lods,
};

// ALU operations in their ModRM /digit order (SDM Vol 2 Table A-6, group 1).
enum class Alu : uint8_t { add, or_, adc, sbb, and_, sub, xor_, cmp };

// Segment registers in their Sreg encoding order (SDM Vol 2 Table B-6).
enum class Seg : uint8_t { es, cs, ss, ds, fs, gs };

inline constexpr size_t max_length = 15;   // SDM Vol 2 2.3.11

struct Instruction {
    uint8_t length{};
    Kind kind{};
    Alu alu{};
    uint8_t size{};          // bytes of the memory operand: 1, 2, 4, 8
    uint8_t reg_size{};      // bytes of the register operand (movzx/movsx: the destination)
    uint8_t reg{};           // register operand (0 = RAX ... 15 = R15)
    bool high_byte{};        // reg 4..7 of a byte operand without REX: AH CH DH BH
    bool has_imm{};
    uint64_t imm{};          // sign-extended to the operand size, then masked
    uint8_t address_size{};  // 2, 4, 8
    Seg seg{Seg::ds};        // segment of the memory operand (strings: the source)
    bool rep{};              // F3 or F2 on a string instruction
    // Memory operand: base + index * scale + disp (RIP-relative: base_rip).
    bool has_base{}, has_index{}, base_rip{};
    uint8_t base{}, index{}, scale{1};
    int64_t disp{};
};

enum class DecodeError : uint8_t { none, truncated, unsupported };

// Decodes the instruction in bytes[0, len). Only forms with a memory operand
// that this file can execute are accepted; everything else is unsupported.
[[nodiscard]] DecodeError decode(const uint8_t* bytes, size_t len, Mode mode, Instruction& out);

// Register state the executor reads and changes (index 4 = RSP).
struct Cpu {
    uint64_t gpr[16];
    uint64_t rip;
    uint64_t rflags;
    uint64_t seg_base[6];
};

// Guest memory for string instructions, by linear address: read returns
// false when nothing backs it (the element then reads as all ones); write
// drops what nothing backs.
struct Memory {
    void* ctx;
    bool (*read)(void* ctx, uint64_t linear, uint32_t size, uint64_t& value);
    void (*write)(void* ctx, uint64_t linear, uint32_t size, uint64_t value);
};

// Linear address of the (non-string) memory operand, given RIP after the instruction.
[[nodiscard]] uint64_t effective_address(const Instruction& in, const Cpu& cpu, Mode mode);

// Runs `in` as if its memory operand had no RAM behind it: loads give all
// ones, stores vanish, flags are those of the operation on all ones. String
// instructions go element by element through `mem`, at most `max_items` per
// call; RIP moves past the instruction only once the count is done.
// Returns how many elements were moved (1 for non-string instructions).
uint64_t execute_unbacked(const Instruction& in, Cpu& cpu, Mode mode, const Memory& mem, uint64_t max_items = 1024);

// A device register behind the (non-string) memory operand: read gives the
// operand's `size` bytes, write takes them.
struct Device {
    void* ctx;
    uint64_t (*read)(void* ctx, uint32_t size);
    void (*write)(void* ctx, uint32_t size, uint64_t value);
};

// Runs a non-string `in` against `dev` (a load reads it, a store or a
// read-modify-write ALU form writes it; CMP and TEST only read). False for
// string instructions, which go through execute_unbacked.
bool execute_device(const Instruction& in, Cpu& cpu, Mode mode, const Device& dev);

// RFLAGS bits the ALU forms set (SDM Vol 1 3.4.3.1).
inline constexpr uint64_t flag_cf = 1u << 0, flag_pf = 1u << 2, flag_af = 1u << 4, flag_zf = 1u << 6,
                          flag_sf = 1u << 7, flag_df = 1u << 10, flag_of = 1u << 11;
inline constexpr uint64_t arith_flags = flag_cf | flag_pf | flag_af | flag_zf | flag_sf | flag_of;

// `a OP b` on `size` bytes: the result (masked) and the new RFLAGS.
struct AluResult { uint64_t value; uint64_t rflags; };
[[nodiscard]] AluResult alu(Alu op, uint64_t a, uint64_t b, uint32_t size, uint64_t rflags);

} // namespace menhir::x86
