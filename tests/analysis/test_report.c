/* SPDX-License-Identifier: MIT */
/*
 * kvmrr report: the page is self-contained, has its four SVG charts, and
 * headless Chromium draws them (coloured pixels inside each chart's box in
 * a screenshot, none in the title band).
 */
#include "tests/analysis/util.h"
#include "tests/test.h"

static const char *const chart_ids[] = { "chart-rate", "chart-share", "chart-ports", "chart-mmio" };

/* The HTML holds the charts with drawn bars and fetches nothing. */
static void check_html(const char *html, bool mmio)
{
	TEST_ASSERT(strncmp(html, "<!DOCTYPE html>", 15) == 0, "not HTML: %.40s", html);
	for (int i = 0; i < 4; i++) {
		char want[64];
		const char *svg, *end;

		snprintf(want, sizeof(want), "<svg id=\"%s\"", chart_ids[i]);
		svg = strstr(html, want);
		TEST_ASSERT(svg, "no %s", want);
		end = strstr(svg, "</svg>");
		TEST_ASSERT(end, "%s not closed", chart_ids[i]);
		if (i < 3 || mmio) {
			const char *bar = strstr(svg, "<rect class=\"bar\"");

			TEST_ASSERT(bar && bar < end, "%s has no bars", chart_ids[i]);
		}
	}
	TEST_ASSERT(!strstr(html, "<script") && !strstr(html, "src=") && !strstr(html, "href=") &&
		    !strstr(html, "url(") && !strstr(html, "@import"), "the page fetches something");
	TEST_ASSERT_EQ(count_str(html, "http"), count_str(html, "xmlns=\"http://www.w3.org/2000/svg\""));
	TEST_ASSERT(strstr(html, "<table id=\"meta\">") && strstr(html, "kvmrr-recording"),
		    "no metadata table");
}

/* Screenshot the page; check ink in every chart box and none in the title band. */
static void check_rendered(const char *html_path, const char *html)
{
	char *out = NULL, *err = NULL, *png = tmp_path("shot.png"), *profile = tmp_path("chromium");
	char checks[512] = "", src[512];
	const char *p = html;
	int boxes = 0;

	if (run_shell(NULL, NULL, "command -v chromium") != 0)
		TEST_ASSERT(0, "chromium is not installed: scripts/install-deps installs it");
	while ((p = strstr(p, "data-box=\""))) {
		int x, y, w, h;

		TEST_ASSERT(sscanf(p, "data-box=\"%d,%d,%d,%d\"", &x, &y, &w, &h) == 4, "data-box");
		/* The SVG is below the box's 28 px title. */
		snprintf(checks + strlen(checks), sizeof(checks) - strlen(checks), " %d,%d,%d,%d:400",
			 x, y + 28, w, h - 28);
		boxes++;
		p++;
	}
	TEST_ASSERT_EQ(boxes, 4);
	strcat(checks, " 0,0,1280,80:0");
	TEST_ASSERT_EQ(run_shell(&out, &err, "timeout 120 chromium --headless --no-sandbox --disable-gpu "
				 "--disable-quic --no-first-run --disable-background-networking "
				 "--disable-component-update --disable-sync --user-data-dir=%s "
				 "--screenshot=%s --window-size=1280,1600 file://%s", profile, png,
				 html_path), 0);
	snprintf(src, sizeof(src), "%s/tests/analysis/png_check.py", getenv("KVMRR_SOURCE_DIR"));
	/* The title band may hold no ink: the "0 coloured" box is checked separately. */
	TEST_ASSERT_EQ(run_shell(&out, &err, "python3 %s %s%s", src, png, checks), 0);
	TEST_ASSERT(strstr(out, "box 0,0,1280,80: 0 coloured pixels"), "ink in the title band: %s", out);
	TEST_ASSERT(strstr(out, "image 1280x1600"), "screenshot size: %s", out);
}

TEST(report_of_fixture_renders)
{
	char *db = tmp_path("rec.db"), *html_path = tmp_path("report.html"), *err = NULL, *html;
	struct fixture fx = { .exits = 3000, .seed = 11, .format_version = 1, .complete = true };

	fixture_write(db, &fx);
	TEST_ASSERT_EQ(run_analysis(NULL, &err, "report -o %s %s", html_path, db), 0);
	html = slurp(html_path, NULL);
	check_html(html, true);
	TEST_ASSERT(strstr(html, "0x03f8 out") && strstr(html, "0xd0000000 w"), "bars lack labels");
	check_rendered(html_path, html);
}

TEST(report_of_recorded_mmio_guest_renders)
{
	char elf[512], kvmrr[512], *db = tmp_path("mmio.db"), *html_path = tmp_path("mmio.html");
	char *err = NULL, *html;

	test_require_kvm();
	test_build_path("guests/mmio.elf", elf, sizeof(elf));
	test_build_path("cli/kvmrr", kvmrr, sizeof(kvmrr));
	run_shell(NULL, &err, "%s record -q -f -o %s %s", kvmrr, db, elf);
	TEST_ASSERT(sql_int(db, "SELECT value = 1 FROM meta WHERE key = 'complete'"), "record: %s", err);
	TEST_ASSERT_EQ(run_analysis(NULL, &err, "report -o %s %s", html_path, db), 0);
	html = slurp(html_path, NULL);
	check_html(html, sql_int(db, "SELECT COUNT(*) FROM exit WHERE reason = 6") > 0);
	check_rendered(html_path, html);
}

TEST(report_of_empty_recording)
{
	char *db = tmp_path("empty.db"), *html_path = tmp_path("e.html"), *err = NULL, *html;
	struct fixture fx = { .exits = 0, .seed = 1, .format_version = 1, .complete = true };

	fixture_write(db, &fx);
	TEST_ASSERT_EQ(run_analysis(NULL, &err, "report -o %s %s", html_path, db), 0);
	html = slurp(html_path, NULL);
	TEST_ASSERT(strstr(html, "no exits recorded") && strstr(html, "no port IO exits"), "%s", html);
}

TEST_MAIN()
