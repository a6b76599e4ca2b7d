/* main.c — the vmkit command: dispatches `vmkit <cmd> ...` to the subcommands in cli.h and handles
 * `vmkit --help` and `vmkit --version`. */
#include "cli.h"
#include "../base/base.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define VMKIT_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vmkit <command> [options]\n"
            "\n"
            "commands:\n"
            "  run   boot a virtual machine (RV64GC software engine: OpenSBI + Linux); no options boots\n"
            "        the default guest from the images directory. See `vmkit run --help`.\n"
            "  evm   execute Ethereum state tests / bytecode. See `vmkit evm --help`.\n"
            "  serve the hypervisor daemon (REST/JSON API on a unix socket). See `vmkit serve --help`.\n"
            "\n"
            "VMs managed by the daemon (each: `vmkit <verb> --help`):\n"
            "  create start stop kill pause resume ls inspect console logs stats rm\n"
            "  snapshot restore clone migrate\n"
            "\n"
            "  vmkit --help       this text\n"
            "  vmkit --version    print the version\n"
            "\n"
            "environment: VMKIT_LOG=error|warn|info|debug, VMKIT_IMAGES=<dir of default guest images>\n");
}

int main(int argc, char **argv)
{
    /* stdin/stdout/stderr closed by the caller: occupy them with /dev/null so that no file vmkit opens
     * later (the event loop's epoll fd, a disk) is mistaken for the console */
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd) return 1;
    vmk_log_init();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
        printf("vmkit %s\n", VMKIT_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "evm")) return cmd_evm(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (cli_is_hv_verb(cmd)) return cmd_hv(argc - 1, argv + 1);
    fprintf(stderr, "vmkit: unknown command '%s' (see vmkit --help)\n", cmd);
    return 2;
}
