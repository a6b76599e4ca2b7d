/* hello.c — the smallest test guest: prints "vmkit-x86 hello" on COM1 and powers off with status 0. */
#include "lib.h"

int guest_main(const uint8_t *zp)
{
    (void)zp;
    puts_serial("vmkit-x86 hello\n");
    vm_exit(0);
}
