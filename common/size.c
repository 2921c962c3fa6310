/* SPDX-License-Identifier: MIT */
#include "common/size.h"

#include <stdlib.h>

uint64_t size_parse(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	return *end || end == s || *s == '-' ? 0 : v;
}
