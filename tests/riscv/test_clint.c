/* test_clint.c — unit tests of the CLINT model: msip, mtimecmp/MTIP, mtime reads and writes with
 * partial (4-byte) accesses, out-of-range harts. */
#include "../test.h"
#include "riscv/platform.h"

static uint64_t fake_time;
static int lines[4][16];
static uint64_t tfn(void *o) { (void)o; return fake_time; }
static void irqfn(void *o, unsigned hart, unsigned bit, bool level) { (void)o; lines[hart][bit] = level; }

int main(void)
{
    const vmk_mmio_ops *ops = &rv_clint_ops;
    TEST_BEGIN("clint_msip");
    {
        rv_clint *c = rv_clint_new(2, tfn, irqfn, NULL);
        ops->write(c, 4, 1, 4);
        CHECK(lines[1][3] == 1 && lines[0][3] == 0);
        CHECK_EQ_U64(ops->read(c, 4, 4), 1);
        ops->write(c, 4, 0xfffffffe, 4);               /* only bit 0 is implemented */
        CHECK(lines[1][3] == 0);
        CHECK_EQ_U64(ops->read(c, 4, 4), 0);
        ops->write(c, 8, 1, 4);                        /* hart 2 does not exist: ignored */
        CHECK_EQ_U64(ops->read(c, 8, 4), 0);
        rv_clint_free(c);
    }
    TEST_END();

    TEST_BEGIN("clint_timer");
    {
        memset(lines, 0, sizeof(lines));
        fake_time = 1000;
        rv_clint *c = rv_clint_new(2, tfn, irqfn, NULL);
        CHECK_EQ_U64(ops->read(c, 0xbff8, 8), 1000);
        CHECK_EQ_U64(ops->read(c, 0x4000, 8), UINT64_MAX);   /* reset: never fires */
        ops->write(c, 0x4008, 1500, 8);
        CHECK(lines[1][7] == 0);
        fake_time = 1499;
        rv_clint_update(c, rv_clint_mtime(c));
        CHECK(lines[1][7] == 0);
        fake_time = 1500;
        rv_clint_update(c, rv_clint_mtime(c));
        CHECK(lines[1][7] == 1 && lines[0][7] == 0);
        ops->write(c, 0x4008, 5000, 8);                /* re-arming clears MTIP at once */
        CHECK(lines[1][7] == 0);
        /* 32-bit halves, as an RV32-style writer would do */
        ops->write(c, 0x4000, 0xffffffff, 4);
        ops->write(c, 0x4004, 0, 4);
        CHECK_EQ_U64(ops->read(c, 0x4000, 8), 0xffffffffull);
        CHECK_EQ_U64(ops->read(c, 0x4004, 4), 0);
        CHECK(lines[0][7] == 0);
        ops->write(c, 0x4004, 0, 4);
        ops->write(c, 0x4000, 100, 4);                 /* in the past: fires immediately */
        CHECK(lines[0][7] == 1);
        CHECK_EQ_U64(rv_clint_mtimecmp(c, 0), 100);
        rv_clint_free(c);
    }
    TEST_END();

    TEST_BEGIN("clint_mtime_write");
    {
        memset(lines, 0, sizeof(lines));
        fake_time = 500;
        rv_clint *c = rv_clint_new(1, tfn, irqfn, NULL);
        ops->write(c, 0x4000, 10000, 8);
        ops->write(c, 0xbff8, 20000, 8);               /* setting mtime moves the offset */
        CHECK_EQ_U64(rv_clint_mtime(c), 20000);
        CHECK(lines[0][7] == 1);
        fake_time = 600;
        CHECK_EQ_U64(ops->read(c, 0xbff8, 8), 20100);
        CHECK_EQ_U64(ops->read(c, 0xbffc, 4), 0);
        CHECK_EQ_U64(ops->read(c, 0xbff8, 4), 20100);
        CHECK_EQ_U64(ops->read(c, 0x8000, 4), 0);      /* hole */
        rv_clint_free(c);
        CHECK(rv_clint_new(0, tfn, irqfn, NULL) == NULL);
        CHECK(rv_clint_new(RV_MAX_HARTS + 1, tfn, irqfn, NULL) == NULL);
    }
    TEST_END();
    TEST_EXIT();
}
