/* log.c — leveled logging to stderr, user-facing fatal errors, and the error-buffer convention. */
#include "base.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vmk_log_level = VMK_LOG_WARN;

void vmk_log_init(void)
{
    const char *s = getenv("VMKIT_LOG");
    if (!s) return;
    static const char *names[] = { "error", "warn", "info", "debug" };
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) vmk_log_level = i;
}

void vmk_log(int level, const char *fmt, ...)
{
    if (level > vmk_log_level) return;
    static const char *tags[] = { "error", "warning", "info", "debug" };
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '\n') buf[--n] = 0;
    /* \r first: the console may be in raw mode, where a bare \n does not return the carriage */
    fprintf(stderr, "\rvmkit: %s: %s\r\n", tags[level < 0 ? 0 : level > 3 ? 3 : level], buf);
}

static void user_vmsg(const char *fmt, va_list ap)
{
    fputs("vmkit: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void vmk_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    user_vmsg(fmt, ap);
    va_end(ap);
    exit(1);
}

int vmk_user_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    user_vmsg(fmt, ap);
    va_end(ap);
    return 1;
}

void vmk_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
