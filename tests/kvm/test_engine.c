/* test_engine.c — unit tests of the KVM engine (src/kvm/kvm.c, vcpu.c, pio.c) with tiny guests
 * assembled into this file: real-mode and 64-bit entry, COM1 output, the exit port, long mode /
 * APIC id / KVM signature / zero-page pointer seen by the guest, MMIO dispatch to a virtio window,
 * QueueNotify through ioeventfd, triple fault, i8042 reset, pause + save + load into a second VM,
 * two vCPUs, refusals. Skips with the reason when /dev/kvm cannot be used. */
#include "base/base.h"
#include "mem/mem.h"
#include "kvm/kvm.h"
#include "kvm/x86.h"
#include "../test.h"
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

/* Guest code. Real mode: "Hi\n" on COM1, exit 42. Long mode: behaviour chosen by the byte at 0x6000. */
__asm__(
    ".pushsection .rodata\n"
    ".globl t_rm_start, t_rm_end, t_lm_start, t_lm_end\n"
    ".code16\n"
    "t_rm_start:\n"
    "  mov $0x3f8, %dx\n"
    "  mov $0x48, %al\n  out %al, (%dx)\n"
    "  mov $0x69, %al\n  out %al, (%dx)\n"
    "  mov $0x0a, %al\n  out %al, (%dx)\n"
    "  mov $0x501, %dx\n  mov $42, %al\n  out %al, (%dx)\n"
    "1: hlt\n  jmp 1b\n"
    "t_rm_end:\n"
    ".code64\n"
    ".macro VEXIT code\n  mov $0x501, %dx\n  mov $\\code, %al\n  out %al, (%dx)\n  hlt\n.endm\n"
    "t_lm_start:\n"
    "  mov %rsi, %r15\n"
    "  movzbl 0x6000, %eax\n"
    "  cmp $1, %eax\n  je 11f\n"
    "  cmp $2, %eax\n  je 12f\n"
    "  cmp $3, %eax\n  je 13f\n"
    "  cmp $4, %eax\n  je 14f\n"
    "  cmp $5, %eax\n  jne 17f\n  movl $1, 0x250000\n  jmp 12f\n17:\n"
    "  cmp $6, %eax\n  je 18f\n"
    "  cmp $7, %eax\n  je 20f\n"
    /* mode 0: checks */
    "  mov $0xc0000080, %ecx\n  rdmsr\n  bt $10, %eax\n  jc 2f\n  VEXIT 1\n"
    "2: mov %cr0, %rax\n  bt $31, %rax\n  jc 3f\n  VEXIT 2\n"
    "3: mov $1, %eax\n  cpuid\n  shr $24, %ebx\n  test %ebx, %ebx\n  jz 4f\n  VEXIT 3\n"
    "4: mov $0x40000000, %eax\n  cpuid\n  cmp $0x4b4d564b, %ebx\n  je 5f\n  VEXIT 4\n"
    "5: cmp $0x7000, %r15\n  je 6f\n  VEXIT 5\n"
    "6: mov $0x3f8, %dx\n"
    "  mov $0x6f, %al\n  out %al, (%dx)\n"
    "  mov $0x6b, %al\n  out %al, (%dx)\n"
    "  mov $0x0a, %al\n  out %al, (%dx)\n"
    "  VEXIT 7\n"
    /* mode 1: MMIO read/write, QueueNotify */
    "11: mov $0xd0000000, %ebx\n"
    "  mov (%rbx), %eax\n  cmp $0x74726976, %eax\n  je 15f\n  VEXIT 2\n"
    "15: movl $0x12345678, 0x70(%rbx)\n"
    "  movl $1, 0x50(%rbx)\n"
    "  movl $6, 0x50(%rbx)\n"
    "  VEXIT 8\n"
    /* mode 2: spin until [0x3000] != 0, exit with it */
    "12: movzbl 0x3000, %eax\n  test %eax, %eax\n  jnz 16f\n  pause\n  jmp 12b\n"
    "16: mov $0x501, %dx\n  out %al, (%dx)\n  hlt\n"
    /* mode 3: #UD with no IDT: triple fault */
    "13: ud2\n"
    /* mode 4: i8042 reset */
    "14: mov $0x64, %dx\n  mov $0xfe, %al\n  out %al, (%dx)\n  hlt\n"
    /* mode 6: IDT + LAPIC + IOAPIC pin 4 -> vector 0x30; the UART's THRE interrupt must arrive */
    "18: lidt 0x5f00\n"
    "  mov $0xff, %al\n  out %al, $0x21\n  out %al, $0xa1\n"      /* mask the PICs (LINT0 is ExtINT) */
    "  mov $0xfee000f0, %ebx\n  movl $0x1ff, (%rbx)\n"
    "  mov $0xfec00000, %ebx\n"
    "  movl $0x18, (%rbx)\n  movl $0x30, 0x10(%rbx)\n"
    "  movl $0x19, (%rbx)\n  movl $0, 0x10(%rbx)\n"
    "  sti\n"
    "  mov $0x3f9, %dx\n  mov $2, %al\n  out %al, (%dx)\n"
    "19: hlt\n  jmp 19b\n"
    /* mode 7: int3 with an IDT (vector 3): the handler exits with (return rip - int3 address) + 20 */
    "20: lidt 0x5f00\n"
    ".globl t_lm_int3\n"
    "t_lm_int3:\n  int3\n  VEXIT 1\n"
    ".globl t_lm_bp\n"
    "t_lm_bp:\n  mov (%rsp), %rax\n  mov $0x501, %dx\n  sub $0x100000, %eax\n  out %al, (%dx)\n  hlt\n"
    ".globl t_lm_irq\n"
    "t_lm_irq:\n  VEXIT 11\n"
    "t_lm_end:\n"
    ".popsection\n");
extern const uint8_t t_rm_start[], t_rm_end[], t_lm_start[], t_lm_end[], t_lm_irq[], t_lm_int3[], t_lm_bp[];

#define MEM_SIZE (16u << 20)

typedef struct fake_dev {
    _Atomic uint64_t last_write_off, last_write_val, notify_mask, writes;
} fake_dev;
static uint64_t fake_read(void *o, uint64_t off, unsigned size) { (void)o; (void)size; return off == 0 ? 0x74726976 : 0; }
static void fake_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
    fake_dev *d = o;
    (void)size;
    if (off == 0x50) { atomic_fetch_or(&d->notify_mask, 1ull << (val & 63)); return; }
    atomic_store(&d->last_write_off, off);
    atomic_store(&d->last_write_val, val);
    atomic_fetch_add(&d->writes, 1);
}
static const vmk_mmio_ops fake_ops = { fake_read, fake_write };

typedef struct env {
    vmk_mem mem;
    vmk_loop *loop;
    vmk_chardev *con;
    kvm_machine *m;
    char log[128], sock[128];
} env;

static int env_new(env *e, unsigned ncpus, bool with_loop, char *err)
{
    memset(e, 0, sizeof(*e));
    if (vmk_mem_init(&e->mem, 0, MEM_SIZE, err, VMK_ERRLEN) < 0) return -1;
    e->loop = vmk_loop_new();
    snprintf(e->sock, sizeof(e->sock), "/tmp/vmkit-kvmt-%d-%p.sock", (int)getpid(), (void *)e);
    snprintf(e->log, sizeof(e->log), "/tmp/vmkit-kvmt-%d-%p.log", (int)getpid(), (void *)e);
    unlink(e->log);
    char spec[300];
    snprintf(spec, sizeof(spec), "socket=%s,log=%s", e->sock, e->log);
    e->con = vmk_chr_open(spec, e->loop, NULL, NULL, err, VMK_ERRLEN);
    if (!e->con) return -1;
    e->m = kvm_machine_new(&e->mem, ncpus, e->con, with_loop ? e->loop : NULL, err, VMK_ERRLEN);
    return e->m ? 0 : -1;
}

static void env_free(env *e)
{
    vmk_loop_stop(e->loop);
    kvm_machine_free(e->m);
    vmk_chr_close(e->con);
    vmk_loop_free(e->loop);
    vmk_mem_free(&e->mem);
    unlink(e->log);
    unlink(e->sock);
}

static size_t read_log(env *e, char *buf, size_t n)
{
    FILE *f = fopen(e->log, "r");
    if (!f) { buf[0] = 0; return 0; }
    size_t k = fread(buf, 1, n - 1, f);
    buf[k] = 0;
    fclose(f);
    return k;
}

static int setup_lm(env *e, uint8_t mode, char *err)
{
    static const uint64_t gdt[5] = { 0, 0, X86_DESC_CODE64, X86_DESC_DATA, X86_DESC_TSS };
    vmk_mem_write(&e->mem, X86_GDT_ADDR, gdt, sizeof(gdt));
    x86_page_tables_build(&e->mem, X86_PML4_ADDR);
    vmk_mem_write(&e->mem, 0x6000, &mode, 1);
    vmk_mem_write(&e->mem, X86_KERNEL_ADDR, t_lm_start, (uint64_t)(t_lm_end - t_lm_start));
    return kvm_machine_set_entry64(e->m, X86_KERNEL_ADDR, X86_ZERO_PAGE_ADDR, X86_PML4_ADDR, X86_GDT_ADDR,
                                   sizeof(gdt) - 1, err, VMK_ERRLEN);
}

static void *stopper(void *arg)      /* a watchdog so that a broken engine never hangs the test */
{
    kvm_machine *m = arg;
    usleep(20 * 1000 * 1000);
    kvm_machine_request_stop(m, 99);
    return NULL;
}

static int run_guarded(kvm_machine *m)
{
    pthread_t t;
    pthread_create(&t, NULL, stopper, m);
    int rc = kvm_machine_run(m);
    pthread_cancel(t);
    pthread_join(t, NULL);
    return rc;
}

static void test_real_mode(void)
{
    TEST_BEGIN("kvm_real_mode_serial_and_exit_port");
    env e;
    char err[VMK_ERRLEN] = "";
    if (env_new(&e, 1, false, err) < 0) { CHECK(!*err); printf("  %s\n", err); }
    else {
        vmk_mem_write(&e.mem, 0x1000, t_rm_start, (uint64_t)(t_rm_end - t_rm_start));
        CHECK(kvm_machine_set_entry_real(e.m, 0x100, 0, err, sizeof(err)) == 0);
        uint64_t t0 = vmk_now_ns();
        int rc = run_guarded(e.m);
        uint64_t t1 = vmk_now_ns();
        CHECK_EQ_U64(rc, 42);
        CHECK(!kvm_machine_reboot_requested(e.m));
        char buf[256];
        read_log(&e, buf, sizeof(buf));
        CHECK(strcmp(buf, "Hi\n") == 0);
        kvm_machine_stats st;
        kvm_machine_get_stats(e.m, &st);
        CHECK(st.exits_io >= 4);
        CHECK(st.t_first_serial_ns >= st.t_first_run_ns && st.t_exit_ns >= st.t_first_serial_ns);
        printf("  real mode: run %.2f ms, first instruction -> first serial byte %.3f ms -> exit %.3f ms\n",
               (t1 - t0) / 1e6, (st.t_first_serial_ns - st.t_first_run_ns) / 1e6, (st.t_exit_ns - st.t_first_serial_ns) / 1e6);
    }
    env_free(&e);
    TEST_END();
}

static void test_long_mode(unsigned ncpus)
{
    char name[64];
    snprintf(name, sizeof(name), "kvm_long_mode_checks_%ucpu", ncpus);
    TEST_BEGIN(name);
    env e;
    char err[VMK_ERRLEN] = "";
    if (env_new(&e, ncpus, false, err) < 0) { CHECK(!*err); printf("  %s\n", err); }
    else {
        CHECK(setup_lm(&e, 0, err) == 0);
        int rc = run_guarded(e.m);
        CHECK_EQ_U64(rc, 7);          /* 1: not long mode, 2: no paging, 3: APIC id, 4: KVM signature, 5: rsi */
        char buf[256];
        read_log(&e, buf, sizeof(buf));
        CHECK(strcmp(buf, "ok\n") == 0);
    }
    env_free(&e);
    TEST_END();
}

static void test_mmio_ioeventfd(void)
{
    TEST_BEGIN("kvm_mmio_window_and_ioeventfd_notify");
    env e;
    char err[VMK_ERRLEN] = "";
    fake_dev d;
    memset(&d, 0, sizeof(d));
    if (env_new(&e, 1, true, err) < 0) { CHECK(!*err); printf("  %s\n", err); }
    else {
        vmk_irq irq;
        int slot = kvm_machine_reserve_virtio(e.m, &irq, err, sizeof(err));
        CHECK_EQ_U64(slot, 0);
        CHECK_EQ_U64(irq.line, X86_VIRTIO_IRQ0);
        kvm_machine_attach_virtio(e.m, slot, &fake_ops, &d);
        char cl[256] = "console=ttyS0";
        kvm_machine_virtio_cmdline(e.m, cl, sizeof(cl));
        CHECK(strcmp(cl, "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5") == 0);
        vmk_loop_start(e.loop);
        CHECK(setup_lm(&e, 1, err) == 0);
        int rc = run_guarded(e.m);
        CHECK_EQ_U64(rc, 8);
        CHECK_EQ_U64(atomic_load(&d.last_write_off), 0x70);
        CHECK_EQ_U64(atomic_load(&d.last_write_val), 0x12345678);
        for (int i = 0; i < 200 && atomic_load(&d.notify_mask) != ((1u << 1) | (1u << 6)); i++) usleep(5000);
        CHECK_EQ_U64(atomic_load(&d.notify_mask), (1u << 1) | (1u << 6));   /* 1 via ioeventfd, 6 via an MMIO exit */
        kvm_machine_stats st;
        kvm_machine_get_stats(e.m, &st);
        CHECK_EQ_U64(st.ioeventfd_kicks, 1);
        vmk_irq_set(&irq, 1);         /* the line works from any thread (no guest handler: nothing else) */
        vmk_irq_set(&irq, 0);
    }
    env_free(&e);
    TEST_END();
}

static void test_fail_and_reset(void)
{
    TEST_BEGIN("kvm_triple_fault_and_i8042_reset");
    env e;
    char err[VMK_ERRLEN] = "";
    if (env_new(&e, 1, false, err) < 0) { CHECK(!*err); printf("  %s\n", err); }
    else {
        CHECK(setup_lm(&e, 3, err) == 0);
        printf("  (a triple-fault message is expected next)\n");
        fflush(stdout);
        CHECK_EQ_U64(run_guarded(e.m), 1);
        CHECK(!kvm_machine_reboot_requested(e.m));
    }
    env_free(&e);
    if (env_new(&e, 1, false, err) == 0) {
        CHECK(setup_lm(&e, 4, err) == 0);
        CHECK_EQ_U64(run_guarded(e.m), 0);
        CHECK(kvm_machine_reboot_requested(e.m));
    }
    env_free(&e);
    /* after a graceful shutdown request (SysRq over COM1), the guest's reset ends the VM instead */
    if (env_new(&e, 1, false, err) == 0) {
        CHECK(setup_lm(&e, 4, err) == 0);
        kvm_machine_request_shutdown(e.m);
        CHECK_EQ_U64(run_guarded(e.m), 0);
        CHECK(!kvm_machine_reboot_requested(e.m));
    }
    env_free(&e);
    TEST_END();
}

typedef struct pause_ctx { kvm_machine *m; int rc; } pause_ctx;
static void *run_thread(void *arg) { pause_ctx *p = arg; p->rc = kvm_machine_run(p->m); return NULL; }

static void test_pause_save_load(void)
{
    TEST_BEGIN("kvm_pause_save_load_continue");
    env a, b;
    char err[VMK_ERRLEN] = "";
    if (env_new(&a, 2, false, err) < 0) { CHECK(!*err); printf("  %s\n", err); env_free(&a); TEST_END(); return; }
    CHECK(setup_lm(&a, 2, err) == 0);
    pause_ctx pc = { a.m, -1 };
    pthread_t t;
    pthread_create(&t, NULL, run_thread, &pc);
    usleep(100 * 1000);
    uint64_t t0 = vmk_now_ns();
    kvm_machine_pause(a.m);
    uint64_t t1 = vmk_now_ns();
    vmk_sbuf sb = { 0 };
    CHECK(kvm_machine_save(a.m, &sb) == 0);
    kvm_machine_pause(a.m);            /* nested */
    kvm_machine_resume(a.m);
    kvm_machine_resume(a.m);
    usleep(20 * 1000);
    kvm_machine_request_stop(a.m, 5);
    pthread_join(t, NULL);
    CHECK_EQ_U64(pc.rc, 5);
    printf("  pause took %.3f ms; state %zu bytes\n", (t1 - t0) / 1e6, sb.len);
    if (env_new(&b, 2, false, err) < 0) { CHECK(!*err); printf("  %s\n", err); }
    else {
        memcpy(b.mem.host, a.mem.host, MEM_SIZE);
        vmk_sread r;
        vmk_sr_init(&r, sb.data, sb.len);
        CHECK(kvm_machine_load(b.m, &r, err, sizeof(err)) == 0);
        if (*err) printf("  load: %s\n", err);
        CHECK(vmk_sr_done(&r));
        uint8_t nine = 9;
        vmk_mem_write(&b.mem, 0x3000, &nine, 1);
        CHECK_EQ_U64(run_guarded(b.m), 9);
        /* a truncated or corrupted state is refused with a message */
        kvm_machine_free(b.m);
        b.m = kvm_machine_new(&b.mem, 2, b.con, NULL, err, sizeof(err));
        vmk_sr_init(&r, sb.data, sb.len / 2);
        CHECK(kvm_machine_load(b.m, &r, err, sizeof(err)) < 0 && strstr(err, "x86_64 state"));
        sb.data[0] ^= 0xff;
        vmk_sr_init(&r, sb.data, sb.len);
        CHECK(kvm_machine_load(b.m, &r, err, sizeof(err)) < 0 && strstr(err, "version"));
    }
    env_free(&b);
    vmk_sb_free(&sb);
    env_free(&a);
    TEST_END();
}

static void test_dirty_log(void)
{
    TEST_BEGIN("kvm_dirty_log_follows_guest_writes");
    env e;
    char err[VMK_ERRLEN] = "";
    if (env_new(&e, 1, false, err) < 0) { CHECK(!*err); printf("  %s\n", err); env_free(&e); TEST_END(); return; }
    CHECK(setup_lm(&e, 5, err) == 0);
    vmk_mem_log_start(&e.mem);          /* before run: the first guest write must be caught */
    pause_ctx pc = { e.m, -1 };
    pthread_t t;
    pthread_create(&t, NULL, run_thread, &pc);
    usleep(100 * 1000);
    uint64_t words = (vmk_mem_pages(&e.mem) + 63) / 64;
    uint64_t *bits = calloc(words, 8);
    kvm_machine_pause(e.m);
    kvm_machine_dirty_sync(e.m);
    vmk_mem_log_harvest(&e.mem, bits, false);
    CHECK(bits[0x250 / 64] & (1ull << (0x250 % 64)));
    CHECK(!(bits[0x260 / 64] & (1ull << (0x260 % 64))));
    kvm_machine_resume(e.m);
    usleep(50 * 1000);
    kvm_machine_pause(e.m);
    kvm_machine_dirty_sync(e.m);
    uint64_t n = vmk_mem_log_harvest(&e.mem, bits, false);
    CHECK_EQ_U64(n, 0);                 /* the guest only reads now */
    uint8_t three = 3;
    vmk_mem_write(&e.mem, 0x3000, &three, 1);
    kvm_machine_resume(e.m);
    pthread_join(t, NULL);
    CHECK_EQ_U64(pc.rc, 3);
    free(bits);
    env_free(&e);
    TEST_END();
}

static void test_interrupt(void)
{
    TEST_BEGIN("kvm_uart_interrupt_reaches_guest_through_ioapic");
    env e;
    char err[VMK_ERRLEN] = "";
    if (env_new(&e, 1, false, err) < 0) { CHECK(!*err); printf("  %s\n", err); }
    else {
        CHECK(setup_lm(&e, 6, err) == 0);
        uint64_t h = X86_KERNEL_ADDR + (uint64_t)(t_lm_irq - t_lm_start);
        uint8_t gate[16] = { (uint8_t)h, (uint8_t)(h >> 8), X86_SEL_CS, 0, 0, 0x8e, (uint8_t)(h >> 16), (uint8_t)(h >> 24) };
        vmk_mem_write(&e.mem, 0x5000 + 0x30 * 16, gate, sizeof(gate));
        uint8_t idtr[10] = { 0xff, 0x0f, 0x00, 0x50 };      /* limit 0xfff, base 0x5000 */
        vmk_mem_write(&e.mem, 0x5f00, idtr, sizeof(idtr));
        CHECK_EQ_U64(run_guarded(e.m), 11);
    }
    env_free(&e);
    TEST_END();
}

static void test_int3(void)
{
    TEST_BEGIN("kvm_int3_in_kernel_mode_reaches_the_idt");
    env e;
    char err[VMK_ERRLEN] = "";
    if (env_new(&e, 1, false, err) < 0) { CHECK(!*err); printf("  %s\n", err); }
    else {
        CHECK(setup_lm(&e, 7, err) == 0);
        uint64_t h = X86_KERNEL_ADDR + (uint64_t)(t_lm_bp - t_lm_start);
        uint8_t gate[16] = { (uint8_t)h, (uint8_t)(h >> 8), X86_SEL_CS, 0, 0, 0x8e, (uint8_t)(h >> 16), (uint8_t)(h >> 24) };
        vmk_mem_write(&e.mem, 0x5000 + 3 * 16, gate, sizeof(gate));
        uint8_t idtr[10] = { 0xff, 0x0f, 0x00, 0x50 };
        vmk_mem_write(&e.mem, 0x5f00, idtr, sizeof(idtr));
        /* the handler exits with the low byte of (return rip - 1 MiB): the byte after the int3 */
        CHECK_EQ_U64(run_guarded(e.m), (uint8_t)(t_lm_int3 - t_lm_start + 1));
    }
    env_free(&e);
    TEST_END();
}

static void test_refusals(void)
{
    TEST_BEGIN("kvm_refuses_bad_configs");
    char err[VMK_ERRLEN] = "";
    vmk_mem fake = { .host = NULL, .base = 0, .size = 4ull << 30 };
    CHECK(!kvm_machine_new(&fake, 1, NULL, NULL, err, sizeof(err)) && strstr(err, "at most"));
    fake.size = 64u << 20;
    CHECK(!kvm_machine_new(&fake, 0, NULL, NULL, err, sizeof(err)) && strstr(err, "--cpus"));
    CHECK(!kvm_machine_new(&fake, 1000, NULL, NULL, err, sizeof(err)) && strstr(err, "--cpus"));
    fake.base = 0x80000000;
    CHECK(!kvm_machine_new(&fake, 1, NULL, NULL, err, sizeof(err)) && strstr(err, "start at 0"));
    TEST_END();
}

int main(void)
{
    vmk_log_init();
    char err[VMK_ERRLEN];
    int fd = kvm_open_dev(err, sizeof(err));
    if (fd < 0) {
        SKIP("kvm_engine", err);
        return 0;
    }
    close(fd);
    test_refusals();
    test_real_mode();
    test_long_mode(1);
    test_long_mode(2);
    test_mmio_ioeventfd();
    test_fail_and_reset();
    test_pause_save_load();
    test_dirty_log();
    test_interrupt();
    test_int3();
    TEST_EXIT();
}
