/* apiready.c — bench helper: starts a VMM (argv after "--") and measures the time from fork to the
 * moment its control socket answers: "http" (vmkit's per-VM API: GET / returns "HTTP/1.1 200") or
 * "qmp" (QEMU: the QMP greeting '{"QMP"' arrives). Prints the milliseconds, kills the VMM.
 * usage: apiready http|qmp SOCKET -- CMD ARGS... */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--")) {
        fprintf(stderr, "usage: apiready http|qmp SOCKET -- CMD ARGS...\n");
        return 2;
    }
    int qmp = !strcmp(argv[1], "qmp");
    const char *sock = argv[2];
    unlink(sock);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        dup2(fd, 0); dup2(fd, 1); dup2(fd, 2);
        execvp(argv[4], argv + 4);
        _exit(127);
    }
    double t = -1;
    while (now_ms() - t0 < 20000) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            char buf[512];
            if (!qmp) {
                const char *rq = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
                if (write(fd, rq, strlen(rq)) < 0) {}
            }
            ssize_t n = read(fd, buf, sizeof(buf) - 1);
            if (n > 0) {
                buf[n] = 0;
                if ((qmp && strstr(buf, "{\"QMP\"")) || (!qmp && !strncmp(buf, "HTTP/1.1 200", 12))) {
                    t = now_ms() - t0;
                    close(fd);
                    break;
                }
            }
        }
        close(fd);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) { fprintf(stderr, "apiready: the VMM exited\n"); return 1; }
        usleep(200);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    unlink(sock);
    if (t < 0) { fprintf(stderr, "apiready: no answer within 20 s\n"); return 1; }
    printf("%.2f\n", t);
    return 0;
}
