/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for `kvmrr <analysis command>` so that the analysis tests do not
 * depend on the CLI's dispatch: analysis_main COMMAND ARGS... calls the
 * command's entry point with argv starting at COMMAND, as cli/ does.
 */
#include "analysis/analysis.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "stats", analysis_cmd_stats },
		{ "query", analysis_cmd_query },
		{ "export", analysis_cmd_export },
		{ "diff", analysis_cmd_diff },
		{ "report", analysis_cmd_report },
	};

	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "usage: analysis_main stats|query|export|report|diff ARGS...\n");
	return 1;
}
