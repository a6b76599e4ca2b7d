/* cli.h — the vmkit command's subcommands. main.c dispatches `vmkit <cmd> ...` to cmd_<cmd>(argc, argv)
 * with argv[0] = the subcommand name. Each returns the process exit status and handles --help. */
#ifndef VMK_CLI_H
#define VMK_CLI_H
int cmd_run(int argc, char **argv);     /* run.c  — boot a VM (software RISC-V engine by default) */
int cmd_evm(int argc, char **argv);     /* evm.c  — `vmkit evm statetest|run ...` */
#endif
