// Spinlocks with RAII guards. IrqSpinGuard also disables interrupts for the
// critical section, for locks shared with interrupt handlers (the console).
#pragma once
#include "arch/x86/cpu.hpp"

namespace menhir {

class Spinlock final {
public:
    void lock()
    {
        while (__atomic_exchange_n(&locked_, true, __ATOMIC_ACQUIRE))
            while (__atomic_load_n(&locked_, __ATOMIC_RELAXED)) cpu::pause();
    }
    [[nodiscard]] bool try_lock() { return !__atomic_exchange_n(&locked_, true, __ATOMIC_ACQUIRE); }
    void unlock() { __atomic_store_n(&locked_, false, __ATOMIC_RELEASE); }

private:
    bool locked_{false};
};

class [[nodiscard]] SpinGuard final {
public:
    explicit SpinGuard(Spinlock& l) : lock_{l} { lock_.lock(); }
    ~SpinGuard() { lock_.unlock(); }
    SpinGuard(const SpinGuard&) = delete;
    SpinGuard& operator=(const SpinGuard&) = delete;

private:
    Spinlock& lock_;
};

class [[nodiscard]] IrqSpinGuard final {
public:
    explicit IrqSpinGuard(Spinlock& l) : lock_{l}, irqs_were_on_{cpu::interrupts_enabled()}
    {
        cpu::cli();
        lock_.lock();
    }
    ~IrqSpinGuard()
    {
        lock_.unlock();
        if (irqs_were_on_) cpu::sti();
    }
    IrqSpinGuard(const IrqSpinGuard&) = delete;
    IrqSpinGuard& operator=(const IrqSpinGuard&) = delete;

private:
    Spinlock& lock_;
    bool irqs_were_on_;
};

} // namespace menhir
