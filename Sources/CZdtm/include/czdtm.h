// The zdtm runner's only C needs. This header includes nothing on purpose: ZdtmCore also imports
// Foundation, and system headers seen through two modules with different feature macros clash.
#ifndef CZDTM_H
#define CZDTM_H

/// prctl(PR_SET_CHILD_SUBREAPER, 1): prctl is variadic and cannot be called from Swift.
int czdtm_set_child_subreaper(void);

#endif
