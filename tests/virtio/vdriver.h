/* vdriver.h — a minimal virtio-mmio guest driver for unit tests: guest RAM, a running loop, an irq
 * recorder, register access, driver init, descriptor posting and used-ring polling. */
#ifndef VMK_TEST_VDRIVER_H
#define VMK_TEST_VDRIVER_H
#include "virtio/virtio.h"
#include "virtio/virtio_impl.h"
#include <stdatomic.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (1u << 20)

static vmk_mem mem;
static vmk_loop *loop;
static _Atomic int irq_level, irq_raises;

static inline void irq_set(void *ctx, unsigned line, int level)
{
    (void)ctx; (void)line;
    if (level && !atomic_load(&irq_level)) atomic_fetch_add(&irq_raises, 1);
    atomic_store(&irq_level, level);
}

static inline void msleep(int ms) { struct timespec ts = { 0, ms * 1000000L }; nanosleep(&ts, NULL); }

/* ---------------- guest-driver side ---------------- */
static inline uint32_t rd(virtio_dev *d, uint64_t off) { return (uint32_t)virtio_mmio_ops.read(d, off, 4); }
static inline void wr(virtio_dev *d, uint64_t off, uint32_t v) { virtio_mmio_ops.write(d, off, v, 4); }
static inline void *g(uint64_t gpa) { return mem.host + (gpa - RAM_BASE); }

typedef struct gq { uint64_t desc, avail, used; uint16_t num, avail_idx, next_desc, used_seen; } gq;
typedef struct seg { uint64_t gpa; uint32_t len; bool write; } seg;

#define QNUM 16
static gq gqs[2];

/* Standard init: reset, ACK, DRIVER, features, FEATURES_OK, queues at fixed addresses, DRIVER_OK. */
static inline int driver_init(virtio_dev *d, unsigned nq, uint64_t want)
{
    wr(d, 0x70, 0);
    wr(d, 0x70, 1);
    wr(d, 0x70, 1 | 2);
    wr(d, 0x14, 0); uint64_t f = rd(d, 0x10);
    wr(d, 0x14, 1); f |= (uint64_t)rd(d, 0x10) << 32;
    want &= f;
    wr(d, 0x24, 0); wr(d, 0x20, (uint32_t)want);
    wr(d, 0x24, 1); wr(d, 0x20, (uint32_t)(want >> 32));
    wr(d, 0x70, 1 | 2 | 8);
    if (!(rd(d, 0x70) & 8)) return -1;
    for (unsigned q = 0; q < nq; q++) {
        gq *Q = &gqs[q];
        memset(Q, 0, sizeof *Q);
        Q->num = QNUM;
        Q->desc = RAM_BASE + 0x1000 + q * 0x1000;
        Q->avail = Q->desc + 0x400;
        Q->used = Q->desc + 0x800;
        memset(g(Q->desc), 0, 0x1000);
        wr(d, 0x30, q);
        if (rd(d, 0x34) < QNUM) return -1;
        wr(d, 0x38, QNUM);
        wr(d, 0x80, (uint32_t)Q->desc); wr(d, 0x84, (uint32_t)(Q->desc >> 32));
        wr(d, 0x90, (uint32_t)Q->avail); wr(d, 0x94, (uint32_t)(Q->avail >> 32));
        wr(d, 0xa0, (uint32_t)Q->used); wr(d, 0xa4, (uint32_t)(Q->used >> 32));
        wr(d, 0x44, 1);
        if (rd(d, 0x44) != 1) return -1;
    }
    wr(d, 0x70, 1 | 2 | 8 | 4);
    return 0;
}

static inline void put_desc(gq *Q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *p = g(Q->desc + 16ull * i);
    memcpy(p, &addr, 8); memcpy(p + 8, &len, 4); memcpy(p + 12, &flags, 2); memcpy(p + 14, &next, 2);
}

static inline void publish(virtio_dev *d, unsigned q, uint16_t head)
{
    gq *Q = &gqs[q];
    uint16_t *ring = g(Q->avail + 4);
    ring[Q->avail_idx % Q->num] = head;
    Q->avail_idx++;
    atomic_store_explicit((_Atomic uint16_t *)g(Q->avail + 2), Q->avail_idx, memory_order_release);
    wr(d, 0x50, q);
}

/* Posts a chain of segments (direct descriptors) and notifies. Returns the head. */
static inline uint16_t post(virtio_dev *d, unsigned q, const seg *s, unsigned n)
{
    gq *Q = &gqs[q];
    uint16_t head = Q->next_desc;
    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % Q->num);
        put_desc(Q, idx, s[i].gpa, s[i].len, (uint16_t)((s[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
                 (uint16_t)((idx + 1) % Q->num));
    }
    Q->next_desc = (uint16_t)((head + n) % Q->num);
    publish(d, q, head);
    return head;
}

static inline uint16_t used_idx(unsigned q)
{
    return atomic_load_explicit((_Atomic uint16_t *)g(gqs[q].used + 2), memory_order_acquire);
}

/* Waits until the device used one more buffer on q; returns its length or -1 on timeout. */
static inline int64_t wait_used(unsigned q, uint32_t *id)
{
    gq *Q = &gqs[q];
    uint64_t t0 = vmk_now_ns();
    while (used_idx(q) == Q->used_seen && vmk_now_ns() - t0 < 2000000000ull) {
        if (vmk_now_ns() - t0 < 500000) sched_yield();          /* spin briefly, then sleep */
        else msleep(1);
    }
    if (used_idx(q) == Q->used_seen) return -1;
    uint32_t *ent = g(Q->used + 4 + 8ull * (Q->used_seen % Q->num));
    if (id) *id = ent[0];
    Q->used_seen++;
    return ent[1];
}

static inline bool wait_broken(virtio_dev *d)
{
    for (int i = 0; i < 2000 && !virtio_dev_is_broken(d); i++) msleep(1);
    return virtio_dev_is_broken(d);
}

static inline const virtio_env *env(void)
{
    static virtio_env e;
    e.mem = &mem;
    e.loop = loop;
    e.irq = (vmk_irq){ irq_set, NULL, 5 };
    return &e;
}

#endif
