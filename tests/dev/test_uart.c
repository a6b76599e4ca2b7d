/* test_uart.c — unit tests of the ns16550a model: transmit to a chardev, receive FIFO and trigger
 * levels, IIR priorities and THRE acknowledgement, DLAB divisor latches, loopback, MSR deltas, LSR
 * overrun, interrupt line level, flow control of the input queue. */
#include "../test.h"
#include "dev/dev.h"

static int irq_level, irq_edges;
static void irq_set(void *ctx, unsigned line, int level)
{
    (void)ctx;
    (void)line;
    if (level != irq_level) irq_edges++;
    irq_level = level;
}

enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

int main(void)
{
    vmk_irq irq = { .set = irq_set };
    TEST_BEGIN("uart_reset_and_scratch");
    {
        vmk_uart *u = vmk_uart_new(NULL, irq);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0x01);          /* no interrupt, FIFOs off */
        CHECK_EQ_U64(vmk_uart_read_reg(u, LSR), 0x60);          /* THRE | TEMT */
        CHECK_EQ_U64(vmk_uart_read_reg(u, LCR), 0x03);
        vmk_uart_write_reg(u, SCR, 0xa5);
        CHECK_EQ_U64(vmk_uart_read_reg(u, SCR), 0xa5);
        CHECK_EQ_U64(vmk_uart_read_reg(u, MSR) & 0xf0, 0xb0);   /* DCD DSR CTS */
        CHECK_EQ_U64(vmk_uart_ops.read(u, 0x80, 1), 0);          /* beyond the 8 registers */
        vmk_uart_ops.write(u, 0xff, 0x12, 1);
        CHECK(irq_level == 0);
        vmk_uart_free(u);
    }
    TEST_END();

    TEST_BEGIN("uart_dlab");
    {
        vmk_uart *u = vmk_uart_new(NULL, irq);
        vmk_uart_write_reg(u, IER, 0x05);
        vmk_uart_write_reg(u, LCR, 0x83);
        vmk_uart_write_reg(u, 0, 0x01);
        vmk_uart_write_reg(u, 1, 0x02);
        CHECK_EQ_U64(vmk_uart_read_reg(u, 0), 0x01);
        CHECK_EQ_U64(vmk_uart_read_reg(u, 1), 0x02);
        vmk_uart_write_reg(u, LCR, 0x03);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IER), 0x05);           /* IER kept apart from DLM */
        vmk_uart_write_reg(u, IER, 0xff);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IER), 0x0f);
        vmk_uart_free(u);
    }
    TEST_END();

    TEST_BEGIN("uart_rx_fifo_and_irq");
    {
        irq_level = 0;
        vmk_uart *u = vmk_uart_new(NULL, irq);
        vmk_uart_write_reg(u, FCR, 0x01 | 0x80);                  /* FIFO on, trigger 8 */
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0xc1);
        vmk_uart_write_reg(u, IER, 0x01);                         /* ERBFI */
        CHECK(irq_level == 0);
        vmk_uart_receive(u, (const uint8_t *)"abc", 3);
        CHECK(irq_level == 1);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0xcc);            /* below trigger: timeout id */
        CHECK(vmk_uart_read_reg(u, LSR) & 1);
        vmk_uart_receive(u, (const uint8_t *)"defghijk", 8);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0xc4);            /* at/above trigger */
        char got[12] = { 0 };
        for (int i = 0; i < 11; i++) got[i] = (char)vmk_uart_read_reg(u, RBR);
        CHECK(!strcmp(got, "abcdefghijk"));
        CHECK(!(vmk_uart_read_reg(u, LSR) & 1));
        CHECK(irq_level == 0);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0xc1);
        vmk_uart_receive(u, (const uint8_t *)"xy", 2);
        vmk_uart_write_reg(u, FCR, 0x03);                         /* clear RX FIFO */
        CHECK(!(vmk_uart_read_reg(u, LSR) & 1));
        CHECK(irq_level == 0);
        CHECK_EQ_U64(vmk_uart_read_reg(u, RBR), 0);               /* empty FIFO reads 0 */
        vmk_uart_free(u);
    }
    TEST_END();

    TEST_BEGIN("uart_thre");
    {
        irq_level = 0;
        vmk_uart *u = vmk_uart_new(NULL, irq);
        vmk_uart_write_reg(u, IER, 0x02);                         /* ETBEI rising edge: THRE interrupt */
        CHECK(irq_level == 1);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0x02);
        CHECK(irq_level == 0);                                    /* IIR read acknowledged it */
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0x01);
        vmk_uart_write_reg(u, RBR, 'A');                          /* sending empties THR again */
        CHECK(irq_level == 1);
        /* RX data has priority over THRE */
        vmk_uart_write_reg(u, IER, 0x03);
        vmk_uart_receive(u, (const uint8_t *)"z", 1);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0x04);             /* FIFO off: data available */
        vmk_uart_read_reg(u, RBR);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0x02);
        vmk_uart_write_reg(u, IER, 0x00);
        CHECK(irq_level == 0);
        vmk_uart_free(u);
    }
    TEST_END();

    TEST_BEGIN("uart_loopback_and_msr");
    {
        irq_level = 0;
        vmk_uart *u = vmk_uart_new(NULL, irq);
        vmk_uart_write_reg(u, MCR, 0x10);                         /* loopback, all modem outputs off */
        CHECK_EQ_U64(vmk_uart_read_reg(u, MSR) & 0xf0, 0x00);
        vmk_uart_write_reg(u, MCR, 0x10 | 0x0a);                  /* RTS + OUT2 -> CTS + DCD */
        uint8_t msr = vmk_uart_read_reg(u, MSR);
        CHECK_EQ_U64(msr & 0xf0, 0x90);
        CHECK(msr & 0x01);                                        /* DCTS delta */
        CHECK_EQ_U64(vmk_uart_read_reg(u, MSR) & 0x0f, 0);        /* deltas clear on read */
        vmk_uart_write_reg(u, RBR, 'Q');                          /* loops back to RX */
        CHECK(vmk_uart_read_reg(u, LSR) & 1);
        CHECK_EQ_U64(vmk_uart_read_reg(u, RBR), 'Q');
        vmk_uart_receive(u, (const uint8_t *)"ext", 3);           /* outside input is cut off */
        CHECK(!(vmk_uart_read_reg(u, LSR) & 1));
        vmk_uart_write_reg(u, IER, 0x08);                         /* modem status interrupt */
        vmk_uart_write_reg(u, MCR, 0x10 | 0x01);                  /* DTR -> DSR changes */
        CHECK(irq_level == 1);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0x00);
        vmk_uart_read_reg(u, MSR);
        CHECK(irq_level == 0);
        vmk_uart_free(u);
    }
    TEST_END();

    TEST_BEGIN("uart_overrun");
    {
        irq_level = 0;
        vmk_uart *u = vmk_uart_new(NULL, irq);
        vmk_uart_write_reg(u, FCR, 0x01);
        vmk_uart_write_reg(u, IER, 0x04);                         /* line status only */
        static uint8_t big[5000];
        memset(big, 'x', sizeof(big));
        vmk_uart_receive(u, big, sizeof(big));                    /* more than the input queue */
        CHECK(irq_level == 1);
        CHECK_EQ_U64(vmk_uart_read_reg(u, IIR), 0xc6);
        uint8_t lsr = vmk_uart_read_reg(u, LSR);
        CHECK(lsr & 0x02);
        CHECK(!(vmk_uart_read_reg(u, LSR) & 0x02));               /* OE clears on read */
        CHECK(irq_level == 0);
        int n = 0;
        while ((vmk_uart_read_reg(u, LSR) & 1) && n < 10000) { vmk_uart_read_reg(u, RBR); n++; }
        CHECK(n == 4096);
        vmk_uart_free(u);
    }
    TEST_END();
    TEST_EXIT();
}
