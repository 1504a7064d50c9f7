// C++ half of the guest runtime: IDT (and, in 64-bit mode, TSS) set-up, the
// crash-on-exception handler, shutdown, and start_info helpers.
#include "runtime.hpp"

#include "hypercall.hpp"
#include "print.hpp"
#include "x86.hpp"

extern "C" {
extern uint64_t pvh_gdt[];
extern void (*const isr_stub_table[32])();
#if defined(__x86_64__)
extern uint64_t pvh_pd[];
#endif
[[noreturn]] void guest_start(uint32_t start_info_paddr);
struct TrapFrame;
void exception_dispatch(TrapFrame* frame);
}

// Register image that isr.S builds on the stack (lowest address first).
struct TrapFrame {
#if defined(__x86_64__)
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;  // rsp/ss always present in 64-bit mode
#else
    uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
    uint32_t vector, error;
    uint32_t eip, cs, eflags;  // esp/ss only follow on a privilege change
#endif
};

namespace guest {
namespace {

const xen::hvm_start_info* g_start_info = nullptr;

struct [[gnu::packed]] TableRegister {
    uint16_t limit;
    uintptr_t base;
};

#if defined(__x86_64__)
struct IdtGate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
static_assert(sizeof(IdtGate) == 16);

struct [[gnu::packed]] Tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
static_assert(sizeof(Tss) == 104);

Tss g_tss;
alignas(16) uint8_t g_ring0_stack[16384];  // TSS.RSP0: entry stack from ring 3
#else
struct IdtGate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t zero;
    uint8_t type_attr;
    uint16_t offset_high;
};
static_assert(sizeof(IdtGate) == 8);
#endif

alignas(16) IdtGate g_idt[256];

void load_tss() {
#if defined(__x86_64__)
    g_tss.rsp[0] = reinterpret_cast<uintptr_t>(g_ring0_stack + sizeof(g_ring0_stack));
    g_tss.iomap_base = sizeof(Tss);  // no I/O bitmap
    uint64_t base = reinterpret_cast<uintptr_t>(&g_tss);
    uint64_t limit = sizeof(Tss) - 1;
    // Available 64-bit TSS (type 9), present.
    pvh_gdt[TSS_SEL / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
                           (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    pvh_gdt[TSS_SEL / 8 + 1] = base >> 32;
    asm volatile("ltr %w0" : : "r"(TSS_SEL) : "memory");
#endif
}

void load_idt() {
    for (unsigned v = 0; v < 32; ++v) idt_set_gate(v, isr_stub_table[v], 0);
    idt_load();
}

#if defined(__x86_64__)
// Per-vCPU block; GS base points at it.
struct PerCpu {
    uint32_t vcpu;
    uint32_t pad;
};
PerCpu g_percpu[MAX_VCPUS];
#endif

// The unused-frame window (alloc_unused_gfn).
uint64_t g_unused_next = 0;
uint64_t g_unused_end = 0;

const char* const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "22",  "23",  "24",  "25",  "26",  "27",  "28",  "#VC", "#SX", "31",
};

int g_exception_depth = 0;

}  // namespace

void idt_set_gate(unsigned vector, void (*entry)(), unsigned dpl) {
    uintptr_t off = reinterpret_cast<uintptr_t>(entry);
    IdtGate& g = g_idt[vector & 0xff];
    g.offset_low = static_cast<uint16_t>(off);
    g.type_attr = static_cast<uint8_t>(0x8e | ((dpl & 3) << 5));  // present interrupt gate
#if defined(__x86_64__)
    g.selector = KERNEL_CS64;
    g.ist = 0;
    g.offset_mid = static_cast<uint16_t>(off >> 16);
    g.offset_high = static_cast<uint32_t>(off >> 32);
    g.reserved = 0;
#else
    g.selector = KERNEL_CS32;
    g.zero = 0;
    g.offset_high = static_cast<uint16_t>(off >> 16);
#endif
}

void idt_load() {
    TableRegister idtr{sizeof(g_idt) - 1, reinterpret_cast<uintptr_t>(g_idt)};
    asm volatile("lidt %0" : : "m"(idtr) : "memory");
}

unsigned this_vcpu() {
#if defined(__x86_64__)
    uint32_t v;
    asm volatile("movl %%gs:0, %0" : "=r"(v));
    return v;
#else
    return 0;
#endif
}

void percpu_init(unsigned vcpu) {
#if defined(__x86_64__)
    if (vcpu >= MAX_VCPUS) return;
    g_percpu[vcpu].vcpu = vcpu;
    wrmsr(MSR_GS_BASE, reinterpret_cast<uintptr_t>(&g_percpu[vcpu]));
#else
    (void)vcpu;
#endif
}

#if defined(__x86_64__)
uint64_t* identity_pde(uint64_t paddr) {
    if (paddr >= IDENTITY_MAP_END) return nullptr;
    return &pvh_pd[paddr >> 21];
}
#endif

void shutdown(unsigned reason) {
    long rc = sched_shutdown(reason);
    print("%s: SCHEDOP_shutdown(%u) returned %ld\n", guest_name, reason, rc);
    halt_forever();
}

const xen::hvm_start_info* start_info() { return g_start_info; }

const char* cmdline() {
    if (g_start_info == nullptr || g_start_info->cmdline_paddr == 0) return "";
    return reinterpret_cast<const char*>(static_cast<uintptr_t>(g_start_info->cmdline_paddr));
}

size_t str_len(const char* s) {
    size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

bool str_eq(const char* a, const char* b) {
    for (; *a != '\0' && *a == *b; ++a, ++b) {
    }
    return *a == *b;
}

bool str_starts_with(const char* s, const char* prefix) {
    for (; *prefix != '\0'; ++s, ++prefix)
        if (*s != *prefix) return false;
    return true;
}

bool cmdline_option(const char* line, const char* key, char* out, size_t out_size) {
    size_t key_len = str_len(key);
    const char* p = line;
    while (*p != '\0') {
        while (*p == ' ') ++p;
        const char* word = p;
        while (*p != '\0' && *p != ' ') ++p;
        size_t word_len = static_cast<size_t>(p - word);
        if (word_len < key_len || !str_starts_with(word, key)) continue;
        const char* value = word + key_len;
        size_t value_len = 0;
        if (word_len == key_len) {
            value_len = 0;
        } else if (*value == '=') {
            ++value;
            value_len = word_len - key_len - 1;
        } else {
            continue;  // a longer key with this one as prefix
        }
        if (out_size > 0) {
            size_t n = value_len < out_size - 1 ? value_len : out_size - 1;
            for (size_t i = 0; i < n; ++i) out[i] = value[i];
            out[n] = '\0';
        }
        return true;
    }
    return false;
}

bool cmdline_number(const char* line, const char* key, uint64_t* out) {
    char text[32];
    if (!cmdline_option(line, key, text, sizeof(text)) || text[0] == '\0') return false;
    const char* p = text;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    uint64_t v = 0;
    for (; *p != '\0'; ++p) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = static_cast<unsigned>(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = static_cast<unsigned>(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = static_cast<unsigned>(*p - 'A' + 10);
        else
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

size_t memory_map(MemoryRange* out, size_t max) {
    const xen::hvm_start_info* si = g_start_info;
    size_t n = 0;
    if (si != nullptr && si->version >= 1 && si->memmap_paddr != 0 && si->memmap_entries != 0) {
        auto* e = reinterpret_cast<const xen::hvm_memmap_table_entry*>(static_cast<uintptr_t>(si->memmap_paddr));
        for (; n < si->memmap_entries && n < max; ++n) out[n] = MemoryRange{e[n].addr, e[n].size, e[n].type};
        return n;
    }
    // Version 0 start_info: ask the hypervisor instead.
    static xen::e820_entry entries[64];
    xen::xen_memory_map map{64, reinterpret_cast<uintptr_t>(entries)};
    if (memory_op(xen::XENMEM_memory_map, &map) != 0) return 0;
    for (; n < map.nr_entries && n < 64 && n < max; ++n)
        out[n] = MemoryRange{entries[n].addr, entries[n].size, entries[n].type};
    return n;
}

uint64_t ram_end() {
    MemoryRange ranges[64];
    size_t n = memory_map(ranges, 64);
    uint64_t end = 0;
    for (size_t i = 0; i < n; ++i)
        if (ranges[i].type == xen::MEMMAP_TYPE_RAM && ranges[i].addr + ranges[i].size > end)
            end = ranges[i].addr + ranges[i].size;
    return end;
}

uint64_t unbacked_paddr() {
    MemoryRange map[64];
    size_t n = memory_map(map, 64);
    uint64_t target = ram_end() + (1u << 20);
    for (bool moved = true; moved;) {
        moved = false;
        for (size_t i = 0; i < n; ++i) {
            if (target >= map[i].addr && target < map[i].addr + map[i].size) {
                target = map[i].addr + map[i].size + (1u << 20);
                moved = true;
            }
        }
    }
    return target;
}

uint64_t alloc_unused_gfn(unsigned count) {
    if (g_unused_end == 0) {
        // First call: [align_up(RAM end, 2 MiB), next memory-map range or 4 GiB).
        MemoryRange map[64];
        size_t n = memory_map(map, 64);
        uint64_t start = (ram_end() + (2u << 20) - 1) & ~((2ull << 20) - 1);
        for (bool moved = true; moved;) {
            moved = false;
            for (size_t i = 0; i < n; ++i) {
                if (start >= map[i].addr && start < map[i].addr + map[i].size) {
                    start = (map[i].addr + map[i].size + (2u << 20) - 1) & ~((2ull << 20) - 1);
                    moved = true;
                }
            }
        }
        uint64_t end = 4ull << 30;
        for (size_t i = 0; i < n; ++i)
            if (map[i].addr >= start && map[i].addr < end) end = map[i].addr;
        if (start >= end) return 0;
        g_unused_next = start >> 12;
        g_unused_end = end >> 12;
    }
    if (count == 0 || g_unused_end - g_unused_next < count) return 0;
    uint64_t gfn = g_unused_next;
    g_unused_next += count;
    return gfn;
}

const xen::hvm_modlist_entry* modules(unsigned* count) {
    const xen::hvm_start_info* si = g_start_info;
    if (si == nullptr || si->nr_modules == 0 || si->modlist_paddr == 0) {
        *count = 0;
        return nullptr;
    }
    *count = si->nr_modules;
    return reinterpret_cast<const xen::hvm_modlist_entry*>(static_cast<uintptr_t>(si->modlist_paddr));
}

uint16_t xen_domid() {
    uint32_t base = xen_cpuid_base();
    if (base == 0) return xen::DOMID_INVALID;
    if (cpuid(base).eax < base + 4) return xen::DOMID_INVALID;
    CpuidRegs r = cpuid(base + 4);
    if (!(r.eax & xen::XEN_HVM_CPUID_DOMID_PRESENT)) return xen::DOMID_INVALID;
    return static_cast<uint16_t>(r.ecx);
}

uint32_t xen_cpuid_base() {
    for (uint32_t leaf = xen::CPUID_LEAF_FIRST; leaf < xen::CPUID_LEAF_LAST; leaf += xen::CPUID_LEAF_STEP) {
        CpuidRegs r = cpuid(leaf);
        // "XenVMMXenVMM" read as little-endian EBX, ECX, EDX.
        if (r.ebx == 0x566e6558 && r.ecx == 0x65584d4d && r.edx == 0x4d4d566e && r.eax - leaf >= 2) return leaf;
    }
    return 0;
}

}  // namespace guest

using namespace guest;

extern "C" void exception_dispatch(TrapFrame* f) {
    int depth = ++g_exception_depth;
    if (depth > 1) {
        // Faulted while reporting a fault: no more printing. Try the shutdown
        // once more; if even that faults, halt.
        if (depth == 2) sched_shutdown(xen::SHUTDOWN_crash);
        halt_forever();
    }
    unsigned v = static_cast<unsigned>(f->vector);
    const char* name = v < 32 ? exception_names[v] : "?";
#if defined(__x86_64__)
    print("%s: exception %u (%s) err=0x%llx rip=0x%llx cs=0x%llx rflags=0x%llx rsp=0x%llx cr2=0x%llx\n", guest_name, v,
          name, static_cast<unsigned long long>(f->error), static_cast<unsigned long long>(f->rip),
          static_cast<unsigned long long>(f->cs), static_cast<unsigned long long>(f->rflags),
          static_cast<unsigned long long>(f->rsp), static_cast<unsigned long long>(read_cr2()));
    print("%s: rax=0x%llx rbx=0x%llx rcx=0x%llx rdx=0x%llx rsi=0x%llx rdi=0x%llx rbp=0x%llx\n", guest_name,
          static_cast<unsigned long long>(f->rax), static_cast<unsigned long long>(f->rbx),
          static_cast<unsigned long long>(f->rcx), static_cast<unsigned long long>(f->rdx),
          static_cast<unsigned long long>(f->rsi), static_cast<unsigned long long>(f->rdi),
          static_cast<unsigned long long>(f->rbp));
#else
    print("%s: exception %u (%s) err=0x%x eip=0x%x cs=0x%x eflags=0x%x cr2=0x%x\n", guest_name, v, name, f->error,
          f->eip, f->cs, f->eflags, static_cast<unsigned>(read_cr2()));
    print("%s: eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x esi=0x%x edi=0x%x ebp=0x%x\n", guest_name, f->eax, f->ebx, f->ecx,
          f->edx, f->esi, f->edi, f->ebp);
#endif
    crash();
}

extern "C" void guest_start(uint32_t start_info_paddr) {
    load_tss();
    load_idt();
    percpu_init(0);
    if (start_info_paddr == 0) {
        print("%s: no start_info (ebx = 0)\n", guest_name);
        crash();
    }
    auto* si = reinterpret_cast<const xen::hvm_start_info*>(static_cast<uintptr_t>(start_info_paddr));
    if (si->magic != xen::HVM_START_MAGIC) {
        print("%s: bad start_info magic 0x%x at 0x%x\n", guest_name, si->magic, start_info_paddr);
        crash();
    }
    g_start_info = si;
    guest_main(si);
    poweroff();
}
