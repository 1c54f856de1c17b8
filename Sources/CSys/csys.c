// Everything in CSys is header-only; this file gives SwiftPM a C source to build the module from.
#include "CSys.h"
