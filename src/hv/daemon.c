/* daemon.c — `vmkit serve`: placeholder until the daemon lands. */
#include "hv.h"
#include <stdio.h>

int hv_serve_main(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "vmkit: the daemon is not implemented yet\n");
    return 1;
}

int hv_client_main(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vmkit: '%s' needs the daemon, which is not implemented yet\n", argv[0]);
    return 1;
}
