/* SPDX-License-Identifier: MIT */
/* kvmrr replay: see replay/replay.h. */
#include "cli/cli.h"

#include "replay/replay.h"

int cli_cmd_replay(int argc, char **argv)
{
	return replay_cmd(argc, argv);
}
