/* SPDX-License-Identifier: MIT */
#include "vcpu/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "vcpu/ioctl_util.h"

/* Tables above this many entries mean the kernel is misbehaving, not growing. */
#define KVM_TABLE_MAX 65536u

int kvm_open(const char *path)
{
	int fd = open(path ? path : "/dev/kvm", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int kvm_get_api_version(int kvm_fd)
{
	return kvm_ioctl_val(kvm_fd, KVM_GET_API_VERSION, 0);
}

int kvm_check_api_version(int kvm_fd)
{
	int v = kvm_get_api_version(kvm_fd);

	if (v < 0)
		return v;
	return v == KVM_EXPECTED_API_VERSION ? 0 : -EPROTONOSUPPORT;
}

int kvm_check_extension(int fd, long cap)
{
	return kvm_ioctl_val(fd, KVM_CHECK_EXTENSION, (unsigned long)cap);
}

int kvm_get_vcpu_mmap_size(int kvm_fd)
{
	return kvm_ioctl_val(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
}

int kvm_create_vm(int kvm_fd)
{
	return kvm_ioctl_val(kvm_fd, KVM_CREATE_VM, 0);
}

struct kvm_cpuid2 *kvm_cpuid2_alloc(unsigned int n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));

	if (c)
		c->nent = n;
	return c;
}

struct kvm_cpuid_entry2 *kvm_cpuid2_find(struct kvm_cpuid2 *cpuid,
					 unsigned int function, unsigned int index)
{
	for (unsigned int i = 0; cpuid && i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

		if (e->function == function && (!indexed || e->index == index))
			return e;
	}
	return NULL;
}

/*
 * KVM_GET_SUPPORTED_CPUID / KVM_GET_EMULATED_CPUID fail with E2BIG while nent
 * is too small, without saying how many are needed (api.rst "KVM_GET_SUPPORTED_CPUID"): double.
 */
static int kvm_get_cpuid_table(int kvm_fd, unsigned long req, struct kvm_cpuid2 **out)
{
	*out = NULL;
	for (unsigned int n = 64; n <= KVM_TABLE_MAX; n *= 2) {
		struct kvm_cpuid2 *c = kvm_cpuid2_alloc(n);
		int r;

		if (!c)
			return -ENOMEM;
		r = kvm_ioctl_ptr(kvm_fd, req, c);
		if (r == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (r != -E2BIG)
			return r;
	}
	return -E2BIG;
}

int kvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	return kvm_get_cpuid_table(kvm_fd, KVM_GET_SUPPORTED_CPUID, out);
}

int kvm_get_emulated_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	return kvm_get_cpuid_table(kvm_fd, KVM_GET_EMULATED_CPUID, out);
}

/*
 * The MSR lists do report their size: E2BIG with nmsrs set to the count
 * needed (api.rst "KVM_GET_MSR_INDEX_LIST"). Retry until it fits; the list may grow in between.
 */
static int kvm_get_msr_list(int kvm_fd, unsigned long req, struct kvm_msr_list **out)
{
	unsigned int n = 64;

	*out = NULL;
	while (n <= KVM_TABLE_MAX) {
		struct kvm_msr_list *l = calloc(1, sizeof(*l) + (size_t)n * sizeof(l->indices[0]));
		int r;

		if (!l)
			return -ENOMEM;
		l->nmsrs = n;
		r = kvm_ioctl_ptr(kvm_fd, req, l);
		if (r == 0) {
			*out = l;
			return 0;
		}
		if (r != -E2BIG) {
			free(l);
			return r;
		}
		n = l->nmsrs > n ? l->nmsrs : n * 2;
		free(l);
	}
	return -E2BIG;
}

int kvm_get_msr_index_list(int kvm_fd, struct kvm_msr_list **out)
{
	return kvm_get_msr_list(kvm_fd, KVM_GET_MSR_INDEX_LIST, out);
}

int kvm_get_msr_feature_index_list(int kvm_fd, struct kvm_msr_list **out)
{
	return kvm_get_msr_list(kvm_fd, KVM_GET_MSR_FEATURE_INDEX_LIST, out);
}
