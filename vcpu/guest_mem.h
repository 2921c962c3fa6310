/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: anonymous host mappings, each a KVM memory slot. Every access by
 * gpa goes through guest_mem_ptr(), which checks bounds: an address outside
 * RAM is an error (NULL), never a wild pointer.
 */
#ifndef KVMRR_VCPU_GUEST_MEM_H
#define KVMRR_VCPU_GUEST_MEM_H

#include <stdint.h>

#define GUEST_PAGE_SIZE 4096ULL
#define GUEST_MEM_MAX_REGIONS 2
/* RAM above this address is moved above 4 GiB, leaving the 32-bit MMIO hole. */
#define GUEST_MEM_HOLE_START 0xC0000000ULL
#define GUEST_MEM_HOLE_END   0x100000000ULL

struct guest_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	uint32_t slot;
};

struct guest_mem {
	unsigned int nregions;
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	uint64_t ram_size;    /* total bytes of RAM */
};

/*
 * mmap size bytes of RAM (a page multiple, > 0) laid out from gpa 0, split
 * around the 32-bit hole. Does not register slots (see guest_mem_register).
 */
int guest_mem_alloc(struct guest_mem *mem, uint64_t size);
/* KVM_SET_USER_MEMORY_REGION for each region, slots 0.., with flags. */
int guest_mem_register(const struct guest_mem *mem, int vm_fd, uint32_t flags);
void guest_mem_free(struct guest_mem *mem);
/* Host pointer to [gpa, gpa+len) if it lies entirely inside one region, else NULL. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* Copy in/out with bounds checks: 0 or -EFAULT. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);

#endif
