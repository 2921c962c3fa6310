/* SPDX-License-Identifier: MIT */
#include "tracer/initial.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine/sha256.h"
#include "stream/format.h"
#include "stream/pagemap.h"
#include "tracer/tracer.h"
#include "vcpu/kvm.h"

const char *tracer_loader_name(const char *path)
{
	uint8_t head[8192];
	size_t n = 0;
	FILE *f = fopen(path, "rb");

	if (f) {
		n = fread(head, 1, sizeof(head), f);
		fclose(f);
	}
	if (n >= 0x206 && memcmp(head + 0x202, "HdrS", 4) == 0)
		return "bzimage";
	if (n < 4 || memcmp(head, "\x7f" "ELF", 4) != 0)
		return "unknown";
	/* A multiboot header (magic 0x1BADB002, 4-byte aligned) in the first 8 KiB. */
	for (size_t off = 0; off + 4 <= n; off += 4)
		if (head[off] == 0x02 && head[off + 1] == 0xb0 && head[off + 2] == 0xad &&
		    head[off + 3] == 0x1b)
			return "multiboot";
	return "pvh";
}

int tracer_initial_meta(sqlite3 *db, struct machine *m, int argc, char **argv, struct err *err)
{
	int khz = m->tsc_khz > 0 ? m->tsc_khz : vcpu_get_tsc_khz(&m->vcpu);
	int r;

	if (khz <= 0) {
		err_printf(err, "KVM_GET_TSC_KHZ: %s", strerror(khz < 0 ? -khz : EINVAL));
		return khz < 0 ? khz : -EINVAL;
	}
	r = tracer_meta_host(db, argc, argv, khz, err);
	if (!r) r = stream_meta_set_int(db, "kvm_api_version", kvm_get_api_version(m->kvm_fd), err);
	if (!r) r = stream_meta_set_int(db, "mem_size", (long long)m->mem.ram_size, err);
	if (!r) r = stream_meta_set_text(db, "loader", m->loader ? m->loader :
					    tracer_loader_name(m->cfg.guest_path), err);
	if (!r) r = stream_meta_set_text(db, "guest_cmdline", m->cfg.cmdline ? m->cfg.cmdline : "", err);
	return r;
}

static int read_file(const char *path, uint8_t **data, size_t *len, struct err *err)
{
	FILE *f = fopen(path, "rb");
	long size = 0;
	int r = 0;

	*data = NULL;
	if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		r = -errno;
		err_printf(err, "reading guest image %s: %s", path, strerror(errno));
	} else if (!(*data = malloc(size ? (size_t)size : 1))) {
		r = -ENOMEM;
		err_printf(err, "reading guest image %s: %ld bytes: out of memory", path, size);
	} else if (fread(*data, 1, (size_t)size, f) != (size_t)size) {
		r = -EIO;
		err_printf(err, "reading guest image %s: short read", path);
	}
	if (f)
		fclose(f);
	if (r < 0) {
		free(*data);
		*data = NULL;
	}
	*len = r < 0 ? 0 : (size_t)size;
	return r;
}

static int add_image(sqlite3_stmt *st, const char *path, const char *role, struct err *err)
{
	uint8_t *data, digest[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	size_t len;
	int r = read_file(path, &data, &len, err);

	if (r < 0)
		return r;
	sha256(data, len, digest);
	sha256_hex(digest, hex);
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)len);
	sqlite3_bind_text(st, 4, hex, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 5, data, len, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	free(data);
	if (r != SQLITE_DONE) {
		err_printf(err, "INSERT INTO image %s: %s", path, sqlite3_errstr(r));
		return stream_sqlite_errno(r);
	}
	return 0;
}

int tracer_initial_images(sqlite3 *db, struct machine *m, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (sqlite3_prepare_v2(db, "INSERT INTO image(name, role, size, sha256, data)"
			       " VALUES(?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK) {
		return err_set(err, -EIO, "preparing INSERT INTO image: %s", sqlite3_errmsg(db));
	}
	r = m->cfg.guest_path ? add_image(st, m->cfg.guest_path, "kernel", err) : 0;
	if (!r && m->cfg.initrd_path)
		r = add_image(st, m->cfg.initrd_path, "initrd", err);
	sqlite3_finalize(st);
	return r;
}

int tracer_initial_cpuid(sqlite3 *db, struct machine *m, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "INSERT INTO cpuid(function, idx, flags, eax, ebx, ecx, edx)"
				    " VALUES(?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL);

	for (uint32_t i = 0; rc == SQLITE_OK && m->cpuid && i < m->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &m->cpuid->entries[i];

		sqlite3_bind_int64(st, 1, e->function);
		sqlite3_bind_int64(st, 2, e->index);
		sqlite3_bind_int64(st, 3, e->flags);
		sqlite3_bind_int64(st, 4, e->eax);
		sqlite3_bind_int64(st, 5, e->ebx);
		sqlite3_bind_int64(st, 6, e->ecx);
		sqlite3_bind_int64(st, 7, e->edx);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? sqlite3_reset(st) : rc;
	}
	if (rc != SQLITE_OK)
		err_printf(err, "INSERT INTO cpuid: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : stream_sqlite_errno(rc);
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t i = 0; i < GUEST_PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

int tracer_initial_pages(sqlite3 *db, const struct guest_mem *mem, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "INSERT INTO mem_page(gpa, data) VALUES(?, ?)", -1, &st, NULL);

	for (unsigned int i = 0; rc == SQLITE_OK && i < mem->nregions; i++) {
		const struct guest_mem_region *reg = &mem->regions[i];
		uint64_t npages = reg->size / GUEST_PAGE_SIZE;
		uint64_t *pop = malloc((npages + 63) / 64 * 8);

		if (!pop) {
			err_printf(err, "mem_page: out of memory");
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		/* Pages the kernel never populated are zero: skip them without touching them. */
		stream_pages_populated(reg->host, npages, pop);
		for (uint64_t p = 0; rc == SQLITE_OK && p < npages; p++) {
			const uint8_t *page = reg->host + p * GUEST_PAGE_SIZE;

			if (!stream_page_populated(pop, p) || page_is_zero(page))
				continue;
			sqlite3_bind_int64(st, 1, (sqlite3_int64)(reg->gpa + p * GUEST_PAGE_SIZE));
			sqlite3_bind_blob(st, 2, page, GUEST_PAGE_SIZE, SQLITE_STATIC);
			rc = sqlite3_step(st);
			rc = rc == SQLITE_DONE ? sqlite3_reset(st) : rc;
		}
		free(pop);
	}
	if (rc != SQLITE_OK)
		err_printf(err, "INSERT INTO mem_page: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : stream_sqlite_errno(rc);
}
