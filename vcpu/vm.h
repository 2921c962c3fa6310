/* SPDX-License-Identifier: MIT */
/*
 * VM fd ioctls, after kvm-ioctls' `VmFd`. Return 0 / documented value / -errno.
 */
#ifndef KVMRR_VCPU_VM_H
#define KVMRR_VCPU_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* KVM_SET_USER_MEMORY_REGION; flags: KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY. size 0 deletes. */
int vm_set_user_memory_region(int vm_fd, uint32_t slot, uint32_t flags,
			      uint64_t gpa, uint64_t size, void *host);
/* KVM_SET_TSS_ADDR: three pages below 4 GiB that the guest never uses (Intel). */
int vm_set_tss_addr(int vm_fd, uint64_t gpa);
/* KVM_SET_IDENTITY_MAP_ADDR: one page for the real-mode identity map (Intel). */
int vm_set_identity_map_addr(int vm_fd, uint64_t gpa);
/* KVM_CREATE_IRQCHIP: in-kernel PIC + IOAPIC + per-vCPU LAPIC. */
int vm_create_irqchip(int vm_fd);
/* KVM_CREATE_PIT2 with flags (e.g. KVM_PIT_SPEAKER_DUMMY). */
int vm_create_pit2(int vm_fd, uint32_t flags);
/* KVM_GET_IRQCHIP / KVM_SET_IRQCHIP; chip->chip_id selects PIC master/slave/IOAPIC. */
int vm_get_irqchip(int vm_fd, struct kvm_irqchip *chip);
int vm_set_irqchip(int vm_fd, const struct kvm_irqchip *chip);
/* KVM_GET_PIT2 / KVM_SET_PIT2 */
int vm_get_pit2(int vm_fd, struct kvm_pit_state2 *pit);
int vm_set_pit2(int vm_fd, const struct kvm_pit_state2 *pit);
/* KVM_GET_CLOCK / KVM_SET_CLOCK (kvmclock) */
int vm_get_clock(int vm_fd, struct kvm_clock_data *clock);
int vm_set_clock(int vm_fd, const struct kvm_clock_data *clock);
/* KVM_GET_DIRTY_LOG: bitmap has one bit per page of the slot, rounded up to 64 bits. */
int vm_get_dirty_log(int vm_fd, uint32_t slot, void *bitmap);
/* KVM_REGISTER_COALESCED_MMIO / KVM_UNREGISTER_COALESCED_MMIO (pio selects the port space) */
int vm_register_coalesced_mmio(int vm_fd, uint64_t addr, uint32_t size, bool pio);
int vm_unregister_coalesced_mmio(int vm_fd, uint64_t addr, uint32_t size, bool pio);
/* KVM_ENABLE_CAP on the VM fd */
int vm_enable_cap(int vm_fd, const struct kvm_enable_cap *cap);
/* KVM_IRQ_LINE (needs an in-kernel irqchip) */
int vm_irq_line(int vm_fd, uint32_t irq, int level);
/* KVM_CREATE_VCPU: returns the vCPU fd. Prefer vcpu_open() in vcpu.h. */
int vm_create_vcpu(int vm_fd, unsigned long id);

#endif
