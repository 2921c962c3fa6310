/* SPDX-License-Identifier: MIT */
#include "machine/async.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/kick.h"
#include "machine/machine.h"
#include "vcpu/vm.h"

int machine_async_inject(struct machine *m, struct machine_irq_action *act, uint64_t now)
{
	bool retry;
	int r = machine_inject_pending(m, act, &retry);

	if (r < 0)
		return r;
	act->async = r > 0;
	machine_async_arm(m, retry, now);
	return 0;
}

void machine_async_arm(struct machine *m, bool retry, uint64_t now)
{
	uint64_t at = devices_next_deadline_ns(&m->dev);

	if (retry && now + MACHINE_ASYNC_RETRY_NS < at)
		at = now + MACHINE_ASYNC_RETRY_NS;
	if (m->deadline_ns && m->deadline_ns < at)
		at = m->deadline_ns;
	if (at == UINT64_MAX)
		return;
	/* A kick still to come, no later than this one, does the job. */
	machine_kick_arm_by(m, at, now);
}
