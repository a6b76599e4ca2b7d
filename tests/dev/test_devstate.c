/* test_devstate.c — UART break (LSR.BI with a 0 byte, then the key: Magic SysRq over serial) and
 * save/load of the UART (registers, FIFO and input queue, break marks) and the goldfish RTC
 * (offset, alarm registers), including rejection of truncated and invalid state. */
#include "../test.h"
#include "dev/dev.h"

static int irq_level;
static void irq_set(void *ctx, unsigned line, int level) { (void)ctx; (void)line; irq_level = level; }
enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, SCR = 7 };

int main(void)
{
    vmk_irq irq = { .set = irq_set };
    TEST_BEGIN("uart_break");
    {
        vmk_uart *u = vmk_uart_new(NULL, irq);
        vmk_uart_write_reg(u, FCR, 0x01);
        vmk_uart_write_reg(u, IER, 0x05);                         /* ERBFI | ELSI, as Linux sets */
        vmk_uart_send_break(u, 's');
        CHECK(irq_level == 1);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR) & 0x0f, 0x06);    /* receiver line status first */
        CHECK_EQ_U64(vmk_uart_read_reg(u, LSR) & 0x11, 0x11);    /* BI | DR */
        CHECK_EQ_U64(vmk_uart_read_reg(u, LSR) & 0x10, 0x10);    /* stays until the byte is read */
        CHECK_EQ_U64(vmk_uart_read_reg(u, RBR), 0);              /* the break's 0 byte */
        CHECK_EQ_U64(vmk_uart_read_reg(u, LSR) & 0x11, 0x01);    /* next byte: no BI */
        CHECK_EQ_U64(vmk_uart_read_reg(u, RBR), 's');
        CHECK_EQ_U64(vmk_uart_read_reg(u, LSR) & 0x11, 0x00);
        CHECK(irq_level == 0);
        vmk_uart_free(u);
    }
    TEST_END();

    TEST_BEGIN("uart_save_load");
    {
        vmk_uart *u = vmk_uart_new(NULL, irq);
        vmk_uart_write_reg(u, FCR, 0x01 | 0x40);
        vmk_uart_write_reg(u, LCR, 0x83);
        vmk_uart_write_reg(u, 0, 0x07);
        vmk_uart_write_reg(u, LCR, 0x1b);
        vmk_uart_write_reg(u, IER, 0x01);
        vmk_uart_write_reg(u, MCR, 0x0b);
        vmk_uart_write_reg(u, SCR, 0x5a);
        vmk_uart_receive(u, (const uint8_t *)"hello", 5);
        CHECK_EQ_U64(vmk_uart_read_reg(u, RBR), 'h');
        vmk_uart_send_break(u, 'o');
        vmk_sbuf b = { 0 };
        vmk_uart_save(u, &b);
        irq_level = 0;
        vmk_uart *v = vmk_uart_new(NULL, irq);
        vmk_sread r;
        vmk_sr_init(&r, b.data, b.len);
        CHECK(vmk_uart_load(v, &r) == 0 && vmk_sr_done(&r));
        CHECK(irq_level == 1);                                    /* the line is driven again */
        CHECK_EQ_U64(vmk_uart_read_reg(v, LCR), 0x1b);
        CHECK_EQ_U64(vmk_uart_read_reg(v, MCR), 0x0b);
        CHECK_EQ_U64(vmk_uart_read_reg(v, SCR), 0x5a);
        CHECK_EQ_U64(vmk_uart_read_reg(v, IER), 0x01);
        CHECK_EQ_U64(vmk_uart_read_reg(v, IIR), 0xc4);            /* FIFO on, 4 bytes >= trigger 4 */
        vmk_uart_write_reg(v, LCR, 0x9b);
        CHECK_EQ_U64(vmk_uart_read_reg(v, 0), 0x07);
        vmk_uart_write_reg(v, LCR, 0x1b);
        const char *want = "ello";
        for (int i = 0; i < 4; i++) CHECK_EQ_U64(vmk_uart_read_reg(v, RBR), (uint8_t)want[i]);
        CHECK_EQ_U64(vmk_uart_read_reg(v, LSR) & 0x10, 0x10);
        CHECK_EQ_U64(vmk_uart_read_reg(v, RBR), 0);
        CHECK_EQ_U64(vmk_uart_read_reg(v, RBR), 'o');
        CHECK_EQ_U64(vmk_uart_read_reg(v, LSR) & 0x01, 0);
        /* truncations and bad values */
        int bad = 0, n = 0;
        for (size_t len = 0; len < b.len; len++, n++) {
            vmk_sr_init(&r, b.data, len);
            if (vmk_uart_load(v, &r) < 0 || !vmk_sr_done(&r)) bad++;
        }
        CHECK_EQ_U64(bad, n);
        uint8_t *c = malloc(b.len);
        memcpy(c, b.data, b.len);
        c[4] = 0xf0;                                              /* IER reserved bits */
        vmk_sr_init(&r, c, b.len);
        CHECK(vmk_uart_load(v, &r) < 0);
        memcpy(c, b.data, b.len);
        c[0] = 9;                                                 /* version */
        vmk_sr_init(&r, c, b.len);
        CHECK(vmk_uart_load(v, &r) < 0 && strstr(r.err, "version"));
        memcpy(c, b.data, b.len);
        c[14] = 0xff; c[15] = 0xff;                               /* queue length beyond the queue */
        vmk_sr_init(&r, c, b.len);
        CHECK(vmk_uart_load(v, &r) < 0);
        free(c);
        vmk_sb_free(&b);
        vmk_uart_free(u);
        vmk_uart_free(v);
    }
    TEST_END();

    TEST_BEGIN("rtc_save_load");
    {
        vmk_rtc *a = vmk_rtc_new();
        vmk_rtc_ops.write(a, 0x04, 0x10, 4);                      /* TIME_HIGH: move the clock */
        vmk_rtc_ops.write(a, 0x08, 0x1234, 4);
        vmk_rtc_ops.write(a, 0x10, 1, 4);
        uint64_t ta = vmk_rtc_ops.read(a, 0x00, 4) | (vmk_rtc_ops.read(a, 0x04, 4) << 32);
        vmk_sbuf b = { 0 };
        vmk_rtc_save(a, &b);
        vmk_rtc *c = vmk_rtc_new();
        vmk_sread r;
        vmk_sr_init(&r, b.data, b.len);
        CHECK(vmk_rtc_load(c, &r) == 0 && vmk_sr_done(&r));
        uint64_t tc = vmk_rtc_ops.read(c, 0x00, 4) | (vmk_rtc_ops.read(c, 0x04, 4) << 32);
        CHECK(tc >= ta && tc - ta < 1000000000ull);               /* same offset from host time */
        CHECK_EQ_U64(vmk_rtc_ops.read(c, 0x08, 4), 0x1234);
        CHECK_EQ_U64(vmk_rtc_ops.read(c, 0x10, 4), 1);
        vmk_sr_init(&r, b.data, b.len - 1);
        CHECK(vmk_rtc_load(c, &r) < 0);
        b.data[b.len - 4] = 2;                                    /* irq_enabled = 2 */
        vmk_sr_init(&r, b.data, b.len);
        CHECK(vmk_rtc_load(c, &r) < 0);
        vmk_sb_free(&b);
        vmk_rtc_free(a);
        vmk_rtc_free(c);
    }
    TEST_END();
    TEST_EXIT();
}
