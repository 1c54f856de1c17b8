// Constants for Compel's batched syscalls (Sources/Compel/Batch.swift): linux/futex.h is not included
// elsewhere, and the batch loop's completion word is a shared (not PRIVATE) futex.
#ifndef CSYS_BATCH_H
#define CSYS_BATCH_H

#define CSYS_FUTEX_WAIT 0
#define CSYS_FUTEX_WAKE 1

#endif
