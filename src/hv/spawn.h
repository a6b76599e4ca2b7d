/* spawn.h — the daemon's process helpers (spawn.c): detached VMM start behind a waiter, pid start
 * times, pidfds, exit-status text. Private to src/hv. */
#ifndef VMK_HV_SPAWN_H
#define VMK_HV_SPAWN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hv_spawn_req {
    const char *exe;
    char **argv, **envp;
    const char *cwd;               /* the child's working directory */
    const char *log_path;          /* stdout + stderr (appended) */
    char cg_procs[4][256];         /* cgroup.procs files joined before exec */
    unsigned ncg;
    bool waiter;                   /* fork a waiter that writes exit_path when the VMM ends */
    const char *exit_path, *exit_tmp;
    char *title; size_t title_len;  /* the waiter overwrites this (the daemon's argv area) with its name */
    const char *name;
    int pass_fd;                   /* becomes the VMM's fd 3 (-1: none) */
} hv_spawn_req;
/* *pid = the supervised process (waiter, or the VMM itself), *vmm_pid = the VMM. */
int      hv_spawn(const hv_spawn_req *r, int *pid, int *vmm_pid, char *err, size_t errlen);
uint64_t hv_proc_start(int pid);                 /* /proc/PID/stat field 22; 0 if gone or a zombie */
bool     hv_proc_is(int pid, uint64_t start);    /* the same process still alive */
int      hv_pidfd_open(int pid);
void     hv_format_status(int wstatus, char *out, size_t n);   /* "exited N" / "signal N (SIGNAME)" */
#endif
