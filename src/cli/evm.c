/* evm.c — placeholder for `vmkit evm` until the EVM engineer's cmd_evm lands (they overwrite this file). */
#include "cli.h"
#include <stdio.h>

int cmd_evm(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "vmkit evm: not built yet\n");
    return 1;
}
