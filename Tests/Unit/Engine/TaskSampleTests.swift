import Glibc
import Testing
@testable import Engine

private let sampleStatus = """
Name:\tmy\\\\prog\\nx y
Umask:\t0027
State:\tt (tracing stop)
Tgid:\t21919
Ngid:\t0
Pid:\t21920
PPid:\t21917
TracerPid:\t4242
Uid:\t1000\t1001\t1002\t1003
Gid:\t2000\t2001\t2002\t2003
FDSize:\t256
Groups:\t4 24 27 
NStgid:\t21919\t7
NSpid:\t21920\t8
NSpgid:\t21917\t1
NSsid:\t4663\t1
Threads:\t3
THP_enabled:\t0
SigQ:\t2/96364
SigPnd:\t0000000000000100
ShdPnd:\t8000000000000001
SigBlk:\t0000000000010002
SigIgn:\t0000000000001000
SigCgt:\tfffffffe7ffbfeff
CapInh:\t0000000000000000
CapPrm:\t000001fffeffffff
CapEff:\t000001fffeffffff
CapBnd:\t000001ffffffffff
CapAmb:\t0000000000000400
NoNewPrivs:\t1
Seccomp:\t2
Seccomp_filters:\t3
Speculation_Store_Bypass:\tthread vulnerable

"""

/// 52 fields; comm is "a) (b) S 9 c" to trip any parser that stops at the first ')'.
private let sampleStat = "12345 (a) (b) S 9 c) t 1 12345 12345 34817 12345 4194560 99 1 2 3 10 20 -5 -6 20 -4 3 0 57863 3133440 363 18446744073709551615 94916801269760 94916801289641 140726377476544 11 12 0 65536 4096 2 0 0 0 17 1 7 1 0 0 0 94916801305648 94916801307264 94916808753152 140726377482958 140726377482978 140726377482978 140726377484267 256\n"

private let sampleLimits = """
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max file size             unlimited            unlimited            bytes     
Max data size             unlimited            unlimited            bytes     
Max stack size            8388608              unlimited            bytes     
Max core file size        0                    unlimited            bytes     
Max resident set          unlimited            unlimited            bytes     
Max processes             96364                96364                processes 
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
Max address space         unlimited            unlimited            bytes     
Max file locks            unlimited            unlimited            locks     
Max pending signals       96364                96364                signals   
Max msgqueue size         819200               819200               bytes     
Max nice priority         0                    0                    
Max realtime priority     0                    0                    
Max realtime timeout      unlimited            unlimited            us        

"""

@Suite struct TaskSampleTests {
    @Test func status() throws {
        let s = try Status.parse(sampleStatus)
        #expect(s.name == "my\\prog\nx y")
        #expect(s.umask == 0o027 && s.state == "t")
        #expect(s.tgid == 21919 && s.pid == 21920 && s.ppid == 21917 && s.tracerPid == 4242)
        #expect(s.uid == [1000, 1001, 1002, 1003] && s.gid == [2000, 2001, 2002, 2003])
        #expect(s.groups == [4, 24, 27])
        #expect(s.nsTgid == [21919, 7] && s.nsPid == [21920, 8] && s.nsPgid == [21917, 1] && s.nsSid == [4663, 1])
        #expect(s.threads == 3 && s.sigQueued == 2 && s.sigQueueLimit == 96364)
        #expect(s.sigPending == 0x100 && s.sigPendingShared == 0x8000000000000001)
        #expect(s.sigBlocked == 0x10002 && s.sigIgnored == 0x1000 && s.sigCaught == 0xfffffffe7ffbfeff)
        #expect(s.capInheritable == 0 && s.capPermitted == 0x1fffeffffff && s.capEffective == 0x1fffeffffff)
        #expect(s.capBounding == 0x1ffffffffff && s.capAmbient == 0x400)
        #expect(s.noNewPrivs && s.seccompMode == 2 && s.seccompFilters == 3)
        #expect(s.raw["Speculation_Store_Bypass"] == "thread vulnerable")
        #expect(s.thpEnabled == false)
    }

    @Test func statusWithEmptyGroupsAndMissingLine() throws {
        let s = try Status.parse(sampleStatus.replacingFirst("Groups:\t4 24 27 ", "Groups:\t "))
        #expect(s.groups == [])
        #expect(throws: ProcError.self) { try Status.parse(sampleStatus.replacingFirst("SigBlk:", "SigBlX:")) }
        #expect(throws: ProcError.self) { try Status.parse(sampleStatus.replacingFirst("Uid:\t1000\t", "Uid:\t")) }
    }

    @Test func statWithParenthesesInComm() throws {
        let s = try Stat.parse(sampleStat)
        #expect(s.pid == 12345 && s.comm == "a) (b) S 9 c" && s.state == "t")
        #expect(s.ppid == 1 && s.pgrp == 12345 && s.session == 12345 && s.ttyNr == 34817 && s.tpgid == 12345)
        #expect(s.flags == 4194560 && s.minflt == 99 && s.cminflt == 1 && s.majflt == 2 && s.cmajflt == 3)
        #expect(s.utime == 10 && s.stime == 20 && s.cutime == -5 && s.cstime == -6)
        #expect(s.priority == 20 && s.nice == -4 && s.numThreads == 3 && s.startTime == 57863)
        #expect(s.vsize == 3133440 && s.rss == 363 && s.rsslim == UInt64.max)
        #expect(s.startCode == 94916801269760 && s.endCode == 94916801289641 && s.startStack == 140726377476544)
        #expect(s.kstkesp == 11 && s.kstkeip == 12 && s.blocked == 65536 && s.sigignore == 4096 && s.sigcatch == 2)
        #expect(s.exitSignal == 17 && s.processor == 1 && s.rtPriority == 7 && s.policy == 1)
        #expect(s.startData == 94916801305648 && s.endData == 94916801307264 && s.startBrk == 94916808753152)
        #expect(s.argStart == 140726377482958 && s.argEnd == 140726377482978)
        #expect(s.envStart == 140726377482978 && s.envEnd == 140726377484267 && s.exitCode == 256)
    }

    @Test func parentFieldAloneMatchesTheFullParse() throws {
        #expect(try Stat.parentField(Array(sampleStat.utf8), source: "t") == Stat.parse(sampleStat).ppid)
        #expect(try Stat.parentField(Array("7 (x) S 4242 7 7 0 -1\n".utf8), source: "t") == 4242)
        #expect(try Stat.parentField(Array("7 (x) S 4242\n".utf8), source: "t") == 4242)
        #expect(try Stat.parentField(Array("7 (x) S 4242".utf8), source: "t") == 4242)
        #expect(throws: ProcError.self) { try Stat.parentField(Array("7 (x) S 9999999999 1\n".utf8), source: "t") }
        #expect(try Stat.parent(of: getpid()) == getppid())
        #expect(throws: ProcError.self) { try Stat.parentField(Array("7 (x) S\n".utf8), source: "t") }
        #expect(throws: ProcError.self) { try Stat.parentField(Array("7 x S 1 2\n".utf8), source: "t") }
        #expect(throws: ProcError.self) { try Stat.parentField(Array("7 (x) S 4x 2\n".utf8), source: "t") }
    }

    @Test func statTooShortOrGarbled() {
        #expect(throws: ProcError.self) { try Stat.parse("1 (x) S 1 2 3\n") }
        #expect(throws: ProcError.self) { try Stat.parse("1 x S 1 2 3\n") }
        #expect(throws: ProcError.self) { try Stat.parse(sampleStat.replacingFirst(" 57863 ", " 5x863 ")) }
    }

    @Test func limitsInRlimitOrderWithUnlimited() throws {
        let l = try Limits.parse(sampleLimits)
        #expect(l.count == 16)
        #expect(l[0] == RLimit(soft: RLimit.infinity, hard: RLimit.infinity))  // RLIMIT_CPU
        #expect(l[3] == RLimit(soft: 8388608, hard: RLimit.infinity))          // RLIMIT_STACK
        #expect(l[4] == RLimit(soft: 0, hard: RLimit.infinity))                // RLIMIT_CORE
        #expect(l[7] == RLimit(soft: 1024, hard: 524288))                      // RLIMIT_NOFILE
        #expect(l[13] == RLimit(soft: 0, hard: 0))                             // RLIMIT_NICE, no unit
        #expect(l[15].hard == RLimit.infinity)                                 // RLIMIT_RTTIME
    }

    @Test func posixTimers() throws {
        let t = try Timers.parse("""
        ID: 1
        signal: 14/00000000deadbeef
        notify: signal/pid.123
        ClockID: 1
        ID: 0
        signal: 10/0000000000000000
        notify: none/tid.124
        ClockID: 0

        """)
        #expect(t == [
            PosixTimerInfo(id: 1, signal: 14, sigval: 0xdeadbeef, notify: .signal, toThread: false, target: 123, clockId: 1),
            PosixTimerInfo(id: 0, signal: 10, sigval: 0, notify: .none, toThread: true, target: 124, clockId: 0),
        ])
        #expect(try Timers.parse("") == [])
        #expect(throws: ProcError.self) { try Timers.parse("ID: 1\nsignal: 14/0\n") }
        #expect(throws: ProcError.self) { try Timers.parse("ID: 1\nsignal: 14/0\nnotify: signal/who.1\nClockID: 0\n") }
    }

    @Test func singleNumbers() throws {
        #expect(try TaskValues.parseNumber("00400000\n", radix: 16, source: "personality") as UInt32 == 0x400000)
        #expect(try TaskValues.parseNumber("-1000\n", radix: 10, source: "oom_score_adj") as Int32 == -1000)
        #expect(throws: ProcError.self) { try TaskValues.parseNumber("", radix: 10, source: "x") as Int32 }
    }

    @Test func limitsMissingOrUnknownRows() {
        #expect(throws: ProcError.self) { try Limits.parse(sampleLimits.replacingFirst("Max file locks", "Max file lockz")) }
        let noRow = sampleLimits.split(separator: "\n").filter { !$0.hasPrefix("Max nice") }.joined(separator: "\n")
        #expect(throws: ProcError.self) { try Limits.parse(noRow) }
        #expect(throws: ProcError.self) { try Limits.parse(sampleLimits.replacingFirst("1024 ", "lots ")) }
    }
}

extension String {
    func replacingFirst(_ a: String, _ b: String) -> String {
        guard let r = range(of: a) else { return self }
        return String(self[..<r.lowerBound]) + b + String(self[r.upperBound...])
    }

    /// Substring search without Foundation.
    func range(of needle: String) -> Range<String.Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}
