/* SPDX-License-Identifier: MIT */
/* Runtime-private declarations shared by the rt sources and entry.S. */
#ifndef KVMRR_GUESTS_RT_INTERNAL_H
#define KVMRR_GUESTS_RT_INTERNAL_H

#include "rt/rt.h"

extern uint64_t rt_start_info_paddr;   /* EBX at the PVH entry */
extern rt_irq_fn rt_irq_handlers[16];
extern uint64_t rt_irq_counts[16];

void rt_kernel_init(void);
void rt_trap(struct rt_frame *f);
__attribute__((noreturn)) void rt_user_start(void);

#endif
