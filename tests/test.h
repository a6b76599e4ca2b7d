/* test.h — the tiny unit-test harness: each check prints nothing on success; each TEST ends with
 * a "PASS name" or "FAIL name: reason" line; tests/run.sh counts them. SKIP lines say why. */
#ifndef VMK_TEST_H
#define VMK_TEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_total, t_passed_total, t_cur_failed;
static const char *t_cur_name;

#define TEST_BEGIN(name) do { t_cur_name = (name); t_cur_failed = 0; } while (0)
#define TEST_END() do { if (t_cur_failed) { t_failed_total++; printf("FAIL %s\n", t_cur_name); } \
                        else { t_passed_total++; printf("PASS %s\n", t_cur_name); } fflush(stdout); } while (0)
#define CHECK(cond) do { if (!(cond)) { t_cur_failed = 1; \
        fprintf(stdout, "  check failed: %s (%s:%d) in %s\n", #cond, __FILE__, __LINE__, t_cur_name); } } while (0)
#define CHECK_EQ_U64(a, b) do { unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
        if (_a != _b) { t_cur_failed = 1; fprintf(stdout, "  check failed: %s == %s (0x%llx != 0x%llx) (%s:%d) in %s\n", \
        #a, #b, _a, _b, __FILE__, __LINE__, t_cur_name); } } while (0)
#define SKIP(name, reason) do { printf("SKIP %s: %s\n", (name), (reason)); fflush(stdout); } while (0)
#define TEST_EXIT() return t_failed_total ? 1 : 0

#endif
