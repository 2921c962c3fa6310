/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART at 0x3f8 (COM1, IRQ4). Transmission is instant: THR writes go
 * straight to out_fd (line-buffered), so LSR always shows THRE|TEMT.
 *
 * Input is read from in_fd without blocking into a host-side "wire" buffer
 * and moves into the receiver (a 16-byte FIFO, or a 1-byte holding register
 * with the FIFO off) only while the guest listens: RX interrupts enabled,
 * FIFO enabled, or the UART never configured (a polling guest on reset
 * state); never in loopback. So a driver that resets the port (Linux clears
 * the FIFOs and does dummy RBR reads in its startup with both off) loses no
 * input; a FIFO clear puts unread wire bytes back, nothing read from in_fd
 * is ever discarded.
 */
#ifndef KVMRR_MACHINE_DEV_UART_H
#define KVMRR_MACHINE_DEV_UART_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/bus.h"
#include "machine/dev_pic.h"

#define DEV_UART_PORT 0x3f8
#define DEV_UART_IRQ  4
#define DEV_UART_RX_SIZE  4096          /* wire buffer */
#define DEV_UART_FIFO_SIZE 16
#define DEV_UART_OUT_SIZE 4096
/* Partial lines are flushed by dev_uart_poll once they are this old. */
#define DEV_UART_FLUSH_NS 20000000ULL

/* Register offsets (DLAB=0 / DLAB=1). */
enum {
	UART_RBR_THR_DLL = 0,
	UART_IER_DLM = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define DEV_UART_LCR_DLAB 0x80

/*
 * Replay's view of the console: whether the guest writing value to port
 * transmits a byte (THR with DLAB clear). *lcr follows the guest's writes to LCR.
 */
static inline bool dev_uart_transmits(uint8_t *lcr, uint64_t port, uint8_t value)
{
	if (port == DEV_UART_PORT + UART_LCR)
		*lcr = value;
	return port == DEV_UART_PORT + UART_RBR_THR_DLL && !(*lcr & DEV_UART_LCR_DLAB);
}

struct dev_uart {
	uint8_t ier, fcr, lcr, mcr, scr, msr_delta;
	uint8_t lsr_errors;              /* OE/PE/FE/BI, cleared by reading LSR */
	uint16_t divisor;
	bool thr_int;                    /* THRE interrupt pending (cleared by IIR read / THR write) */
	int irq_level;

	bool configured;                 /* the guest wrote IER, FCR or LCR */
	uint8_t fifo[DEV_UART_FIFO_SIZE]; /* what the guest can read: LSR.DR = fifo_count > 0 */
	uint32_t fifo_count;
	uint8_t rx[DEV_UART_RX_SIZE];    /* wire: input not yet received, a ring */
	uint32_t rx_head, rx_count;
	int in_fd;                       /* -1: no input */
	bool in_eof;                     /* in_fd returned end of file (or an error) */
	int in_error;                    /* errno of a failed read, 0 if none */

	uint8_t out[DEV_UART_OUT_SIZE];
	uint32_t out_len;
	uint64_t out_first_ns;           /* when the oldest buffered byte was written */
	int out_fd;
	int out_error;                   /* errno of the first failed write, 0 if none */

	struct dev_pic *pic;
	uint64_t tx_bytes, rx_bytes;
};

void dev_uart_init(struct dev_uart *u, struct dev_pic *pic, int out_fd, int in_fd);
int dev_uart_register(struct dev_uart *u, struct bus *pio);
/* Read what in_fd has (never blocks), flush stale output, update IRQ4. */
void dev_uart_poll(struct dev_uart *u, uint64_t now_ns);
/* Write out buffered output. Returns 0 or -errno of the write. */
int dev_uart_flush(struct dev_uart *u);
/* Flush; does not close the fds (the caller owns them). */
void dev_uart_destroy(struct dev_uart *u);
/* Input ended and the guest has read every byte. */
bool dev_uart_input_done(const struct dev_uart *u);
/* The guest enabled RX interrupts and more input may come from in_fd. */
bool dev_uart_wants_input(const struct dev_uart *u);
/* Append bytes to the wire as if they came from in_fd; returns how many fit. */
uint32_t dev_uart_rx_push(struct dev_uart *u, const uint8_t *buf, uint32_t len);

int dev_uart_io(void *dev, uint64_t offset, uint32_t size, bool write, uint8_t *data,
	uint64_t now_ns);

#endif
