/* SPDX-License-Identifier: MIT */
/* System fd (/dev/kvm) ioctls. */
#include "tests/test.h"
#include "tests/vcpu/vm_setup.h"

static int open_kvm(void)
{
	test_require_kvm();
	int fd = kvm_open(NULL);
	TEST_ASSERT(fd >= 0, "kvm_open: %s", strerror(-fd));
	return fd;
}

TEST(api_version_is_12)
{
	int fd = open_kvm();

	TEST_ASSERT_EQ(kvm_get_api_version(fd), KVM_EXPECTED_API_VERSION);
	TEST_ASSERT_EQ(kvm_check_api_version(fd), 0);
	close(fd);
}

/* Not a KVM fd: the ioctl fails and the error comes back as it is, not as a version mismatch. */
TEST(check_api_version_on_wrong_fds)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	TEST_ASSERT(null_fd >= 0, "open /dev/null");
	TEST_ASSERT_EQ(kvm_check_api_version(null_fd), -ENOTTY);
	TEST_ASSERT_EQ(kvm_check_api_version(-1), -EBADF);
	TEST_ASSERT_EQ(kvm_check_api_version(test_closed_fd()), -EBADF);
	close(null_fd);
}

TEST(open_errors)
{
	TEST_ASSERT_EQ(kvm_open("/nonexistent/kvm"), -ENOENT);
	int fd = kvm_open("/dev/kvm");
	TEST_ASSERT(fd >= 0, "kvm_open(\"/dev/kvm\"): %s", strerror(-fd));
	/* O_CLOEXEC, so a VMM's children do not inherit /dev/kvm. */
	TEST_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC, "fd %d lacks FD_CLOEXEC", fd);
	close(fd);
}

TEST(check_extension_values)
{
	int fd = open_kvm();

	TEST_ASSERT(kvm_check_extension(fd, KVM_CAP_USER_MEMORY) > 0, "no KVM_CAP_USER_MEMORY");
	TEST_ASSERT(kvm_check_extension(fd, KVM_CAP_NR_MEMSLOTS) >= 2, "fewer than 2 memslots");
	TEST_ASSERT_EQ(kvm_check_extension(fd, 0x7fffffff), 0);  /* unknown cap: 0, not an error */
	int vm = kvm_create_vm(fd);
	TEST_ASSERT(vm >= 0, "kvm_create_vm: %s", strerror(-vm));
	TEST_ASSERT(kvm_check_extension(vm, KVM_CAP_USER_MEMORY) > 0, "VM fd: no KVM_CAP_USER_MEMORY");
	close(vm);
	close(fd);
}

TEST(vcpu_mmap_size_holds_kvm_run)
{
	int fd = open_kvm();
	int size = kvm_get_vcpu_mmap_size(fd);

	TEST_ASSERT(size >= (int)sizeof(struct kvm_run), "mmap size %d < sizeof(kvm_run) %zu",
		    size, sizeof(struct kvm_run));
	TEST_ASSERT_EQ(size % 4096, 0);
	close(fd);
}

TEST(create_vm_gives_distinct_fds)
{
	int fd = open_kvm();
	int a = kvm_create_vm(fd), b = kvm_create_vm(fd);

	TEST_ASSERT(a >= 0 && b >= 0 && a != b, "VM fds %d and %d", a, b);
	close(a);
	close(b);
	close(fd);
}

TEST(supported_cpuid_has_long_mode)
{
	int fd = open_kvm();
	struct kvm_cpuid2 *c;

	TEST_ASSERT_OK(kvm_get_supported_cpuid(fd, &c));
	TEST_ASSERT(c->nent > 1, "%u entries", c->nent);
	struct kvm_cpuid_entry2 *l0 = kvm_cpuid2_find(c, 0, 0);
	TEST_ASSERT(l0 && l0->eax >= 1, "leaf 0 missing or max leaf 0");
	struct kvm_cpuid_entry2 *ext = kvm_cpuid2_find(c, 0x80000001, 0);
	TEST_ASSERT(ext && (ext->edx & (1u << 29)), "CPUID 0x80000001 EDX.LM not supported");
	free(c);
	close(fd);
}

/* api.rst "KVM_GET_EMULATED_CPUID": features KVM emulates, e.g. MOVBE (leaf 1 ECX bit 22). */
TEST(emulated_cpuid_lists_movbe)
{
	int fd = open_kvm();
	struct kvm_cpuid2 *c;

	TEST_ASSERT_OK(kvm_get_emulated_cpuid(fd, &c));
	struct kvm_cpuid_entry2 *l1 = kvm_cpuid2_find(c, 1, 0);
	TEST_ASSERT(l1 && (l1->ecx & (1u << 22)), "emulated CPUID lacks MOVBE (%u entries)", c->nent);
	free(c);
	close(fd);
}

static bool msr_list_has(const struct kvm_msr_list *l, uint32_t index)
{
	for (uint32_t i = 0; i < l->nmsrs; i++)
		if (l->indices[i] == index)
			return true;
	return false;
}

TEST(msr_index_lists)
{
	int fd = open_kvm();
	struct kvm_msr_list *l, *f;

	TEST_ASSERT_OK(kvm_get_msr_index_list(fd, &l));
	TEST_ASSERT(l->nmsrs > 10, "%u MSRs", l->nmsrs);
	TEST_ASSERT(msr_list_has(l, 0x174), "IA32_SYSENTER_CS (0x174) not listed");
	TEST_ASSERT(msr_list_has(l, 0x10), "IA32_TSC (0x10) not listed");
	free(l);
	TEST_ASSERT_OK(kvm_get_msr_feature_index_list(fd, &f));
	TEST_ASSERT(msr_list_has(f, 0x8b), "feature list lacks IA32_UCODE_REV (0x8b), %u MSRs",
		    f->nmsrs);
	free(f);
	close(fd);
}

TEST(cpuid2_alloc_and_find)
{
	struct kvm_cpuid2 *c = kvm_cpuid2_alloc(3);

	TEST_ASSERT(c, "kvm_cpuid2_alloc(3)");
	TEST_ASSERT_EQ(c->nent, 3);
	TEST_ASSERT_EQ(c->entries[2].eax, 0);
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x11 };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 4, .index = 0, .eax = 0x40,
						   .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 4, .index = 1, .eax = 0x41,
						   .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	TEST_ASSERT_EQ(kvm_cpuid2_find(c, 4, 1)->eax, 0x41);
	TEST_ASSERT_EQ(kvm_cpuid2_find(c, 4, 0)->eax, 0x40);
	TEST_ASSERT_EQ(kvm_cpuid2_find(c, 1, 7)->eax, 0x11);     /* index ignored when not significant */
	TEST_ASSERT(kvm_cpuid2_find(c, 4, 2) == NULL, "leaf 4 index 2 found");
	TEST_ASSERT(kvm_cpuid2_find(c, 7, 0) == NULL, "leaf 7 found");
	TEST_ASSERT(kvm_cpuid2_find(NULL, 1, 0) == NULL, "found in NULL table");
	free(c);
}

TEST_MAIN()
