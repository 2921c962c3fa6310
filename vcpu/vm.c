/* SPDX-License-Identifier: MIT */
#include "vcpu/vm.h"

#include "vcpu/ioctl_util.h"

int vm_set_user_memory_region(int vm_fd, uint32_t slot, uint32_t flags,
			      uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return kvm_ioctl_ptr(vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/* api.rst "KVM_SET_TSS_ADDR": the argument is the address itself, not a pointer. */
int vm_set_tss_addr(int vm_fd, uint64_t gpa)
{
	return kvm_ioctl_val(vm_fd, KVM_SET_TSS_ADDR, (unsigned long)gpa);
}

/* api.rst "KVM_SET_IDENTITY_MAP_ADDR": a pointer to a u64; fails with EINVAL once a vCPU exists. */
int vm_set_identity_map_addr(int vm_fd, uint64_t gpa)
{
	uint64_t addr = gpa;

	return kvm_ioctl_ptr(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
}

int vm_create_irqchip(int vm_fd)
{
	return kvm_ioctl_val(vm_fd, KVM_CREATE_IRQCHIP, 0);
}

int vm_create_pit2(int vm_fd, uint32_t flags)
{
	struct kvm_pit_config cfg = { .flags = flags };

	return kvm_ioctl_ptr(vm_fd, KVM_CREATE_PIT2, &cfg);
}

int vm_get_irqchip(int vm_fd, struct kvm_irqchip *chip)
{
	return kvm_ioctl_ptr(vm_fd, KVM_GET_IRQCHIP, chip);
}

int vm_set_irqchip(int vm_fd, const struct kvm_irqchip *chip)
{
	return kvm_ioctl_ptr(vm_fd, KVM_SET_IRQCHIP, (void *)chip);
}

int vm_get_pit2(int vm_fd, struct kvm_pit_state2 *pit)
{
	return kvm_ioctl_ptr(vm_fd, KVM_GET_PIT2, pit);
}

int vm_set_pit2(int vm_fd, const struct kvm_pit_state2 *pit)
{
	return kvm_ioctl_ptr(vm_fd, KVM_SET_PIT2, (void *)pit);
}

int vm_get_clock(int vm_fd, struct kvm_clock_data *clock)
{
	return kvm_ioctl_ptr(vm_fd, KVM_GET_CLOCK, clock);
}

int vm_set_clock(int vm_fd, const struct kvm_clock_data *clock)
{
	return kvm_ioctl_ptr(vm_fd, KVM_SET_CLOCK, (void *)clock);
}

int vm_get_dirty_log(int vm_fd, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return kvm_ioctl_ptr(vm_fd, KVM_GET_DIRTY_LOG, &log);
}

int vm_register_coalesced_mmio(int vm_fd, uint64_t addr, uint32_t size, bool pio)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size, .pio = pio };

	return kvm_ioctl_ptr(vm_fd, KVM_REGISTER_COALESCED_MMIO, &z);
}

int vm_unregister_coalesced_mmio(int vm_fd, uint64_t addr, uint32_t size, bool pio)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size, .pio = pio };

	return kvm_ioctl_ptr(vm_fd, KVM_UNREGISTER_COALESCED_MMIO, &z);
}

int vm_enable_cap(int vm_fd, const struct kvm_enable_cap *cap)
{
	return kvm_ioctl_ptr(vm_fd, KVM_ENABLE_CAP, (void *)cap);
}

int vm_irq_line(int vm_fd, uint32_t irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };

	return kvm_ioctl_ptr(vm_fd, KVM_IRQ_LINE, &l);
}

int vm_create_vcpu(int vm_fd, unsigned long id)
{
	return kvm_ioctl_val(vm_fd, KVM_CREATE_VCPU, id);
}
