#include "kernel/time/rtc.hpp"
#include "arch/x86/cpu.hpp"
#include "arch/x86/pit.hpp"
#include "kernel/console.hpp"

namespace menhir::rtc {
namespace {

uint64_t seconds_at_boot = 0;

// MC146818 registers (index port 0x70, data 0x71): status A bit 7 = update
// in progress, status B bit 2 = binary (else BCD), bit 1 = 24-hour.
uint8_t read_reg(uint8_t reg)
{
    cpu::outb(0x70, reg);
    return cpu::inb(0x71);
}

uint8_t from_bcd(uint8_t v, bool binary) { return binary ? v : static_cast<uint8_t>((v & 0xf) + (v >> 4) * 10); }

// Days from 1970-01-01 to y-m-d (proleptic Gregorian).
uint64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<uint64_t>(era * 146097 + static_cast<int64_t>(doe) - 719468);
}

} // namespace

void read_at_boot()
{
    for (int i = 0; i < 1000000 && (read_reg(0x0a) & 0x80); ++i) cpu::pause();
    const uint8_t b = read_reg(0x0b);
    const bool binary = b & 0x04;
    const uint8_t sec = from_bcd(read_reg(0x00), binary);
    const uint8_t min = from_bcd(read_reg(0x02), binary);
    uint8_t hour_raw = read_reg(0x04);
    const bool pm = !(b & 0x02) && (hour_raw & 0x80);
    uint8_t hour = from_bcd(static_cast<uint8_t>(hour_raw & 0x7f), binary);
    if (!(b & 0x02)) hour = static_cast<uint8_t>(hour % 12 + (pm ? 12 : 0));
    const uint8_t day = from_bcd(read_reg(0x07), binary);
    const uint8_t month = from_bcd(read_reg(0x08), binary);
    const uint8_t year = from_bcd(read_reg(0x09), binary);
    const uint64_t days = days_from_civil(2000 + year, month ? month : 1, day ? day : 1);
    // System time counts from TSC 0; the wallclock is the date at that time.
    const uint64_t since_tsc0 = tsc::khz() ? cpu::rdtsc() / tsc::khz() / 1000 : 0;
    seconds_at_boot = days * 86400 + hour * 3600u + min * 60u + sec - since_tsc0;
    info("RTC: 20%02u-%02u-%02u %02u:%02u:%02u", year, month, day, hour, min, sec);
}

uint64_t boot_seconds() { return seconds_at_boot; }

} // namespace menhir::rtc
