// Constants for recreating a parent inside vfork (docs/vfork.md).
#ifndef CSYS_VFORK_H
#define CSYS_VFORK_H

#define CSYS_CLONE_VFORK 0x00004000

#endif
