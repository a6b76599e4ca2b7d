/* test_util.c — unit tests for src/base/util.c and log.c helpers. */
#include "base/base.h"
#include "../test.h"

int main(void)
{
    uint64_t v;
    TEST_BEGIN("parse_size");
    CHECK(vmk_parse_size("256M", &v) == 0 && v == 256ull << 20);
    CHECK(vmk_parse_size("1G", &v) == 0 && v == 1ull << 30);
    CHECK(vmk_parse_size("1GiB", &v) == 0 && v == 1ull << 30);
    CHECK(vmk_parse_size("4096", &v) == 0 && v == 4096);
    CHECK(vmk_parse_size("64k", &v) == 0 && v == 65536);
    CHECK(vmk_parse_size("", &v) < 0);
    CHECK(vmk_parse_size("M", &v) < 0);
    CHECK(vmk_parse_size("12X", &v) < 0);
    CHECK(vmk_parse_size("-1", &v) < 0);
    CHECK(vmk_parse_size("99999999999999999999", &v) < 0);
    CHECK(vmk_parse_size("17179869184G", &v) < 0);
    TEST_END();

    TEST_BEGIN("read_file_errors");
    char err[VMK_ERRLEN];
    size_t len;
    CHECK(vmk_read_file("/nonexistent/x", 100, &len, err, sizeof err) == NULL && strstr(err, "cannot open"));
    CHECK(vmk_read_file("/", 100, &len, err, sizeof err) == NULL && strstr(err, "not a regular file"));
    TEST_END();

    TEST_EXIT();
}
