#include <sys/prctl.h>
#include "czdtm.h"

int czdtm_set_child_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}
