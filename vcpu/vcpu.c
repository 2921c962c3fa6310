/* SPDX-License-Identifier: MIT */
#include "vcpu/vcpu.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vcpu/ioctl_util.h"
#include "vcpu/kvm.h"
#include "vcpu/vm.h"

/* The ring occupies one 4 KiB page of the vCPU mapping (KVM_COALESCED_MMIO_MAX). */
#define COALESCED_RING_PAGE 4096u
#define COALESCED_RING_MAX \
	((COALESCED_RING_PAGE - sizeof(struct kvm_coalesced_mmio_ring)) / \
	 sizeof(struct kvm_coalesced_mmio))

static void vcpu_map_coalesced_ring(struct vcpu *vcpu, int kvm_fd)
{
	/* KVM_CAP_COALESCED_MMIO returns the ring's page offset in the vCPU mapping, or 0. */
	int off = kvm_check_extension(kvm_fd, KVM_CAP_COALESCED_MMIO);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (off > 0 && ((size_t)off + 1) * page <= vcpu->run_size)
		vcpu->coalesced_ring = (struct kvm_coalesced_mmio_ring *)
			((char *)vcpu->run + (size_t)off * page);
}

int vcpu_open(struct vcpu *vcpu, int kvm_fd, int vm_fd, uint32_t id)
{
	int fd, size, ret;
	void *run;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->fd = -1;
	size = kvm_get_vcpu_mmap_size(kvm_fd);
	if (size < 0)
		return size;
	if ((size_t)size < sizeof(struct kvm_run))
		return -EINVAL;
	fd = vm_create_vcpu(vm_fd, id);
	if (fd < 0)
		return fd;
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	vcpu->fd = fd;
	vcpu->id = id;
	vcpu->run = run;
	vcpu->run_size = (size_t)size;
	vcpu_map_coalesced_ring(vcpu, kvm_fd);
	return 0;
}

void vcpu_close(struct vcpu *vcpu)
{
	if (vcpu->run) {
		munmap(vcpu->run, vcpu->run_size);
		if (vcpu->fd >= 0)
			close(vcpu->fd);
	} else if (vcpu->fd > 0) {
		close(vcpu->fd);
	}
	vcpu->fd = -1;
	vcpu->run = NULL;
	vcpu->run_size = 0;
	vcpu->coalesced_ring = NULL;
}

int vcpu_run(struct vcpu *vcpu, struct vcpu_exit *exit)
{
	int r = kvm_ioctl_val(vcpu->fd, KVM_RUN, 0);

	if (r == -EINTR) {
		/* api.rst "KVM_RUN": EINTR means a signal or immediate_exit, not a failure. */
		memset(exit, 0, sizeof(*exit));
		exit->reason = KVM_EXIT_INTR;
		return 0;
	}
	if (r < 0)
		return r;
	vcpu_exit_decode(vcpu->run, exit);
	return 0;
}

void vcpu_set_immediate_exit(struct vcpu *vcpu, bool on)
{
	vcpu->run->immediate_exit = on;
}

void vcpu_set_request_interrupt_window(struct vcpu *vcpu, bool on)
{
	vcpu->run->request_interrupt_window = on;
}

/* One-ioctl accessors: the struct is the kernel's, passed as it is. */
#define VCPU_GET(name, req, type)                                         \
	int vcpu_get_##name(const struct vcpu *vcpu, type *arg)          \
	{                                                                 \
		return kvm_ioctl_ptr(vcpu->fd, req, arg);                \
	}
#define VCPU_SET(name, req, type)                                         \
	int vcpu_set_##name(const struct vcpu *vcpu, const type *arg)    \
	{                                                                 \
		return kvm_ioctl_ptr(vcpu->fd, req, (void *)arg);        \
	}

VCPU_GET(regs, KVM_GET_REGS, struct kvm_regs)
VCPU_SET(regs, KVM_SET_REGS, struct kvm_regs)
VCPU_GET(sregs, KVM_GET_SREGS, struct kvm_sregs)
VCPU_SET(sregs, KVM_SET_SREGS, struct kvm_sregs)
VCPU_GET(fpu, KVM_GET_FPU, struct kvm_fpu)
VCPU_SET(fpu, KVM_SET_FPU, struct kvm_fpu)
VCPU_SET(cpuid2, KVM_SET_CPUID2, struct kvm_cpuid2)
VCPU_GET(cpuid2, KVM_GET_CPUID2, struct kvm_cpuid2)
VCPU_GET(lapic, KVM_GET_LAPIC, struct kvm_lapic_state)
VCPU_SET(lapic, KVM_SET_LAPIC, struct kvm_lapic_state)
VCPU_GET(msrs, KVM_GET_MSRS, struct kvm_msrs)
VCPU_SET(msrs, KVM_SET_MSRS, struct kvm_msrs)
VCPU_GET(mp_state, KVM_GET_MP_STATE, struct kvm_mp_state)
VCPU_SET(mp_state, KVM_SET_MP_STATE, struct kvm_mp_state)
VCPU_GET(xsave, KVM_GET_XSAVE, struct kvm_xsave)
VCPU_SET(xsave, KVM_SET_XSAVE, struct kvm_xsave)
VCPU_GET(xcrs, KVM_GET_XCRS, struct kvm_xcrs)
VCPU_SET(xcrs, KVM_SET_XCRS, struct kvm_xcrs)
VCPU_GET(debug_regs, KVM_GET_DEBUGREGS, struct kvm_debugregs)
VCPU_SET(debug_regs, KVM_SET_DEBUGREGS, struct kvm_debugregs)
VCPU_GET(vcpu_events, KVM_GET_VCPU_EVENTS, struct kvm_vcpu_events)
VCPU_SET(vcpu_events, KVM_SET_VCPU_EVENTS, struct kvm_vcpu_events)
VCPU_SET(guest_debug, KVM_SET_GUEST_DEBUG, struct kvm_guest_debug)

int vcpu_enable_cap(const struct vcpu *vcpu, const struct kvm_enable_cap *cap)
{
	return kvm_ioctl_ptr(vcpu->fd, KVM_ENABLE_CAP, (void *)cap);
}

int vcpu_kvmclock_ctrl(const struct vcpu *vcpu)
{
	return kvm_ioctl_val(vcpu->fd, KVM_KVMCLOCK_CTRL, 0);
}

int vcpu_get_tsc_khz(const struct vcpu *vcpu)
{
	return kvm_ioctl_val(vcpu->fd, KVM_GET_TSC_KHZ, 0);
}

/* api.rst "KVM_SET_TSC_KHZ": the frequency is the argument itself. */
int vcpu_set_tsc_khz(const struct vcpu *vcpu, uint32_t khz)
{
	return kvm_ioctl_val(vcpu->fd, KVM_SET_TSC_KHZ, khz);
}

int vcpu_translate_gva(const struct vcpu *vcpu, struct kvm_translation *tr)
{
	return kvm_ioctl_ptr(vcpu->fd, KVM_TRANSLATE, tr);
}

int vcpu_smi(const struct vcpu *vcpu)
{
	return kvm_ioctl_val(vcpu->fd, KVM_SMI, 0);
}

int vcpu_nmi(const struct vcpu *vcpu)
{
	return kvm_ioctl_val(vcpu->fd, KVM_NMI, 0);
}

int vcpu_interrupt(const struct vcpu *vcpu, uint32_t vector)
{
	struct kvm_interrupt irq = { .irq = vector };

	return kvm_ioctl_ptr(vcpu->fd, KVM_INTERRUPT, &irq);
}

void vcpu_sync_regs_set_valid(struct vcpu *vcpu, uint64_t mask)
{
	vcpu->run->kvm_valid_regs |= mask;
}

void vcpu_sync_regs_clear_valid(struct vcpu *vcpu, uint64_t mask)
{
	vcpu->run->kvm_valid_regs &= ~mask;
}

void vcpu_sync_regs_set_dirty(struct vcpu *vcpu, uint64_t mask)
{
	vcpu->run->kvm_dirty_regs |= mask;
}

void vcpu_sync_regs_clear_dirty(struct vcpu *vcpu, uint64_t mask)
{
	vcpu->run->kvm_dirty_regs &= ~mask;
}

const struct kvm_sync_regs *vcpu_sync_regs_read(const struct vcpu *vcpu)
{
	return &vcpu->run->s.regs;
}

struct kvm_sync_regs *vcpu_sync_regs_write(struct vcpu *vcpu)
{
	return &vcpu->run->s.regs;
}

/*
 * The kernel appends at `last`, userspace consumes at `first` (api.rst
 * "KVM_REGISTER_COALESCED_MMIO"). Acquire on `last` so the entry is read
 * after it was written; release on `first` so the slot is free only after
 * the copy.
 */
int vcpu_coalesced_mmio_pop(struct vcpu *vcpu, struct kvm_coalesced_mmio *out)
{
	struct kvm_coalesced_mmio_ring *ring = vcpu->coalesced_ring;
	uint32_t first, last;

	if (!ring)
		return -ENODEV;
	first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
	last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
	if (first == last)
		return 0;
	if (first >= COALESCED_RING_MAX)
		return -EIO;
	*out = ring->coalesced_mmio[first];
	__atomic_store_n(&ring->first, (first + 1) % COALESCED_RING_MAX, __ATOMIC_RELEASE);
	return 1;
}
