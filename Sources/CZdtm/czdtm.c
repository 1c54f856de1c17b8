#define _GNU_SOURCE
#include <spawn.h>
#include <sys/prctl.h>
#include "czdtm.h"

int czdtm_set_child_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int czdtm_spawn_closefrom(void *actions, int from)
{
	return posix_spawn_file_actions_addclosefrom_np(actions, from);
}
