/* SPDX-License-Identifier: MIT */
/*
 * System fd (/dev/kvm) ioctls, after kvm-ioctls' `Kvm`.
 *
 * Every function returns 0 (or a documented non-negative value) on success
 * and -errno on failure, read right after the failing call. Nothing here
 * prints or aborts.
 */
#ifndef KVMRR_VCPU_KVM_H
#define KVMRR_VCPU_KVM_H

#include <linux/kvm.h>

#define KVM_EXPECTED_API_VERSION 12

/* open(path, O_RDWR | O_CLOEXEC); path NULL means "/dev/kvm". Returns the fd. */
int kvm_open(const char *path);
/* KVM_GET_API_VERSION: returns the version (12 on every kernel since 2.6.22). */
int kvm_get_api_version(int kvm_fd);
/* 0 if the API version is 12, -EPROTONOSUPPORT if not, -errno on failure. */
int kvm_check_api_version(int kvm_fd);
/* KVM_CHECK_EXTENSION on a system or VM fd: returns the (>= 0) capability value. */
int kvm_check_extension(int fd, long cap);
/* KVM_GET_VCPU_MMAP_SIZE: returns the size of the kvm_run mapping. */
int kvm_get_vcpu_mmap_size(int kvm_fd);
/* KVM_CREATE_VM (machine type 0): returns the VM fd. */
int kvm_create_vm(int kvm_fd);

/*
 * KVM_GET_SUPPORTED_CPUID / KVM_GET_EMULATED_CPUID. On success *out is a
 * malloc'd table (grown until the kernel stops returning E2BIG); free() it.
 */
int kvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out);
int kvm_get_emulated_cpuid(int kvm_fd, struct kvm_cpuid2 **out);

/* KVM_GET_MSR_INDEX_LIST / KVM_GET_MSR_FEATURE_INDEX_LIST; *out malloc'd. */
int kvm_get_msr_index_list(int kvm_fd, struct kvm_msr_list **out);
int kvm_get_msr_feature_index_list(int kvm_fd, struct kvm_msr_list **out);

/* A cpuid2 table with room for n entries (nent = n), zeroed; NULL on ENOMEM. */
struct kvm_cpuid2 *kvm_cpuid2_alloc(unsigned int n);
/* The entry for (function, index) in a table, or NULL. */
struct kvm_cpuid_entry2 *kvm_cpuid2_find(struct kvm_cpuid2 *cpuid,
					 unsigned int function, unsigned int index);

#endif
