/* SPDX-License-Identifier: MIT */
/* A statically linked program: kvmrr trace must refuse it before it runs. */
#include <stdio.h>

int main(void)
{
	puts("static program ran");
	return 0;
}
