/* bigmem00 with a second thread: the memory is freed in it instead of an injected helper thread. */
#define WITH_THREAD
#include "bigmem00.c"
