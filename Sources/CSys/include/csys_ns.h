// Namespaces: mounts, host names and the loopback link's flags, for restoring a tree into fresh
// namespaces. Thin wrappers only.
#ifndef CSYS_NS_H
#define CSYS_NS_H
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <net/if.h>
#include <unistd.h>

static inline int csys_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
                             const char *data) {
    return mount(source, target, fstype, flags, data);
}

static inline int csys_umount2(const char *target, int flags) { return umount2(target, flags); }

static inline int csys_sethostname(const char *name, size_t len) { return sethostname(name, len); }
static inline int csys_setdomainname(const char *name, size_t len) { return setdomainname(name, len); }

/// SIOCGIFFLAGS on a socket for the link NAME; returns -1 with errno on failure.
static inline int csys_if_get_flags(int sock, const char *name, short *flags) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) return -1;
    *flags = ifr.ifr_flags;
    return 0;
}

/// SIOCSIFFLAGS on a socket for the link NAME.
static inline int csys_if_set_flags(int sock, const char *name, short flags) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_flags = flags;
    return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

#define CSYS_IFF_UP 0x1
#define CSYS_MS_RDONLY 1UL
#define CSYS_MS_NOSUID 2UL
#define CSYS_MS_NODEV 4UL
#define CSYS_MS_NOEXEC 8UL
#define CSYS_MS_NOATIME 1024UL
#define CSYS_MS_NODIRATIME 2048UL
#define CSYS_MS_BIND 4096UL
#define CSYS_MS_REC 16384UL
#define CSYS_MS_PRIVATE (1UL << 18)
#define CSYS_MS_RELATIME (1UL << 21)
#define CSYS_MS_STRICTATIME (1UL << 24)
#define CSYS_MNT_DETACH 2

#endif
