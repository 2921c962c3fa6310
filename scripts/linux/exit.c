/* SPDX-License-Identifier: MIT */
/*
 * kvmrr-exit CODE: end the kvmrr run from inside a Linux guest by writing
 * CODE to the debug-exit port 0xf4 (the run then exits with (CODE << 1) | 1).
 * Built static and put into the busybox initramfs by scripts/get-linux.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 0;

	if (ioperm(0xf4, 1, 1) < 0) {
		perror("kvmrr-exit: ioperm(0xf4)");
		return 1;
	}
	outb((unsigned char)code, 0xf4);
	fprintf(stderr, "kvmrr-exit: still running after writing to port 0xf4\n");
	return 1;
}
