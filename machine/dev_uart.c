/* SPDX-License-Identifier: MIT */
/*
 * 16550A after the National Semiconductor PC16550D datasheet. Interrupt
 * identification by priority: line status, RX data, THR empty, modem status.
 */
#include "machine/dev_uart.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MCR_LOOP 0x10
#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDI  0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI  0x08
#define IIR_NONE 0x01
#define IIR_MSI  0x00
#define IIR_THRI 0x02
#define IIR_RDI  0x04
#define IIR_RLSI 0x06
#define FCR_ENABLE 0x01

static uint8_t uart_iir(const struct dev_uart *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? 0xc0 : 0;

	if ((u->ier & IER_RLSI) && u->lsr_errors)
		return fifo | IIR_RLSI;
	if ((u->ier & IER_RDI) && u->fifo_count)
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thr_int)
		return fifo | IIR_THRI;
	if ((u->ier & IER_MSI) && u->msr_delta)
		return fifo | IIR_MSI;
	return fifo | IIR_NONE;
}

/* IRQ4 follows "an interrupt is identified" as a level; the PIC sees its edges. */
static void uart_update_irq(struct dev_uart *u)
{
	int level = !(uart_iir(u) & IIR_NONE);

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->pic)
		dev_pic_set_irq(u->pic, DEV_UART_IRQ, level);
}

int dev_uart_flush(struct dev_uart *u)
{
	uint32_t done = 0;

	while (done < u->out_len) {
		ssize_t n = write(u->out_fd, u->out + done, u->out_len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = u->out_fd, .events = POLLOUT };

			poll(&p, 1, -1);
			continue;
		}
		if (n <= 0) {
			if (!u->out_error)
				u->out_error = n < 0 ? errno : EIO;
			break;
		}
		done += (uint32_t)n;
	}
	u->out_len = 0;
	return u->out_error ? -u->out_error : 0;
}

static void uart_transmit(struct dev_uart *u, uint8_t byte, uint64_t now_ns)
{
	u->tx_bytes++;
	if (u->out_fd < 0)
		return;
	if (u->out_len == 0)
		u->out_first_ns = now_ns;
	u->out[u->out_len++] = byte;
	if (byte == '\n' || u->out_len == DEV_UART_OUT_SIZE)
		dev_uart_flush(u);
}

/* The receiver takes bytes from the wire (see dev_uart.h for why it is gated). */
static bool rx_listening(const struct dev_uart *u)
{
	if (u->mcr & MCR_LOOP)
		return false;
	return (u->ier & IER_RDI) || (u->fcr & FCR_ENABLE) || !u->configured;
}

static void rx_receive(struct dev_uart *u)
{
	uint32_t cap = (u->fcr & FCR_ENABLE) ? DEV_UART_FIFO_SIZE : 1;

	if (!rx_listening(u))
		return;
	while (u->fifo_count < cap && u->rx_count) {
		u->fifo[u->fifo_count++] = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % DEV_UART_RX_SIZE;
		u->rx_count--;
	}
}

/* FCR "clear receiver": unread wire bytes go back to the wire, in order. */
static void rx_clear_fifo(struct dev_uart *u)
{
	uint32_t i;

	if (u->mcr & MCR_LOOP) {                    /* loopback bytes are the guest's own */
		u->fifo_count = 0;
		return;
	}
	for (i = u->fifo_count; i > 0 && u->rx_count < DEV_UART_RX_SIZE; i--) {
		u->rx_head = (u->rx_head + DEV_UART_RX_SIZE - 1) % DEV_UART_RX_SIZE;
		u->rx[u->rx_head] = u->fifo[i - 1];
		u->rx_count++;
	}
	u->fifo_count = 0;
}

uint32_t dev_uart_rx_push(struct dev_uart *u, const uint8_t *buf, uint32_t len)
{
	uint32_t i;

	/* Keep room for a FIFO's worth coming back on a clear. */
	for (i = 0; i < len && u->rx_count < DEV_UART_RX_SIZE - DEV_UART_FIFO_SIZE; i++) {
		u->rx[(u->rx_head + u->rx_count) % DEV_UART_RX_SIZE] = buf[i];
		u->rx_count++;
	}
	rx_receive(u);
	uart_update_irq(u);
	return i;
}

static uint8_t uart_rx_pop(struct dev_uart *u)
{
	uint8_t b;

	rx_receive(u);
	if (!u->fifo_count)
		return 0;
	b = u->fifo[0];
	memmove(u->fifo, u->fifo + 1, --u->fifo_count);
	u->rx_bytes++;
	rx_receive(u);
	return b;
}

/* Loopback: the transmitter feeds the receiver; a full FIFO overruns. */
static void uart_loopback(struct dev_uart *u, uint8_t byte)
{
	uint32_t cap = (u->fcr & FCR_ENABLE) ? DEV_UART_FIFO_SIZE : 1;

	if (u->fifo_count < cap)
		u->fifo[u->fifo_count++] = byte;
	else
		u->lsr_errors |= LSR_OE;
}

static void uart_write(struct dev_uart *u, uint64_t off, uint8_t val, uint64_t now_ns)
{
	bool dlab = u->lcr & DEV_UART_LCR_DLAB;

	switch (off) {
	case UART_RBR_THR_DLL:
		if (dlab) {
			u->divisor = (uint16_t)((u->divisor & 0xff00) | val);
			break;
		}
		if (u->mcr & MCR_LOOP)
			uart_loopback(u, val);
		else
			uart_transmit(u, val, now_ns);
		/* The byte leaves at once: THR is empty again. */
		u->thr_int = true;
		break;
	case UART_IER_DLM:
		if (dlab) {
			u->divisor = (uint16_t)((u->divisor & 0x00ff) | val << 8);
			break;
		}
		u->configured = true;
		/* Enabling ETBEI while THR is empty raises the THRE interrupt. */
		if ((val & IER_THRI) && !(u->ier & IER_THRI))
			u->thr_int = true;
		u->ier = val & 0x0f;
		break;
	case UART_IIR_FCR:
		u->configured = true;
		if (val & 0x02)
			rx_clear_fifo(u);
		if ((val ^ u->fcr) & FCR_ENABLE)
			rx_clear_fifo(u);   /* switching FIFO mode resets it */
		u->fcr = val & 0xc9;        /* keep enable, DMA mode, trigger level */
		break;
	case UART_LCR:
		u->configured = true;
		u->lcr = val;
		break;
	case UART_MCR:
		u->mcr = val & 0x1f;
		break;
	case UART_SCR:
		u->scr = val;
		break;
	default:                            /* LSR, MSR: writes ignored (factory test) */
		break;
	}
}

static uint8_t uart_msr(struct dev_uart *u)
{
	uint8_t msr;

	if (u->mcr & MCR_LOOP)          /* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
		msr = (uint8_t)((u->mcr & 0x01) << 5 | (u->mcr & 0x02) << 3 |
				(u->mcr & 0x04) << 4 | (u->mcr & 0x08) << 4);
	else
		msr = 0xb0;                 /* DCD, DSR, CTS: a cable and a listener */
	msr |= u->msr_delta;
	u->msr_delta = 0;
	return msr;
}

static uint8_t uart_read(struct dev_uart *u, uint64_t off)
{
	bool dlab = u->lcr & DEV_UART_LCR_DLAB;
	uint8_t v;

	switch (off) {
	case UART_RBR_THR_DLL:
		return dlab ? (uint8_t)u->divisor : uart_rx_pop(u);
	case UART_IER_DLM:
		return dlab ? (uint8_t)(u->divisor >> 8) : u->ier;
	case UART_IIR_FCR:
		v = uart_iir(u);
		/* Reading IIR while it reports THRE clears that interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			u->thr_int = false;
		return v;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		rx_receive(u);
		v = (uint8_t)(LSR_THRE | LSR_TEMT | (u->fifo_count ? LSR_DR : 0) | u->lsr_errors);
		u->lsr_errors = 0;
		return v;
	case UART_MSR:
		return uart_msr(u);
	default:
		return u->scr;
	}
}

int dev_uart_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns)
{
	struct dev_uart *u = dev;

	if (write) {
		uart_write(u, offset, data[0], now_ns);
	} else {
		data[0] = uart_read(u, offset);
		if (size > 1)
			memset(data + 1, 0xff, size - 1);
	}
	uart_update_irq(u);
	return 0;
}

static void uart_read_input(struct dev_uart *u)
{
	uint8_t buf[512];
	uint32_t room = DEV_UART_RX_SIZE - DEV_UART_FIFO_SIZE - u->rx_count;
	struct pollfd p = { .fd = u->in_fd, .events = POLLIN };
	ssize_t n;

	if (u->in_fd < 0 || u->in_eof || u->rx_count >= DEV_UART_RX_SIZE - DEV_UART_FIFO_SIZE)
		return;
	/* poll first so a tty or pipe never blocks us; we leave O_NONBLOCK alone
	 * because stdin's file status flags are shared with the shell. */
	if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = read(u->in_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n < 0) {
		if (errno != EINTR && errno != EAGAIN) {
			u->in_error = errno;
			u->in_eof = true;
		}
		return;
	}
	if (n == 0) {
		u->in_eof = true;
		return;
	}
	dev_uart_rx_push(u, buf, (uint32_t)n);
}

void dev_uart_poll(struct dev_uart *u, uint64_t now_ns)
{
	uart_read_input(u);
	rx_receive(u);
	if (u->out_len && now_ns - u->out_first_ns >= DEV_UART_FLUSH_NS)
		dev_uart_flush(u);
	uart_update_irq(u);
}

bool dev_uart_input_done(const struct dev_uart *u)
{
	return (u->in_fd < 0 || u->in_eof) && u->rx_count == 0 && u->fifo_count == 0;
}

bool dev_uart_wants_input(const struct dev_uart *u)
{
	return (u->ier & IER_RDI) && u->in_fd >= 0 && !u->in_eof &&
	       u->rx_count < DEV_UART_RX_SIZE - DEV_UART_FIFO_SIZE;
}

void dev_uart_init(struct dev_uart *u, struct dev_pic *pic, int out_fd, int in_fd)
{
	memset(u, 0, sizeof(*u));
	u->pic = pic;
	u->out_fd = out_fd;
	u->in_fd = in_fd;
	u->divisor = 12;                    /* 9600 baud, as firmware leaves it */
	u->lcr = 0x03;                      /* 8N1 */
	u->mcr = 0x08;                      /* OUT2 */
}

void dev_uart_destroy(struct dev_uart *u)
{
	dev_uart_flush(u);
}

/*
 * Registers, FIFO, line state and the input not yet received; the host side
 * stays live: the fds, what reading and writing them did, and the output
 * not yet written (it already happened, it is not state to roll back).
 */
static void uart_save(const void *dev, void *state)
{
	memcpy(state, dev, sizeof(struct dev_uart));
}

static void uart_restore(void *dev, const void *state)
{
	struct dev_uart *u = dev;
	struct dev_uart live = *u;

	memcpy(u, state, sizeof(*u));
	u->pic = live.pic;
	u->in_fd = live.in_fd;
	u->in_eof = live.in_eof;
	u->in_error = live.in_error;
	u->out_fd = live.out_fd;
	u->out_error = live.out_error;
	memcpy(u->out, live.out, live.out_len);
	u->out_len = live.out_len;
	u->out_first_ns = live.out_first_ns;
}

static const struct bus_device_ops uart_ops = {
	.io = dev_uart_io, .state_size = sizeof(struct dev_uart), .save = uart_save, .restore = uart_restore,
};

int dev_uart_register(struct dev_uart *u, struct bus *pio)
{
	return bus_register(pio, DEV_UART_PORT, 8, "uart", &uart_ops, u);
}
