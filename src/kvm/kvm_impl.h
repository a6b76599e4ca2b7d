/* kvm_impl.h — internals of the KVM engine shared by kvm.c (device, VM, memory, interrupts, virtio
 * windows, boot, VM-wide state), vcpu.c (vCPU setup, run loop, pause, per-vCPU state) and pio.c
 * (port-I/O devices: COM1, i8042, exit port, CMOS). Not a public header: the VM layer uses kvm.h. */
#ifndef VMK_KVM_IMPL_H
#define VMK_KVM_IMPL_H
#include "kvm.h"
#include "x86.h"
#include "../dev/dev.h"
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>

#define KVM_NOTIFY_QUEUES 4u       /* ioeventfds per virtio window: QueueNotify values 0..3 */
#define KVM_MAX_MSRS      32u

typedef struct kvm_vcpu {
    struct kvm_machine *m;
    unsigned idx;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    bool thread_started;
    _Atomic bool in_loop;          /* the vCPU's thread is inside vcpu_loop (kickable) */
} kvm_vcpu;

struct kvm_vwin;
typedef struct kvm_notify {        /* an ioeventfd: a guest write of q to QueueNotify */
    struct kvm_vwin *w;
    uint32_t q;
    int fd;
} kvm_notify;

typedef struct kvm_vwin {          /* a virtio-mmio window */
    struct kvm_machine *m;
    unsigned slot;
    bool attached;
    const vmk_mmio_ops *ops;
    void *opaque;
    kvm_notify n[KVM_NOTIFY_QUEUES];
} kvm_vwin;

struct kvm_machine {
    vmk_mem *mem;
    unsigned ncpus;
    int kvm_fd, vm_fd;
    vmk_loop *loop;
    vmk_uart *uart;
    kvm_vcpu *vcpus;
    unsigned nvirtio;
    kvm_vwin virtio[KVM_X86_MAX_VIRTIO];
    struct kvm_cpuid2 *supported;  /* KVM_GET_SUPPORTED_CPUID */
    uint32_t msrs[KVM_MAX_MSRS];   /* MSRs saved/restored (those KVM reports) */
    unsigned nmsrs;
    bool dirty_logging;            /* the RAM slot has KVM_MEM_LOG_DIRTY_PAGES */
    bool booted;
    bool pvm;                      /* /dev/kvm is kvm_pvm: guest CPL0 code is emulated instruction by instruction */
    /* port devices (pio.c) */
    pthread_mutex_t pio_mtx;
    uint8_t cmos_idx;
    /* control */
    atomic_bool stop;
    atomic_int status;
    atomic_bool reboot, shutdown_pending, failed;
    pthread_mutex_t ctl;
    pthread_cond_t cv;
    int pause_depth;
    atomic_bool pause_req;
    unsigned parked;               /* vCPU threads parked for a pause */
    unsigned in_loop;              /* vCPU threads inside vcpu_loop */
    bool running;
    /* stats */
    _Atomic uint64_t exits_io, exits_mmio, exits_other, kicks;
    _Atomic uint64_t t_first_run, t_first_serial, t_exit;
    uint64_t t_create;
};

/* kvm.c */
int  kvm_ioctl(int fd, unsigned long req, void *arg);       /* retries EINTR, returns -1 with errno */
void kvm_stop_with(kvm_machine *m, int status, bool reboot); /* first stop wins; kicks every vCPU */
void kvm_sync_log_mode(kvm_machine *m);                  /* KVM dirty logging follows mem->log_on */
bool kvm_mmio(kvm_machine *m, uint64_t addr, uint8_t *data, unsigned len, bool is_write);

/* vcpu.c */
int  kvm_vcpu_create(kvm_machine *m, unsigned idx, char *err, size_t errlen);
void kvm_vcpu_destroy(kvm_vcpu *v);
int  kvm_vcpu_reset_state(kvm_vcpu *v, char *err, size_t errlen);   /* CPUID, MSRs, LAPIC, MP state */
void kvm_vcpus_kick(kvm_machine *m);
int  kvm_vcpu_save(kvm_vcpu *v, vmk_sbuf *b);
int  kvm_vcpu_load(kvm_vcpu *v, vmk_sread *r, char *err, size_t errlen);
int  kvm_kick_signal_init(void);

/* pio.c: one port access of len 1/2/4 bytes (data little-endian). */
void kvm_pio(kvm_machine *m, kvm_vcpu *v, uint16_t port, uint8_t *data, unsigned len, bool is_write);

/* State blobs (kvm.c and vcpu.c): a fixed-size KVM structure as u32 length + bytes; the reader
 * insists on the exact length. */
static inline void kvm_sb_blob(vmk_sbuf *b, const void *p, uint32_t n) { vmk_sb_u32(b, n); vmk_sb_bytes(b, p, n); }
static inline bool kvm_sr_blob(vmk_sread *r, void *p, uint32_t n, const char *what)
{
    uint32_t got = vmk_sr_u32(r);
    if (!vmk_sr_ok(r)) return false;
    if (got != n) { vmk_sr_fail(r, "%s: %u bytes, expected %u", what, got, n); return false; }
    return vmk_sr_bytes(r, p, n);
}

#endif
