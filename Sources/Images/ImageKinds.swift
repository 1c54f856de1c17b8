import SwiftProtobuf

extension ImageKind {
    private static func k(
        _ name: String, _ magic: UInt32, _ files: [String],
        _ message: (any SwiftProtobuf.Message.Type)?, _ extra: ExtraPayload = .none,
        header: ImageHeader = .common
    ) -> ImageKind {
        ImageKind(name: name, magic: magic, header: header, files: files, message: message, extra: extra)
    }

    /// Every kind CRIU defines. Kinds whose message we do not model carry `message == nil`:
    /// they are recognised by magic and counted, but their entries are not decoded.
    public static let all: [ImageKind] = [
        k("INVENTORY", 0x5831_3116, ["inventory.img"], InventoryEntry.self, header: .bare),
        k("PSTREE", 0x5027_3030, ["pstree.img"], PstreeEntry.self),
        k("FDINFO", 0x5621_3732, ["fdinfo-%u.img"], FdinfoEntry.self),
        k("PAGEMAP", 0x5608_4025, ["pagemap-%lu.img", "pagemap-shmem-%lu.img"], PagemapEntry.self),
        k("CORE", 0x5505_3847, ["core-%u.img"], CoreEntry.self),
        k("IDS", 0x5443_2030, ["ids-%u.img"], TaskKobjIdsEntry.self),
        k("VMAS", 0x5412_3737, ["vmas-%u.img"], VmaEntry.self),
        k("PIPES", 0x5651_3555, ["pipes.img"], PipeEntry.self),
        k("PIPES_DATA", 0x5645_3709, ["pipes-data.img"], PipeDataEntry.self, .pipeData),
        k("FIFO", 0x5836_4939, ["fifo.img"], FifoEntry.self),
        k("FIFO_DATA", 0x5933_3054, ["fifo-data.img"], PipeDataEntry.self, .pipeData),
        k("SIGACT", 0x5534_4201, ["sigacts-%u.img"], SaEntry.self),
        k("UNIXSK", 0x5437_3943, ["unixsk.img"], UnixSkEntry.self),
        k("INETSK", 0x5644_3851, ["inetsk.img"], InetSkEntry.self),
        k("PACKETSK", 0x6045_4618, ["packetsk.img"], PacketSockEntry.self),
        k("ITIMERS", 0x5746_4056, ["itimers-%u.img"], ItimerEntry.self),
        k("POSIX_TIMERS", 0x5260_3957, ["posix-timers-%u.img"], PosixTimerEntry.self),
        k("SK_QUEUES", 0x5626_4026, ["sk-queues.img"], SkPacketEntry.self, .socketQueue),
        k("UTSNS", 0x5447_3203, ["utsns-%u.img"], UtsnsEntry.self),
        k("CREDS", 0x5402_3547, ["creds-%u.img"], CredsEntry.self),
        k("IPC_VAR", 0x5311_5007, ["ipcns-var-%u.img"], IpcVarEntry.self),
        k("IPCNS_SHM", 0x4628_3044, ["ipcns-shm-%u.img"], IpcShmEntry.self, .sysvShm),
        k("IPCNS_MSG", 0x5545_3737, ["ipcns-msg-%u.img"], IpcMsgEntry.self, .sysvMsg),
        k("IPCNS_SEM", 0x5957_3019, ["ipcns-sem-%u.img"], IpcSemEntry.self, .sysvSem),
        k("REG_FILES", 0x5036_3636, ["reg-files.img"], RegFileEntry.self),
        k("EXT_FILES", 0x5925_5641, ["ext-files.img"], ExtFileEntry.self),
        k("FS", 0x5140_3912, ["fs-%u.img"], FsEntry.self),
        k("MM", 0x5749_2820, ["mm-%u.img"], MmEntry.self),
        k("REMAP_FPATH", 0x5913_3954, ["remap-fpath.img"], RemapFilePathEntry.self),
        k("GHOST_FILE", 0x5258_3605, ["ghost-file-%x.img"], GhostFileEntry.self, .ghostFile),
        k("TCP_STREAM", 0x5146_5506, ["tcp-stream-%x.img"], TcpStreamEntry.self, .tcpQueues),
        k("EVENTFD_FILE", 0x4452_3722, ["eventfd.img"], EventfdFileEntry.self),
        k("EVENTPOLL_FILE", 0x4502_3858, ["eventpoll.img"], EventpollFileEntry.self),
        k("EVENTPOLL_TFD", 0x4443_3746, ["eventpoll-tfd.img"], EventpollTfdEntry.self),
        k("SIGNALFD", 0x5732_3820, ["signalfd.img"], SignalfdEntry.self),
        k("INOTIFY_FILE", 0x4842_4431, ["inotify.img"], InotifyFileEntry.self),
        k("INOTIFY_WD", 0x5456_2009, ["inotify-wd.img"], InotifyWdEntry.self),
        k("MNTS", 0x5556_3928, ["mountpoints-%u.img"], MntEntry.self),
        k("NETDEV", 0x5737_3951, ["netdev-%u.img"], NetDeviceEntry.self),
        k("NETNS", 0x5593_3752, ["netns-%u.img"], NetnsEntry.self),
        k("TTY_FILES", 0x5943_3025, ["tty.img"], TtyFileEntry.self),
        k("TTY_INFO", 0x5945_3036, ["tty-info.img"], TtyInfoEntry.self),
        k("TTY_DATA", 0x5941_3026, ["tty-data.img"], TtyDataEntry.self),
        k("FILE_LOCKS", 0x5432_3616, ["filelocks.img"], FileLockEntry.self),
        k("RLIMIT", 0x5711_3925, ["rlimit-%u.img"], RlimitEntry.self),
        k("FANOTIFY_FILE", 0x5509_6122, ["fanotify.img"], FanotifyFileEntry.self),
        k("FANOTIFY_MARK", 0x5650_6035, ["fanotify-mark.img"], FanotifyMarkEntry.self),
        k("SIGNAL", 0x5925_5647, ["signal-s-%u.img", "signal-p-%u.img"], SiginfoEntry.self),
        k("NETLINK_SK", 0x5800_5614, ["netlinksk.img"], NetlinkSkEntry.self),
        k("NS_FILES", 0x6139_4011, ["ns-files.img"], NsFileEntry.self),
        k("TUNFILE", 0x5714_3751, ["tunfile.img"], TunfileEntry.self),
        k("CGROUP", 0x5938_3330, ["cgroup.img"], CgroupEntry.self),
        k("TIMERFD", 0x5049_3712, ["timerfd.img"], TimerfdEntry.self),
        k("CPUINFO", 0x6140_4013, ["cpuinfo.img"], nil),
        k("USERNS", 0x5547_4906, ["userns-%u.img"], UsernsEntry.self),
        k("SECCOMP", 0x6441_3049, ["seccomp.img"], SeccompEntry.self),
        k("BINFMT_MISC", 0x6734_3323, ["binfmt-misc.img", "binfmt-misc-%u.img"], nil),
        k("AUTOFS", 0x4935_3943, ["autofs-%u.img"], nil),
        k("FILES", 0x5630_3138, ["files.img"], FileEntry.self),
        k("MEMFD_INODE", 0x4845_3499, ["memfd.img"], MemfdInodeEntry.self),
        k("TIMENS", 0x4311_4433, ["timens-%u.img"], TimensEntry.self),
        k("PIDNS", 0x6115_7326, ["pidns-%u.img"], PidnsEntry.self),
        k("BPFMAP_FILE", 0x5750_6142, ["bpfmap-file.img"], BpfmapFileEntry.self),
        k("BPFMAP_DATA", 0x6432_4033, ["bpfmap-data.img"], nil),
        k("APPARMOR", 0x5942_3047, ["apparmor.img"], nil),
        k("PIDFD", 0x5443_5556, ["pidfd.img"], PidfdEntry.self),
        k("STATS", 0x5709_3306, ["stats-dump.img", "stats-restore.img"], StatsEntry.self, header: .service),
        k("IRMAP_CACHE", 0x5700_4059, ["irmap-cache.img"], IrmapCacheEntry.self, header: .service),
        // Raw files: no magic, no entries (page contents, tool dumps, tarballs).
        k("PAGES", 0, ["pages-%u.img", "pages-shmem-%ld.img"], nil, header: .raw),
        k("IFADDR", 0, ["ifaddr-%u.img"], nil, header: .raw),
        k("ROUTE", 0, ["route-%u.img"], nil, header: .raw),
        k("ROUTE6", 0, ["route6-%u.img"], nil, header: .raw),
        k("RULE", 0, ["rule-%u.img"], nil, header: .raw),
        k("IPTABLES", 0, ["iptables-%u.img"], nil, header: .raw),
        k("IP6TABLES", 0, ["ip6tables-%u.img"], nil, header: .raw),
        k("NFTABLES", 0, ["nftables-%u.img"], nil, header: .raw),
        k("TMPFS_IMG", 0, ["tmpfs-%u.tar.gz.img"], nil, header: .raw),
        k("TMPFS_DEV", 0, ["tmpfs-dev-%u.tar.gz.img"], nil, header: .raw),
        k("NETNF_CT", 0, ["netns-ct-%u.img"], nil, header: .raw),
        k("NETNF_EXP", 0, ["netns-exp-%u.img"], nil, header: .raw),
    ]

    /// Looks a kind up by the type magic found after the leading word.
    public static func byMagic(_ magic: UInt32) -> ImageKind? {
        all.first { $0.magic == magic && $0.header != .raw }
    }

    /// Looks a kind up by crit's name ("CORE").
    public static func byName(_ name: String) -> ImageKind? {
        all.first { $0.name == name }
    }

    public static let inventory = byName("INVENTORY")!
    public static let pstree = byName("PSTREE")!
    public static let core = byName("CORE")!
    public static let mm = byName("MM")!
    public static let pagemap = byName("PAGEMAP")!
    public static let pages = byName("PAGES")!
    public static let fdinfo = byName("FDINFO")!
    public static let files = byName("FILES")!
    public static let ids = byName("IDS")!
    public static let fs = byName("FS")!
    public static let creds = byName("CREDS")!
    public static let stats = byName("STATS")!

    /// The file name for this kind and an id (pid, pages id, inode...).
    public func fileName(_ id: UInt64? = nil) -> String {
        let pattern = files[0]
        guard let id else { return pattern }
        var out = ""
        var rest = Substring(pattern)
        while let pct = rest.firstIndex(of: "%") {
            out += rest[..<pct]
            var spec = rest[rest.index(after: pct)...]
            while let c = spec.first, c == "l" { spec = spec.dropFirst() }
            guard let conv = spec.first else { break }
            out += conv == "x" ? String(id, radix: 16) : String(id)
            rest = spec.dropFirst()
        }
        return out + rest
    }
}
