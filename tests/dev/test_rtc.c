/* test_rtc.c — unit tests of the goldfish RTC: reads the host's wall clock through the latched
 * TIME_LOW/TIME_HIGH pair, guest writes move the clock, alarms never raise anything. */
#include "../test.h"
#include "dev/dev.h"
#include <time.h>

static uint64_t rtc_now(vmk_rtc *r)
{
    uint64_t lo = vmk_rtc_ops.read(r, 0x00, 4);
    uint64_t hi = vmk_rtc_ops.read(r, 0x04, 4);
    return (hi << 32) | lo;
}

int main(void)
{
    TEST_BEGIN("rtc_wall_clock");
    {
        vmk_rtc *r = vmk_rtc_new();
        time_t host = time(NULL);
        uint64_t ns = rtc_now(r);
        CHECK((int64_t)(ns / 1000000000ull) - (int64_t)host <= 1 && (int64_t)host - (int64_t)(ns / 1000000000ull) <= 1);
        uint64_t ns2 = rtc_now(r);
        CHECK(ns2 >= ns);
        vmk_rtc_free(r);
    }
    TEST_END();

    TEST_BEGIN("rtc_set_time");
    {
        vmk_rtc *r = vmk_rtc_new();
        uint64_t target = 1000000000ull * 86400 * 365;            /* 1971 */
        vmk_rtc_ops.write(r, 0x04, target >> 32, 4);               /* the Linux driver writes high, then low */
        vmk_rtc_ops.write(r, 0x00, (uint32_t)target, 4);
        uint64_t got = rtc_now(r);
        CHECK(got >= target && got - target < 1000000000ull);
        vmk_rtc_ops.write(r, 0x08, 5, 4);                          /* alarm registers are stored */
        vmk_rtc_ops.write(r, 0x10, 3, 4);
        CHECK_EQ_U64(vmk_rtc_ops.read(r, 0x08, 4), 5);
        CHECK_EQ_U64(vmk_rtc_ops.read(r, 0x10, 4), 1);
        CHECK_EQ_U64(vmk_rtc_ops.read(r, 0x18, 4), 0);             /* alarm status: never fired */
        CHECK_EQ_U64(vmk_rtc_ops.read(r, 0xffc, 4), 0);
        vmk_rtc_free(r);
    }
    TEST_END();
    TEST_EXIT();
}
