/* SPDX-License-Identifier: MIT */
/* Sizes on command lines: "64M", "1G", "4096". */
#ifndef KVMRR_COMMON_SIZE_H
#define KVMRR_COMMON_SIZE_H

#include <stdint.h>

/* Bytes of "N", "NK", "NM", "NG" (an optional "i" or "B" after the unit); 0 if malformed. */
uint64_t size_parse(const char *s);

#endif
