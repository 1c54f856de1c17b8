/// The format's `vma_entry.status` bits: what kind of mapping a VMA is, so restore knows how to recreate it.
enum VmaStatus {
    static let regular: UInt32 = 1 << 0
    static let stack: UInt32 = 1 << 1
    static let vsyscall: UInt32 = 1 << 2
    static let vdso: UInt32 = 1 << 3
    static let heap: UInt32 = 1 << 5
    static let filePrivate: UInt32 = 1 << 6
    static let fileShared: UInt32 = 1 << 7
    static let anonShared: UInt32 = 1 << 8
    static let anonPrivate: UInt32 = 1 << 9
    static let sysvipc: UInt32 = 1 << 10
    static let socket: UInt32 = 1 << 11
    static let vvar: UInt32 = 1 << 12
    static let aioring: UInt32 = 1 << 13
    static let memfd: UInt32 = 1 << 14
    static let guardRegion: UInt32 = 1 << 16
    static let unsupported: UInt32 = 1 << 31
}

/// The format's pagemap entry flags.
enum PagemapFlags {
    static let inParent: UInt32 = 1 << 0
    static let lazy: UInt32 = 1 << 1
    static let present: UInt32 = 1 << 2
}
