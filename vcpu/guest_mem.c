/* SPDX-License-Identifier: MIT */
#include "vcpu/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vcpu/vm.h"

static int guest_mem_map_region(struct guest_mem *mem, uint64_t gpa, uint64_t size)
{
	struct guest_mem_region *r = &mem->regions[mem->nregions];
	/* NORESERVE: a big guest costs nothing until it touches its pages. */
	void *host = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (host == MAP_FAILED)
		return -errno;
	r->gpa = gpa;
	r->size = size;
	r->host = host;
	r->slot = mem->nregions;
	mem->nregions++;
	return 0;
}

int guest_mem_alloc(struct guest_mem *mem, uint64_t size)
{
	uint64_t low = size < GUEST_MEM_HOLE_START ? size : GUEST_MEM_HOLE_START;
	int ret;

	memset(mem, 0, sizeof(*mem));
	if (size == 0 || size % GUEST_PAGE_SIZE != 0 || size > UINT64_MAX - GUEST_MEM_HOLE_END)
		return -EINVAL;
	ret = guest_mem_map_region(mem, 0, low);
	if (ret < 0)
		return ret;
	if (size > low) {
		ret = guest_mem_map_region(mem, GUEST_MEM_HOLE_END, size - low);
		if (ret < 0) {
			guest_mem_free(mem);
			return ret;
		}
	}
	mem->ram_size = size;
	return 0;
}

int guest_mem_register(const struct guest_mem *mem, int vm_fd, uint32_t flags)
{
	for (unsigned int i = 0; i < mem->nregions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		int ret = vm_set_user_memory_region(vm_fd, r->slot, flags, r->gpa, r->size, r->host);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void guest_mem_free(struct guest_mem *mem)
{
	for (unsigned int i = 0; i < mem->nregions && i < GUEST_MEM_MAX_REGIONS; i++)
		if (mem->regions[i].host)
			munmap(mem->regions[i].host, mem->regions[i].size);
	memset(mem, 0, sizeof(*mem));
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < mem->nregions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t off;

		if (gpa < r->gpa)
			continue;
		off = gpa - r->gpa;
		/* Written as subtractions so gpa + len cannot wrap. */
		if (off >= r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}
