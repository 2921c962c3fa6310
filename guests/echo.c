/* SPDX-License-Identifier: MIT */
/*
 * echo: reads lines from the serial port (polling LSR data-ready) and writes
 * each back as "echo: " + the line upper-cased. It stops, exit 0, at a line
 * that is exactly "EOF" (not echoed) or at an EOT byte (0x04, Ctrl-D); it
 * then prints "echo: <n> lines". A CR before LF is dropped. A line longer than
 * max= bytes (default 256) fails. With no input the guest polls forever: the
 * VMM's --timeout ends it.
 */
#include "rt/rt.h"

#define EOT 0x04

static int getc_serial(void)
{
	while (!(rt_inb(ABI_UART_BASE + ABI_UART_LSR) & ABI_UART_LSR_DR))
		;
	return rt_inb(ABI_UART_BASE + ABI_UART_RBR);
}

int main(void)
{
	uint64_t max = rt_arg_u64("max", 256), lines = 0, len = 0;
	static char line[4096];

	if (max == 0 || max >= sizeof(line))
		rt_fail("echo: max=%lu out of range 1-%zu", max, sizeof(line) - 1);
	for (;;) {
		int c = getc_serial();

		if (c == EOT)
			break;
		if (c == '\r')
			continue;
		if (c != '\n') {
			if (len == max)
				rt_fail("echo: line %lu longer than %lu bytes", lines + 1, max);
			line[len++] = (char)c;
			continue;
		}
		line[len] = '\0';
		if (strcmp(line, "EOF") == 0)
			break;
		for (uint64_t i = 0; i < len; i++)
			if (line[i] >= 'a' && line[i] <= 'z')
				line[i] = (char)(line[i] - 'a' + 'A');
		rt_printf("echo: %s\n", line);
		lines++;
		len = 0;
	}
	if (len && strcmp(line, "EOF") != 0)
		rt_fail("echo: input ended inside line %lu", lines + 1);
	rt_printf("echo: %lu lines\n", lines);
	return 0;
}
