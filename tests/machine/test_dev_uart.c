/* SPDX-License-Identifier: MIT */
/*
 * The 16550A UART, driven through the buses exactly as the run loop does for a guest's
 * exits. No KVM needed: these are the register-level behaviours a guest
 * driver relies on.
 */
#include "tests/test.h"

#include <poll.h>

#include "machine/machine.h"
#include "tests/machine/rig.h"

/* ------------------------------------------------------------------ uart */

TEST(uart_lsr_iir_transitions)
{
	struct rig r;

	rig_init(&r, -1, -1);
	TEST_ASSERT_EQ(inb(&r, 0x3fd), 0x60);          /* THRE|TEMT, no data */
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0x01);          /* no interrupt, FIFO off */
	outb(&r, 0x3fa, 0x07);                         /* enable + clear FIFOs */
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc1);          /* 16550A: FIFO bits */
	pic_setup(&r, 0x01);
	outb(&r, 0x21, 0xef);                          /* only IRQ4 */

	outb(&r, 0x3f9, 0x02);                         /* ETBEI: THR is empty, so it fires */
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc2);
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc1);          /* reading IIR cleared THRE */
	outb(&r, 0x3f8, 'x');
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc2);          /* written and gone: THRE again */
	TEST_ASSERT_EQ(dev_pic_ack(&r.d.pic), 0x24);
	outb(&r, 0x20, 0x20);

	outb(&r, 0x3f9, 0x03);                         /* + ERBFI */
	TEST_ASSERT_EQ(dev_uart_rx_push(&r.d.uart, (const uint8_t *)"ab", 2), 2);
	TEST_ASSERT_EQ(inb(&r, 0x3fd), 0x61);          /* DR */
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc4);          /* RX data outranks THRE */
	TEST_ASSERT_EQ(inb(&r, 0x3f8), 'a');
	TEST_ASSERT_EQ(inb(&r, 0x3f8), 'b');
	TEST_ASSERT_EQ(inb(&r, 0x3fd), 0x60);
	/* THRE was acknowledged by the IIR read above and ETBEI stayed on. */
	TEST_ASSERT_EQ(inb(&r, 0x3fa), 0xc1);
	outb(&r, 0x3f9, 0x00);
	TEST_ASSERT_EQ(inb(&r, 0x3f9), 0x00);
	outb(&r, 0x3ff, 0xa5);                         /* scratch */
	TEST_ASSERT_EQ(inb(&r, 0x3ff), 0xa5);
	devices_destroy(&r.d);
}

TEST(uart_divisor_latch_and_loopback)
{
	struct rig r;

	rig_init(&r, -1, -1);
	outb(&r, 0x3f9, 0x05);                         /* IER */
	outb(&r, 0x3fb, 0x83);                         /* DLAB */
	outb(&r, 0x3f8, 0x01);
	outb(&r, 0x3f9, 0x02);
	TEST_ASSERT_EQ(inb(&r, 0x3f8), 0x01);
	TEST_ASSERT_EQ(inb(&r, 0x3f9), 0x02);
	TEST_ASSERT_EQ(r.d.uart.divisor, 0x0201);
	outb(&r, 0x3fb, 0x03);
	TEST_ASSERT_EQ(inb(&r, 0x3fb), 0x03);
	TEST_ASSERT_EQ(inb(&r, 0x3f9), 0x05);          /* IER untouched by the latch */
	TEST_ASSERT_EQ(r.d.uart.tx_bytes, 0);          /* DLL writes are not output */

	/* Linux's 8250 probe: loopback with RTS and OUT2 reads MSR 0x90. */
	outb(&r, 0x3fc, 0x1a);
	TEST_ASSERT_EQ(inb(&r, 0x3fe) & 0xf0, 0x90);
	outb(&r, 0x3f8, 'L');
	TEST_ASSERT_EQ(inb(&r, 0x3fd) & 0x01, 0x01);
	TEST_ASSERT_EQ(inb(&r, 0x3f8), 'L');
	TEST_ASSERT_EQ(r.d.uart.tx_bytes, 0);
	outb(&r, 0x3fc, 0x0b);
	TEST_ASSERT_EQ(inb(&r, 0x3fe) & 0xf0, 0xb0);   /* DCD, DSR, CTS */
	devices_destroy(&r.d);
}

TEST(uart_output_reaches_fd)
{
	struct rig r;
	int p[2];
	char buf[64];
	ssize_t n;
	const char *s;

	TEST_ASSERT_OK(pipe2(p, O_NONBLOCK));
	rig_init(&r, p[1], -1);
	for (s = "hello\n"; *s; s++)
		outb(&r, 0x3f8, (uint8_t)*s);
	n = read(p[0], buf, sizeof(buf));
	TEST_ASSERT_EQ(n, 6);
	TEST_ASSERT(memcmp(buf, "hello\n", 6) == 0, "got \"%.*s\"", (int)n, buf);
	for (s = "tail"; *s; s++)
		outb(&r, 0x3f8, (uint8_t)*s);
	/* A partial line waits a little, then a poll flushes it; destroy flushes the rest. */
	TEST_ASSERT(devices_next_deadline_ns(&r.d) <= now_ns() + DEV_UART_FLUSH_NS,
		    "an idle guest is woken to flush a partial line");
	devices_update(&r.d, now_ns());
	n = read(p[0], buf, sizeof(buf));
	TEST_ASSERT(n < 0 && errno == EAGAIN, "a fresh partial line stays buffered (n=%zd)", n);
	devices_update(&r.d, now_ns() + 2 * DEV_UART_FLUSH_NS);
	n = read(p[0], buf, sizeof(buf));
	TEST_ASSERT(n == 4 && memcmp(buf, "tail", 4) == 0, "stale partial line flushed (n=%zd)", n);
	TEST_ASSERT_EQ(devices_next_deadline_ns(&r.d), UINT64_MAX);   /* nothing left to wake for */
	outb(&r, 0x3f8, '!');
	devices_destroy(&r.d);
	n = read(p[0], buf, sizeof(buf));
	TEST_ASSERT(n == 1 && buf[0] == '!', "destroy flushes (n=%zd)", n);
	TEST_ASSERT_EQ(r.d.uart.tx_bytes, 11);
	close(p[0]);
	close(p[1]);
}

TEST(uart_input_from_file_to_eof)
{
	struct rig r;
	char path[] = "/tmp/kvmrr-uart-XXXXXX";
	int fd = mkstemp(path);
	char got[8] = { 0 };
	unsigned int i;

	TEST_ASSERT(fd >= 0, "mkstemp");
	TEST_ASSERT_EQ(write(fd, "xyz", 3), 3);
	TEST_ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
	unlink(path);
	rig_init(&r, -1, fd);
	pic_setup(&r, 0x01);
	outb(&r, 0x21, 0xef);
	outb(&r, 0x3f9, 0x01);                         /* ERBFI */
	TEST_ASSERT(dev_uart_wants_input(&r.d.uart), "input open and RX interrupts on");
	TEST_ASSERT_EQ(inb(&r, 0x3fd) & 1, 0);
	devices_update(&r.d, now_ns());
	TEST_ASSERT_EQ(dev_pic_has_pending(&r.d.pic), 1);
	TEST_ASSERT_EQ(inb(&r, 0x3fa) & 0x0f, 0x04);
	for (i = 0; i < 3 && (inb(&r, 0x3fd) & 1); i++)
		got[i] = (char)inb(&r, 0x3f8);
	TEST_ASSERT_STR_EQ(got, "xyz");
	TEST_ASSERT(!dev_uart_input_done(&r.d.uart), "EOF not seen yet");
	devices_update(&r.d, now_ns());
	TEST_ASSERT(dev_uart_input_done(&r.d.uart), "EOF after the last byte");
	TEST_ASSERT(!dev_uart_wants_input(&r.d.uart), "no more input to wait for");
	TEST_ASSERT_EQ(inb(&r, 0x3fa) & 0x0f, 0x01);
	devices_destroy(&r.d);
	close(fd);
}

static int input_file(const char *data)
{
	char path[] = "/tmp/kvmrr-uart-XXXXXX";
	int fd = mkstemp(path);

	TEST_ASSERT(fd >= 0, "mkstemp");
	TEST_ASSERT_EQ(write(fd, data, strlen(data)), (long long)strlen(data));
	TEST_ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
	unlink(path);
	return fd;
}

/* A guest that never configures the UART polls LSR and reads, byte by byte. */
TEST(uart_polling_guest_on_reset_state)
{
	struct rig r;
	int fd = input_file("hi\n");
	char got[4] = { 0 };
	unsigned int i;

	rig_init(&r, -1, fd);
	devices_update(&r.d, now_ns());
	for (i = 0; i < 3; i++) {
		TEST_ASSERT(inb(&r, 0x3fd) & 1, "DR for byte %u", i);
		got[i] = (char)inb(&r, 0x3f8);
	}
	TEST_ASSERT_STR_EQ(got, "hi\n");
	TEST_ASSERT_EQ(inb(&r, 0x3fd) & 1, 0);
	devices_destroy(&r.d);
	close(fd);
}

/*
 * Linux's 8250 probe and startup: loopback test, FIFO probe, FIFO clears and
 * dummy RBR reads with RX interrupts off, then IER.RDI. No input byte may be
 * lost or seen in loopback.
 */
TEST(uart_linux_startup_keeps_input)
{
	struct rig r;
	int fd = input_file("ls /\n");
	char got[8] = { 0 };
	unsigned int i;

	rig_init(&r, -1, fd);
	outb(&r, 0x3fb, 0x03);                         /* configured: 8N1 */
	outb(&r, 0x3f9, 0x00);
	devices_update(&r.d, now_ns());
	TEST_ASSERT_EQ(inb(&r, 0x3fd) & 1, 0);         /* not listening: nothing received */
	outb(&r, 0x3fc, 0x1a);                         /* loopback probe */
	TEST_ASSERT_EQ(inb(&r, 0x3fe) & 0xf0, 0x90);
	TEST_ASSERT_EQ(inb(&r, 0x3fd) & 1, 0);         /* the wire is disconnected in loopback */
	outb(&r, 0x3fc, 0x0b);
	outb(&r, 0x3fa, 0x01);                         /* FIFO probe: enable */
	TEST_ASSERT_EQ(inb(&r, 0x3fa) & 0xc0, 0xc0);
	TEST_ASSERT_EQ(inb(&r, 0x3fd) & 1, 1);         /* FIFO on: the receiver takes input */
	outb(&r, 0x3fa, 0x07);                         /* clear FIFOs ... */
	outb(&r, 0x3fa, 0x00);                         /* ... and disable them */
	inb(&r, 0x3fd);                                /* "clear the interrupt registers" */
	TEST_ASSERT_EQ(inb(&r, 0x3f8), 0);
	inb(&r, 0x3fa);
	inb(&r, 0x3fe);
	devices_update(&r.d, now_ns());
	TEST_ASSERT_EQ(inb(&r, 0x3f8), 0);
	outb(&r, 0x3f9, 0x05);                         /* RLSI | RDI: the tty is open */
	outb(&r, 0x3fa, 0xc1);                         /* FIFO on, trigger 14 */
	for (i = 0; i < sizeof(got) - 1 && (inb(&r, 0x3fd) & 1); i++)
		got[i] = (char)inb(&r, 0x3f8);
	TEST_ASSERT_STR_EQ(got, "ls /\n");
	devices_update(&r.d, now_ns());
	TEST_ASSERT(dev_uart_input_done(&r.d.uart), "all input consumed, EOF seen");
	devices_destroy(&r.d);
	close(fd);
}

TEST_MAIN()
