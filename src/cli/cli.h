/* cli.h — the vmkit command's subcommands. main.c dispatches `vmkit <cmd> ...` to cmd_<cmd>(argc, argv)
 * with argv[0] = the subcommand name. Each returns the process exit status and handles --help. */
#ifndef VMK_CLI_H
#define VMK_CLI_H
int cmd_run(int argc, char **argv);     /* run.c  — boot a VM (software RISC-V engine by default) */
int cmd_evm(int argc, char **argv);     /* evm.c  — `vmkit evm statetest|run ...` */
int cmd_serve(int argc, char **argv);   /* hv.c   — `vmkit serve`: the daemon */
/* hv.c — verbs that talk to the daemon: create start stop kill pause resume ls inspect console logs
 * stats rm snapshot restore clone migrate */
int cmd_hv(int argc, char **argv);
int cli_is_hv_verb(const char *cmd);
#endif
