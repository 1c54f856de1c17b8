// The zdtm runner's only C needs. This header includes nothing on purpose: ZdtmCore also imports
// Foundation, and system headers seen through two modules with different feature macros clash.
#ifndef CZDTM_H
#define CZDTM_H

/// prctl(PR_SET_CHILD_SUBREAPER, 1): prctl is variadic and cannot be called from Swift.
int czdtm_set_child_subreaper(void);

/// posix_spawn_file_actions_addclosefrom_np (a GNU extension) on a posix_spawn_file_actions_t: the
/// runner's threads open files (logs, captured output) while others spawn, and an fd caught in a test
/// would be dumped and compared as part of it.
int czdtm_spawn_closefrom(void *actions, int from);

#endif
