/* test_plic.c — unit tests of the PLIC model: priorities, thresholds, enables per context,
 * claim/complete with level-triggered sources, register layout and bad accesses. */
#include "../test.h"
#include "riscv/platform.h"

static int out_level[8];
static int out_changes;
static void out_cb(void *opaque, unsigned ctx, bool level)
{
    (void)opaque;
    out_level[ctx] = level;
    out_changes++;
}

static uint32_t rd(rv_plic *p, uint64_t off) { return (uint32_t)rv_plic_ops.read(p, off, 4); }
static void wr(rv_plic *p, uint64_t off, uint32_t v) { rv_plic_ops.write(p, off, v, 4); }
#define PRIO(s) (4u * (s))
#define ENABLE(c) (0x2000u + 0x80u * (c))
#define THRESH(c) (0x200000u + 0x1000u * (c))
#define CLAIM(c) (0x200004u + 0x1000u * (c))

int main(void)
{
    TEST_BEGIN("plic_basic_claim_complete");
    {
        memset(out_level, 0, sizeof(out_level));
        rv_plic *p = rv_plic_new(4, 95, out_cb, NULL);
        CHECK(p != NULL);
        wr(p, PRIO(10), 1);
        CHECK_EQ_U64(rd(p, PRIO(10)), 1);
        rv_plic_set_irq(p, 10, 1);
        CHECK_EQ_U64(rd(p, 0x1000), 1u << 10);        /* pending */
        CHECK(out_level[1] == 0);                      /* not enabled yet */
        wr(p, ENABLE(1), 1u << 10);
        CHECK(out_level[1] == 1);                      /* S context of hart 0 */
        CHECK(out_level[0] == 0);
        CHECK_EQ_U64(rd(p, CLAIM(1)), 10);
        CHECK(out_level[1] == 0);                      /* claimed: no longer pending */
        CHECK_EQ_U64(rd(p, 0x1000), 0);
        CHECK_EQ_U64(rd(p, CLAIM(1)), 0);              /* nothing more to claim */
        wr(p, CLAIM(1), 10);                           /* complete while line still high: pending again */
        CHECK(out_level[1] == 1);
        CHECK_EQ_U64(rd(p, CLAIM(1)), 10);
        rv_plic_set_irq(p, 10, 0);                     /* device lowers the line while serviced */
        wr(p, CLAIM(1), 10);
        CHECK(out_level[1] == 0);
        CHECK_EQ_U64(rd(p, 0x1000), 0);
        rv_plic_free(p);
    }
    TEST_END();

    TEST_BEGIN("plic_priority_threshold");
    {
        memset(out_level, 0, sizeof(out_level));
        rv_plic *p = rv_plic_new(2, 95, out_cb, NULL);
        wr(p, PRIO(3), 2);
        wr(p, PRIO(40), 5);
        wr(p, PRIO(41), 5);
        wr(p, PRIO(7), 0);                             /* priority 0 never interrupts */
        wr(p, ENABLE(0), (1u << 3) | (1u << 7));
        wr(p, ENABLE(0) + 4, (1u << (40 - 32)) | (1u << (41 - 32)));
        CHECK_EQ_U64(rd(p, ENABLE(0) + 4), (1u << 8) | (1u << 9));
        rv_plic_set_irq(p, 7, 1);
        CHECK(out_level[0] == 0);
        rv_plic_set_irq(p, 3, 1);
        rv_plic_set_irq(p, 41, 1);
        rv_plic_set_irq(p, 40, 1);
        CHECK(out_level[0] == 1);
        wr(p, THRESH(0), 5);                           /* threshold masks priority <= 5 */
        CHECK_EQ_U64(rd(p, THRESH(0)), 5);
        CHECK(out_level[0] == 0);
        CHECK_EQ_U64(rd(p, CLAIM(0)), 0);
        wr(p, THRESH(0), 2);
        CHECK(out_level[0] == 1);
        CHECK_EQ_U64(rd(p, CLAIM(0)), 40);             /* equal priorities: lowest id first */
        CHECK_EQ_U64(rd(p, CLAIM(0)), 41);
        CHECK_EQ_U64(rd(p, CLAIM(0)), 0);              /* 3 has priority 2 == threshold */
        wr(p, THRESH(0), 0);
        CHECK_EQ_U64(rd(p, CLAIM(0)), 3);
        CHECK(out_level[0] == 0);
        wr(p, PRIO(3), 0xffffffffu);                   /* priority is masked to the implemented bits */
        CHECK_EQ_U64(rd(p, PRIO(3)), 7);
        rv_plic_free(p);
    }
    TEST_END();

    TEST_BEGIN("plic_per_context");
    {
        memset(out_level, 0, sizeof(out_level));
        rv_plic *p = rv_plic_new(4, 95, out_cb, NULL);
        wr(p, PRIO(1), 1);
        wr(p, PRIO(2), 1);
        wr(p, ENABLE(1), 1u << 1);                     /* hart 0 S: source 1 */
        wr(p, ENABLE(3), 1u << 2);                     /* hart 1 S: source 2 */
        rv_plic_set_irq(p, 2, 1);
        CHECK(out_level[1] == 0 && out_level[3] == 1 && out_level[0] == 0 && out_level[2] == 0);
        CHECK_EQ_U64(rd(p, CLAIM(1)), 0);              /* not enabled for context 1 */
        /* complete from a context where the source is not enabled is ignored */
        CHECK_EQ_U64(rd(p, CLAIM(3)), 2);
        rv_plic_set_irq(p, 2, 0);
        wr(p, CLAIM(1), 2);
        rv_plic_set_irq(p, 2, 1);
        CHECK(out_level[3] == 0);                      /* still claimed: gateway closed */
        wr(p, CLAIM(3), 2);
        CHECK(out_level[3] == 1);
        rv_plic_set_irq(p, 1, 1);
        CHECK(out_level[1] == 1);
        rv_plic_free(p);
    }
    TEST_END();

    TEST_BEGIN("plic_bad_accesses");
    {
        memset(out_level, 0, sizeof(out_level));
        out_changes = 0;
        rv_plic *p = rv_plic_new(2, 95, out_cb, NULL);
        rv_plic_set_irq(p, 0, 1);                      /* source 0 does not exist */
        rv_plic_set_irq(p, 96, 1);                     /* beyond ndev */
        rv_plic_set_irq(p, 100000, 1);
        CHECK_EQ_U64(rd(p, 0x1000), 0);
        CHECK_EQ_U64(rd(p, 0x1008), 0);
        wr(p, ENABLE(0), 0xffffffffu);
        CHECK_EQ_U64(rd(p, ENABLE(0)), 0xfffffffeu);   /* bit 0 (source 0) is hardwired to 0 */
        wr(p, ENABLE(0) + 8, 0xffffffffu);
        CHECK_EQ_U64(rd(p, ENABLE(0) + 8), 0xffffffffu);   /* sources 64..95 */
        wr(p, ENABLE(5), 1);                           /* context 5 does not exist */
        CHECK_EQ_U64(rd(p, ENABLE(5)), 0);
        wr(p, CLAIM(0), 12345);                        /* complete of a bogus id */
        wr(p, PRIO(200), 3);
        CHECK_EQ_U64(rd(p, PRIO(200)), 0);
        CHECK_EQ_U64(rv_plic_ops.read(p, 0x5ffffc, 4), 0);
        wr(p, 0x1000, 0xffffffffu);                    /* pending is read-only */
        CHECK_EQ_U64(rd(p, 0x1000), 0);
        CHECK(out_changes == 0);
        /* 8-byte access covers two registers */
        wr(p, PRIO(4), 3);
        wr(p, PRIO(5), 6);
        CHECK_EQ_U64(rv_plic_ops.read(p, PRIO(4), 8), (6ull << 32) | 3);
        rv_plic_free(p);
    }
    TEST_END();
    TEST_EXIT();
}
