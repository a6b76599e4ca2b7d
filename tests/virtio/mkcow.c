/* mkcow.c — test tool: creates a vmkit copy-on-write overlay (virtio_cow_create). Used by cow.t.sh.
 * usage: mkcow OVERLAY BASE */
#include "virtio/virtio.h"
#include <stdio.h>

int main(int argc, char **argv)
{
    char err[VMK_ERRLEN];
    if (argc != 3) { fprintf(stderr, "usage: mkcow OVERLAY BASE\n"); return 2; }
    uint64_t t0 = vmk_now_ns();
    if (virtio_cow_create(argv[1], argv[2], err, sizeof err) < 0) { fprintf(stderr, "vmkit: %s\n", err); return 1; }
    printf("created in %llu us\n", (unsigned long long)(vmk_now_ns() - t0) / 1000);
    return 0;
}
