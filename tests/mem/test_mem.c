/* test_mem.c — unit tests for guest memory bounds checks and dirty tracking. */
#include "base/base.h"
#include "mem/mem.h"
#include "../test.h"

int main(void)
{
    char err[VMK_ERRLEN];
    TEST_BEGIN("mem_bounds");
    vmk_mem m;
    CHECK(vmk_mem_init(&m, 0x80000000ull, 1 << 20, err, sizeof err) == 0);
    CHECK(vmk_mem_ptr(&m, 0x80000000ull, 1 << 20) != NULL);
    CHECK(vmk_mem_ptr(&m, 0x80000000ull, (1 << 20) + 1) == NULL);
    CHECK(vmk_mem_ptr(&m, 0x7fffffffull, 1) == NULL);
    CHECK(vmk_mem_ptr(&m, 0x800fffffull, 1) != NULL);
    CHECK(vmk_mem_ptr(&m, 0x80100000ull, 0) != NULL);     /* empty range at the end is in bounds */
    CHECK(vmk_mem_ptr(&m, 0x80000010ull, UINT64_MAX) == NULL);
    CHECK(vmk_mem_ptr(&m, UINT64_MAX, 2) == NULL);
    m.track_dirty = true;
    uint32_t x = 42;
    CHECK(vmk_mem_write(&m, 0x80003000ull, &x, 4) == 0);
    CHECK(m.dirty[0] == (1ull << 3));
    CHECK(vmk_mem_write(&m, 0x80100000ull, &x, 4) < 0);
    vmk_mem_free(&m);
    CHECK(vmk_mem_init(&m, 0, 1ull << 50, err, sizeof err) < 0 && strstr(err, "more than this host has"));
    CHECK(vmk_mem_init(&m, 0, 12345, err, sizeof err) < 0);
    TEST_END();
    TEST_EXIT();
}
