/* cow.c — copy-on-write disk overlays (work in progress: creation not available yet). */
#include "virtio_impl.h"

int virtio_cow_create(const char *path, const char *base, char *err, size_t errlen)
{
    vmk_seterr(err, errlen, "overlay '%s' on '%s': copy-on-write overlays are not implemented yet", path, base);
    return -1;
}
