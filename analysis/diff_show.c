/* SPDX-License-Identifier: MIT */
/* kvmrr diff output: the first difference side by side, the summary. */
#include "analysis/diff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *diff_hex(const struct diff_exit *e)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f;

	if (!e->has_data)
		return strdup("-");
	f = open_memstream(&s, &len);
	if (!f)
		return NULL;
	analysis_put_hex(f, e->data, e->data_len > 64 ? 64 : e->data_len);
	if (e->data_len > 64)
		fprintf(f, "... (%d bytes)", e->data_len);
	return fclose(f) == 0 ? s : (free(s), NULL);
}

/* Field `i` of an exit as text (malloc'd); NULL exit: "(none)". */
static char *diff_field_text(const struct diff_exit *e, int i)
{
	char *s = NULL;

	if (!e)
		return strdup("(none)");
	switch (i) {
	case 0: return asprintf(&s, "%lld", (long long)e->seq) < 0 ? NULL : s;
	case 1: return asprintf(&s, "%lld", (long long)e->vcpu) < 0 ? NULL : s;
	case 2: return asprintf(&s, "%s (%d)", e->name, e->reason) < 0 ? NULL : s;
	case 3: return e->has_addr && asprintf(&s, "0x%llx", (unsigned long long)e->addr) >= 0 ? s : strdup("-");
	case 4: return e->has_size && asprintf(&s, "%d", e->size) >= 0 ? s : strdup("-");
	case 5: return strdup(e->has_dir ? analysis_dir_name(e->reason, e->dir) : "-");
	case 6: return diff_hex(e);
	default: return asprintf(&s, "0x%llx", (unsigned long long)e->rip) < 0 ? NULL : s;
	}
}

static int diff_print_fields(const struct diff_exit *a, const struct diff_exit *b)
{
	static const char *const names[] = { "seq (not compared)", "vcpu", "reason", "port/gpa", "size",
					     "direction", "data", "rip (not compared)" };
	struct analysis_table *t = analysis_table_new(4);
	int rc = t ? 0 : -ENOMEM;

	rc = rc ? rc : analysis_table_add(t, "");
	rc = rc ? rc : analysis_table_add(t, "A");
	rc = rc ? rc : analysis_table_add(t, "B");
	rc = rc ? rc : analysis_table_add(t, "");
	for (int i = 0; i < 8 && rc == 0; i++) {
		char *ta = diff_field_text(a, i), *tb = diff_field_text(b, i);
		bool differ = !ta || !tb || strcmp(ta, tb) != 0;

		rc = analysis_table_add(t, names[i]);
		rc = rc ? (free(ta), rc) : analysis_table_add_owned(t, ta);
		rc = rc ? (free(tb), rc) : analysis_table_add_owned(t, tb);
		rc = rc ? rc : analysis_table_add(t, differ && i != 0 && i != 7 ? "<-- differs" : "");
	}
	if (rc == 0)
		analysis_table_print(t, stdout, "  ");
	analysis_table_free(t);
	return rc;
}

static int diff_copy(struct diff_exit *to, const struct diff_exit *from)
{
	*to = *from;
	to->data = NULL;
	if (from->data_len) {
		to->data = malloc(from->data_len);
		if (!to->data)
			return -ENOMEM;
		memcpy(to->data, from->data, from->data_len);
	}
	return 0;
}

/* Context rows: marker, A seq, A, B seq, B; remembers the first differing exits. */
static int diff_context(struct diff_side *a, struct diff_side *b, long context,
			struct analysis_table *t, struct diff_exit *at_a, struct diff_exit *at_b,
			bool *has_a, bool *has_b)
{
	int64_t from_a = diff_seq_before(a, a->first, context);
	int64_t from_b = diff_seq_before(b, b->first, context);
	int rc = from_a < 0 ? (int)from_a : from_b < 0 ? (int)from_b : 0;

	if (rc == 0 && (diff_cursor(a, from_a) || diff_cursor(b, from_b)))
		rc = -EIO;
	for (long after = -1; rc == 0 && after < context;) {
		int ra = diff_next(a), rb = diff_next(b);
		char fields[128] = "";
		bool at = (ra && a->cur.seq == a->first) || (rb && b->cur.seq == b->first);

		if (ra < 0 || rb < 0)
			return ra < 0 ? ra : rb;
		if (ra == 0 && rb == 0)
			break;
		if (ra && a->cur.seq == a->first)
			rc = diff_copy(at_a, &a->cur), *has_a = true;
		if (rb && b->cur.seq == b->first && rc == 0)
			rc = diff_copy(at_b, &b->cur), *has_b = true;
		if (rc == 0)
			rc = analysis_table_add(t, at ? ">" : ra && rb && !diff_fields(&a->cur, &b->cur,
						fields, sizeof(fields)) ? "" : "*");
		rc = rc ? rc : ra ? analysis_table_addf(t, "%lld", (long long)a->cur.seq) : analysis_table_add(t, "");
		rc = rc ? rc : analysis_table_add_owned(t, ra ? diff_describe(&a->cur) : strdup("(end)"));
		rc = rc ? rc : rb ? analysis_table_addf(t, "%lld", (long long)b->cur.seq) : analysis_table_add(t, "");
		rc = rc ? rc : analysis_table_add_owned(t, rb ? diff_describe(&b->cur) : strdup("(end)"));
		/* `context` rows before the first difference (cursor start), it, `context` after. */
		if (at || after >= 0)
			after++;
	}
	return rc;
}

int diff_print_first(struct diff_side *a, struct diff_side *b, const char *fields, long context)
{
	static const char *const heads[] = { "", "SEQ", "A", "SEQ", "B" };
	struct analysis_table *t = analysis_table_new(5);
	struct diff_exit at_a = { 0 }, at_b = { 0 };
	bool has_a = false, has_b = false;
	int rc = t ? 0 : -ENOMEM;

	for (int i = 0; i < 5 && rc == 0; i++)
		rc = analysis_table_add(t, heads[i]);
	if (rc == 0) {
		analysis_table_right(t, 1);
		analysis_table_right(t, 3);
	}
	rc = rc ? rc : diff_context(a, b, context, t, &at_a, &at_b, &has_a, &has_b);
	if (rc == 0) {
		if (a->first == b->first)
			printf("\nfirst difference at seq %lld: %s\n", (long long)a->first, fields);
		else
			printf("\nfirst difference at seq %lld in A, seq %lld in B: %s\n",
			       (long long)a->first, (long long)b->first, fields);
		rc = diff_print_fields(has_a ? &at_a : NULL, has_b ? &at_b : NULL);
	}
	if (rc == 0) {
		printf("\nexits around it (> the first difference, * differs):\n");
		analysis_table_print(t, stdout, "  ");
	}
	free(at_a.data);
	free(at_b.data);
	analysis_table_free(t);
	return rc;
}

struct diff_count {
	char name[40];
	int64_t n[2];
};

/* Exits per reason name in one recording, merged into counts[]. */
static int diff_count_reasons(struct diff_side *s, int side, struct diff_count *counts, int *n,
			      int max)
{
	sqlite3_stmt *st = NULL;
	int rc = analysis_prepare("diff", &s->rec, "SELECT reason_name, COUNT(*) FROM"
				  " temp.analysis_exit GROUP BY reason ORDER BY COUNT(*) DESC", &st);

	while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int i;

		for (i = 0; i < *n && strcmp(counts[i].name, name); i++)
			;
		if (i == *n && *n < max)
			snprintf(counts[(*n)++].name, sizeof(counts[0].name), "%s", name);
		if (i < *n)
			counts[i].n[side] = sqlite3_column_int64(st, 1);
		rc = 0;
	}
	rc = rc == SQLITE_DONE ? 0 : rc > 0 ? analysis_step_error("diff", &s->rec, rc) : rc;
	sqlite3_finalize(st);
	return rc;
}

static int64_t diff_events(struct diff_side *s)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(s->rec.db, "SELECT COUNT(*) FROM main.event", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* One "meta" line of the summary: key, A's value, B's value. */
static int diff_meta_row(struct analysis_table *t, struct diff_side *a, struct diff_side *b,
			 const char *key)
{
	char *va = analysis_meta(&a->rec, key), *vb = analysis_meta(&b->rec, key);
	bool same = va && vb ? strcmp(va, vb) == 0 : va == vb;
	int rc = analysis_table_addf(t, "meta.%s", key);

	/* Digests are long: 16 hex digits tell them apart on screen. */
	if (va && strlen(va) > 20)
		strcpy(va + 16, "...");
	if (vb && strlen(vb) > 20)
		strcpy(vb + 16, "...");
	rc = rc ? rc : analysis_table_add(t, va ? va : "-");
	rc = rc ? rc : analysis_table_add(t, vb ? vb : "-");
	rc = rc ? rc : analysis_table_add(t, same ? "" : "differs");
	free(va);
	free(vb);
	return rc;
}

int diff_print_summary(struct diff_side *a, struct diff_side *b)
{
	struct diff_count counts[64] = { 0 };
	struct analysis_table *t = analysis_table_new(4);
	int n = 0, rc = t ? 0 : -ENOMEM;
	static const char *const heads[] = { "", "A", "B", "B - A" };

	for (int i = 0; i < 4 && rc == 0; i++)
		rc = analysis_table_add(t, heads[i]);
	for (int i = 1; i < 4 && rc == 0; i++)
		analysis_table_right(t, i);
	rc = rc ? rc : diff_count_reasons(a, 0, counts, &n, 64);
	rc = rc ? rc : diff_count_reasons(b, 1, counts, &n, 64);
	for (int i = 0; i < n && rc == 0; i++) {
		rc = analysis_table_addf(t, "%s exits", counts[i].name);
		rc = rc ? rc : analysis_table_addf(t, "%lld", (long long)counts[i].n[0]);
		rc = rc ? rc : analysis_table_addf(t, "%lld", (long long)counts[i].n[1]);
		rc = rc ? rc : analysis_table_addf(t, "%+lld", (long long)(counts[i].n[1] - counts[i].n[0]));
	}
	rc = rc ? rc : analysis_table_add(t, "all exits");
	rc = rc ? rc : analysis_table_addf(t, "%lld", (long long)a->rec.exits);
	rc = rc ? rc : analysis_table_addf(t, "%lld", (long long)b->rec.exits);
	rc = rc ? rc : analysis_table_addf(t, "%+lld", (long long)(b->rec.exits - a->rec.exits));
	rc = rc ? rc : analysis_table_add(t, "compared (INTR with no injection skipped)");
	rc = rc ? rc : analysis_table_addf(t, "%lld", (long long)a->compared);
	rc = rc ? rc : analysis_table_addf(t, "%lld", (long long)b->compared);
	rc = rc ? rc : analysis_table_addf(t, "%+lld", (long long)(b->compared - a->compared));
	rc = rc ? rc : analysis_table_add(t, "injections");
	rc = rc ? rc : analysis_table_addf(t, "%lld", (long long)diff_events(a));
	rc = rc ? rc : analysis_table_addf(t, "%lld", (long long)diff_events(b));
	rc = rc ? rc : analysis_table_addf(t, "%+lld", (long long)(diff_events(b) - diff_events(a)));
	rc = rc ? rc : diff_meta_row(t, a, b, "end");
	rc = rc ? rc : diff_meta_row(t, a, b, "final_mem_digest");
	if (rc == 0) {
		printf("\nsummary:\n");
		analysis_table_print(t, stdout, "  ");
	}
	analysis_table_free(t);
	return rc;
}
