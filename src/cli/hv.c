/* hv.c — `vmkit serve` and the verbs that talk to the daemon (create, start, stop, ..., migrate). */
#include "cli.h"
#include "../hv/hv.h"
#include <string.h>

static const char *const verbs[] = { "create", "start", "stop", "kill", "pause", "resume", "ls", "inspect",
                                     "console", "logs", "stats", "rm", "snapshot", "restore", "clone",
                                     "migrate", NULL };

int cli_is_hv_verb(const char *cmd)
{
    for (int i = 0; verbs[i]; i++) if (!strcmp(cmd, verbs[i])) return 1;
    return 0;
}

int cmd_serve(int argc, char **argv) { return hv_serve_main(argc, argv); }
int cmd_hv(int argc, char **argv) { return hv_client_main(argc, argv); }
