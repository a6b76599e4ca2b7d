/* goldfish_rtc.c — the goldfish real-time clock ("google,goldfish-rtc", as on QEMU virt): gives the
 * guest the host's wall-clock time (CLOCK_REALTIME, ns) plus an offset the guest may set. The alarm
 * registers are kept but never fire. Saved state: the offset and the alarm registers. Thread-safe (one
 * mutex). */
#include "dev.h"
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

enum { RTC_TIME_LOW = 0x00, RTC_TIME_HIGH = 0x04, RTC_ALARM_LOW = 0x08, RTC_ALARM_HIGH = 0x0c,
       RTC_IRQ_ENABLED = 0x10, RTC_CLEAR_ALARM = 0x14, RTC_ALARM_STATUS = 0x18, RTC_CLEAR_INTERRUPT = 0x1c };

struct vmk_rtc {
    pthread_mutex_t lock;
    int64_t offset;          /* guest time = host realtime + offset */
    uint32_t time_high;      /* latched by a TIME_LOW read */
    uint32_t alarm_high, alarm_low, irq_enabled;
};

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned size)
{
    vmk_rtc *r = opaque;
    uint64_t v = 0;
    (void)size;
    pthread_mutex_lock(&r->lock);
    switch (off) {
    case RTC_TIME_LOW: {
        uint64_t now = host_ns() + (uint64_t)r->offset;
        r->time_high = (uint32_t)(now >> 32);
        v = (uint32_t)now;
        break;
    }
    case RTC_TIME_HIGH: v = r->time_high; break;
    case RTC_ALARM_LOW: v = r->alarm_low; break;
    case RTC_ALARM_HIGH: v = r->alarm_high; break;
    case RTC_IRQ_ENABLED: v = r->irq_enabled; break;
    default: break;          /* ALARM_STATUS: never armed */
    }
    pthread_mutex_unlock(&r->lock);
    return v;
}

static void rtc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    vmk_rtc *r = opaque;
    uint32_t v = (uint32_t)val;
    (void)size;
    pthread_mutex_lock(&r->lock);
    uint64_t host = host_ns(), now = host + (uint64_t)r->offset, want;
    switch (off) {
    case RTC_TIME_LOW:
        want = (now & 0xffffffff00000000ull) | v;
        r->offset = (int64_t)(want - host);
        break;
    case RTC_TIME_HIGH:
        want = ((uint64_t)v << 32) | (now & 0xffffffffull);
        r->offset = (int64_t)(want - host);
        break;
    case RTC_ALARM_LOW: r->alarm_low = v; break;
    case RTC_ALARM_HIGH: r->alarm_high = v; break;
    case RTC_IRQ_ENABLED: r->irq_enabled = v & 1; break;
    default: break;
    }
    pthread_mutex_unlock(&r->lock);
}

const vmk_mmio_ops vmk_rtc_ops = { .read = rtc_read, .write = rtc_write };

vmk_rtc *vmk_rtc_new(void)
{
    vmk_rtc *r = vmk_xcalloc(1, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

void vmk_rtc_free(vmk_rtc *r)
{
    if (!r) return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* ---------- state ---------- */
#define RTC_STATE_VERSION 1u

void vmk_rtc_save(vmk_rtc *r, vmk_sbuf *b)
{
    pthread_mutex_lock(&r->lock);
    vmk_sb_u32(b, RTC_STATE_VERSION);
    vmk_sb_u64(b, (uint64_t)r->offset);
    vmk_sb_u32(b, r->time_high);
    vmk_sb_u32(b, r->alarm_low);
    vmk_sb_u32(b, r->alarm_high);
    vmk_sb_u32(b, r->irq_enabled);
    pthread_mutex_unlock(&r->lock);
}

int vmk_rtc_load(vmk_rtc *r, vmk_sread *rd)
{
    uint32_t ver = vmk_sr_u32(rd);
    if (vmk_sr_ok(rd) && ver != RTC_STATE_VERSION) {
        vmk_sr_fail(rd, "rtc: state version %u, expected %u", ver, RTC_STATE_VERSION);
        return -1;
    }
    int64_t off = (int64_t)vmk_sr_u64(rd);
    uint32_t th = vmk_sr_u32(rd), al = vmk_sr_u32(rd), ah = vmk_sr_u32(rd), ie = vmk_sr_u32(rd);
    if (!vmk_sr_ok(rd)) return -1;
    if (ie > 1) {
        vmk_sr_fail(rd, "rtc: invalid irq-enabled value %u", ie);
        return -1;
    }
    pthread_mutex_lock(&r->lock);
    r->offset = off;          /* the guest's wall clock keeps following the host's, as before */
    r->time_high = th;
    r->alarm_low = al;
    r->alarm_high = ah;
    r->irq_enabled = ie;
    pthread_mutex_unlock(&r->lock);
    return 0;
}
