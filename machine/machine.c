/* SPDX-License-Identifier: MIT */
#include "machine/machine.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "machine/cpuid.h"
#include "vcpu/kvm.h"
#include "vcpu/vm.h"

/* Intel needs three pages for the real-mode TSS and one for the EPT identity map; in the hole. */
#define TSS_GPA          0xfffbd000ULL
#define IDENTITY_MAP_GPA 0xfffbc000ULL

static const char *const end_names[END_COUNT] = {
	[END_NONE] = "running",
	[END_GUEST_EXIT] = "guest-exit",
	[END_HALT] = "halt",
	[END_SHUTDOWN] = "shutdown",
	[END_INTERNAL_ERROR] = "internal-error",
	[END_FAIL_ENTRY] = "fail-entry",
	[END_TIMEOUT] = "timeout",
	[END_SIGNAL] = "signal",
	[END_MAX_EXITS] = "max-exits",
	[END_ERROR] = "error",
	[END_UNHANDLED_EXIT] = "unhandled-exit",
	[END_DIVERGED] = "diverged",
};
_Static_assert(sizeof(end_names) / sizeof(end_names[0]) == END_COUNT, "end_names covers enum machine_end");

const char *machine_end_name(enum machine_end end)
{
	return (unsigned int)end < END_COUNT && end_names[end] ? end_names[end] : "unknown";
}

int machine_exit_status(const struct machine *m)
{
	switch (m->end) {
	case END_GUEST_EXIT:     return m->guest_code & 0xff;
	case END_HALT:           return STATUS_HALT;
	case END_SHUTDOWN:       return STATUS_SHUTDOWN;
	case END_INTERNAL_ERROR:
	case END_FAIL_ENTRY:     return STATUS_INTERNAL_ERROR;
	case END_TIMEOUT:        return STATUS_TIMEOUT;
	case END_MAX_EXITS:      return STATUS_MAX_EXITS;
	case END_SIGNAL:         return STATUS_SIGNAL;
	case END_UNHANDLED_EXIT: return STATUS_UNHANDLED_EXIT;
	case END_DIVERGED:       return STATUS_DIVERGED;
	default:                 return STATUS_ERROR;
	}
}

static int setup_cpuid(struct machine *m, struct err *err)
{
	struct kvm_cpuid2 *supported = NULL;
	int r;

	if (m->cfg.cpuid) {
		size_t bytes = sizeof(*m->cfg.cpuid) + m->cfg.cpuid->nent * sizeof(m->cfg.cpuid->entries[0]);

		m->cpuid = kvm_cpuid2_alloc(m->cfg.cpuid->nent);
		if (!m->cpuid)
			return -ENOMEM;
		memcpy(m->cpuid, m->cfg.cpuid, bytes);
		goto set;
	}
	r = kvm_get_supported_cpuid(m->kvm_fd, &supported);

	if (r < 0) {
		err_printf(err, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		return r;
	}
	m->cpuid = kvm_cpuid2_alloc(supported->nent);
	if (!m->cpuid) {
		free(supported);
		return -ENOMEM;
	}
	memcpy(m->cpuid, supported, sizeof(*supported) + supported->nent * sizeof(supported->entries[0]));
	if (!m->cfg.host_cpuid)
		machine_cpuid_profile(m->cpuid);
	if (m->cfg.cpu_features)
		r = machine_cpuid_edit(m->cpuid, supported, m->cfg.cpu_features, err);
	free(supported);
	if (r < 0)
		return r;
set:
	r = vcpu_set_cpuid2(&m->vcpu, m->cpuid);
	if (r < 0)
		err_printf(err, "KVM_SET_CPUID2 (%u entries): %s", m->cpuid->nent, strerror(-r));
	return r;
}

static int open_kvm(struct machine *m, struct err *err)
{
	int r;

	m->kvm_fd = kvm_open(NULL);
	if (m->kvm_fd < 0) {
		r = m->kvm_fd;
		err_printf(err, "cannot open /dev/kvm: %s%s", strerror(-r),
			 r == -ENOENT ? " (is the kvm_intel or kvm_amd module loaded?)" :
			 r == -EACCES ? " (no permission: add yourself to the kvm group or run as root)" : "");
		return r;
	}
	r = kvm_check_api_version(m->kvm_fd);
	if (r < 0) {
		err_printf(err, "/dev/kvm: API version %d, this build needs %d",
			 kvm_get_api_version(m->kvm_fd), KVM_EXPECTED_API_VERSION);
		return r;
	}
	m->vm_fd = kvm_create_vm(m->kvm_fd);
	if (m->vm_fd < 0) {
		err_printf(err, "KVM_CREATE_VM: %s", strerror(-m->vm_fd));
		return m->vm_fd;
	}
	/* Both are Intel-only requirements; AMD returns EINVAL or ignores them. */
	vm_set_tss_addr(m->vm_fd, TSS_GPA);
	vm_set_identity_map_addr(m->vm_fd, IDENTITY_MAP_GPA);
	return 0;
}

/* *fd = -1 when there is no serial input. */
static int open_serial_in(const struct machine_config *cfg, int *fd, struct err *err)
{
	*fd = -1;
	if (!cfg->serial_in_path)
		return 0;
	if (strcmp(cfg->serial_in_path, "-") == 0)
		*fd = dup(STDIN_FILENO);
	else
		*fd = open(cfg->serial_in_path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		int r = -errno;

		err_printf(err, "--serial-in %s: %s", cfg->serial_in_path, strerror(-r));
		return r;
	}
	return 0;
}

static int setup_devices(struct machine *m, struct err *err)
{
	int r, in_fd;

	bus_init(&m->pio, "pio");
	bus_init(&m->mmio, "mmio");
	if (m->cfg.no_devices)
		return 0;
	r = open_serial_in(&m->cfg, &in_fd, err);
	if (r < 0)
		return r;
	r = devices_init(&m->dev, &m->pio, &m->mmio, m->cfg.serial_out_fd, in_fd, &m->exits);
	if (r < 0) {
		if (in_fd >= 0)
			close(in_fd);
		err_printf(err, "devices: %s", strerror(-r));
		return r;
	}
	m->devices_up = true;
	m->serial_in_fd = in_fd;
	return 0;
}

int machine_create(struct machine *m, const struct machine_config *cfg, struct err *err)
{
	int r;

	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->kvm_fd = m->vm_fd = -1;
	m->vcpu.fd = -1;
	m->serial_in_fd = -1;
	if (!m->cfg.mem_size)
		m->cfg.mem_size = MACHINE_DEFAULT_MEM;
	r = open_kvm(m, err);
	if (r < 0)
		return r;
	r = guest_mem_alloc(&m->mem, m->cfg.mem_size);
	if (r < 0) {
		err_printf(err, "guest RAM of %" PRIu64 " bytes: %s", m->cfg.mem_size, strerror(-r));
		return r;
	}
	r = guest_mem_register(&m->mem, m->vm_fd, m->cfg.dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0);
	if (r < 0) {
		err_printf(err, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));
		return r;
	}
	r = vcpu_open(&m->vcpu, m->kvm_fd, m->vm_fd, 0);
	if (r < 0) {
		err_printf(err, "KVM_CREATE_VCPU 0: %s", strerror(-r));
		return r;
	}
	r = setup_cpuid(m, err);
	if (r < 0)
		return r;
	m->tsc_khz = vcpu_get_tsc_khz(&m->vcpu);
	if (kvm_check_extension(m->kvm_fd, KVM_CAP_SYNC_REGS) > 0)
		vcpu_sync_regs_set_valid(&m->vcpu, KVM_SYNC_X86_REGS);
	return setup_devices(m, err);
}

void machine_destroy(struct machine *m)
{
	if (m->devices_up)
		devices_destroy(&m->dev);
	if (m->serial_in_fd >= 0)
		close(m->serial_in_fd);
	m->serial_in_fd = -1;
	vcpu_close(&m->vcpu);
	tsc_sites_free(&m->tsc_sites);
	guest_mem_free(&m->mem);
	free(m->cpuid);
	if (m->vm_fd >= 0)
		close(m->vm_fd);
	if (m->kvm_fd >= 0)
		close(m->kvm_fd);
	m->vm_fd = m->kvm_fd = -1;
	m->cpuid = NULL;
	m->devices_up = false;
}
