/* vfork01 run as root: the restored parent keeps its privileges, so its child is cloned at its pid with
 * clone3's set_tid (unprivileged parents, as in vfork00 and vfork01, get it through ns_last_pid). */
#define VFORK_KEEP_ROOT
#include "vfork01.c"
