// Constants for the fast paths of dump and restore (docs/benchmarks.md).
#ifndef CSYS_SPEED_H
#define CSYS_SPEED_H

// process_mrelease(pidfd, flags), Linux 5.15: frees a dying process's memory in the caller's context.
#define CSYS_NR_process_mrelease 448

#endif
