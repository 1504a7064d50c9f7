// The few C++ runtime hooks a freestanding kernel must provide itself.
#include "kernel/panic.hpp"
#include "kernel/mm/memory.hpp"
#include <cstddef>

extern "C" void __cxa_pure_virtual() { menhir::panic("pure virtual function called"); }

void* operator new(size_t size) { return menhir::kmalloc(size); }
void* operator new[](size_t size) { return menhir::kmalloc(size); }
void operator delete(void* p) noexcept { menhir::kfree(p); }
void operator delete[](void* p) noexcept { menhir::kfree(p); }
void operator delete(void* p, size_t) noexcept { menhir::kfree(p); }
void operator delete[](void* p, size_t) noexcept { menhir::kfree(p); }
