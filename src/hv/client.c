/* client.c — placeholder */
#include "hv.h"
#include <stdio.h>
int hv_client_main(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "vmkit: '%s' is not implemented yet\n", argv[0]);
    return 1;
}
