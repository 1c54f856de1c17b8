// Calls a function the blob does not contain: the loader must refuse it.
extern long helper(long);
long blob_main(long *a) { return helper(*a); }
