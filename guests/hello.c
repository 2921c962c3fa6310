/* SPDX-License-Identifier: MIT */
/*
 * hello: prints one line and its command line. Checks that the PVH start
 * info arrived (the runtime already checked its magic) with a memory map.
 */
#include "rt/rt.h"

int main(void)
{
	const struct abi_hvm_start_info *si = rt_start_info();

	rt_printf("Hello from kvmrr guest\n");
	rt_printf("hello: cmdline=\"%s\"\n", rt_cmdline());
	if (si->version >= 1 && si->memmap_entries == 0)
		rt_fail("hello: start_info version %u but an empty memory map", si->version);
	return 0;
}
