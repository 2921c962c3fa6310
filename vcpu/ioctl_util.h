/* SPDX-License-Identifier: MIT */
/*
 * Private to vcpu/: the one body every wrapper shares. One ioctl, errno read
 * at once, -errno returned; the kernel's non-negative result passed through.
 */
#ifndef KVMRR_VCPU_IOCTL_UTIL_H
#define KVMRR_VCPU_IOCTL_UTIL_H

#include <errno.h>
#include <sys/ioctl.h>

static inline int kvm_ioctl_ptr(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

/* For ioctls whose argument is a value, not a pointer (KVM_SET_TSS_ADDR, KVM_SET_TSC_KHZ, ...). */
static inline int kvm_ioctl_val(int fd, unsigned long req, unsigned long arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

#endif
