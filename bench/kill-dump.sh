#!/bin/bash
# SIGKILL criu in the middle of a dump (issue 4, "must never happen"): the kernel detaches a PTRACE_SEIZE'd
# task when its tracer dies, so the task must run on; this checks it also runs on unchanged (signal masks,
# mappings, fds) and still works (its SIGUSR1 handler checks all its memory). Kills at several moments: a
# few fixed delays after criu starts (seize and state collection) and once the page copy is under way.
# The last trial kills criu once the images are complete and it starts freeing the task's memory before
# the kill (SeizedTask.discardMemory): then the task must be gone with it (PTRACE_O_EXITKILL) or, if criu
# died just before, still run unchanged; never run on with part of its memory gone.
#
#   bench/kill-dump.sh [--criu PATH] [--dir DIR] [--mib N]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
criu="$root/.build/release/criu"
[ -x "$criu" ] || criu="$root/.build/debug/criu"
dir=/tmp/criu-kill
mib=2048
while [ $# -gt 0 ]; do
    case "$1" in
    --criu) criu=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
rm -rf "$dir"; mkdir -p "$dir/bin"
gcc -O2 -o "$dir/bin/memhog" "$here/victims/memhog.c" || exit 1
fails=0

gone() {  # no such task, or only its zombie
    [ ! -e /proc/$1 ] || grep -q '^State:.*[ZX]' /proc/$1/status 2>/dev/null
}

state() {  # what must not change: masks, mappings, fds, tracer
    local p=$1
    grep -E '^(SigBlk|SigIgn|SigCgt|TracerPid|State):' "/proc/$p/status" | grep -v '^State'
    cut -d' ' -f1,2,6 "/proc/$p/maps"
    for f in /proc/$p/fd/*; do echo "fd ${f##*/} $(readlink "$f")"; done
}

# trial WHEN: WHEN is a delay in seconds, "fault:N" (criu kills itself at injection moment N), "pages"
# (kill once 64 MiB of pages are written) or "discard" (kill once criu frees the task's memory)
trial() {
    local when=$1 img="$dir/img" out="$dir/victim.out"
    rm -rf "$img"; mkdir -p "$img"; : >"$out"
    setsid "$dir/bin/memhog" "$mib" </dev/null >"$out" 2>&1 10>&- 251>&- &
    local pid=$!
    for _ in $(seq 600); do grep -q ready "$out" && break; sleep 0.1; done
    local before; before=$(state $pid)
    local fault=""
    [ "${when%%:*}" = fault ] && fault=${when#fault:}
    CRIU_FAULT=$fault "$criu" dump -t "$pid" -D "$img" -o dump.log -v4 10>&- 251>&- 2>/dev/null &
    local cpid=$!
    if [ -n "$fault" ]; then
        # criu kills itself at an exact moment of its injection (CRIU_FAULT 11-15, Sources/Engine/Faults.swift)
        wait $cpid 2>/dev/null
    elif [ "$when" = discard ]; then
        for _ in $(seq 4000); do
            grep -q "Freeing the memory of pid" "$img/dump.log" 2>/dev/null && break
            sleep 0.002
        done
    elif [ "$when" = pages ]; then
        for _ in $(seq 2000); do
            [ "$(stat -c %s "$img/pages-1.img" 2>/dev/null || echo 0)" -gt $((64 << 20)) ] && break
            sleep 0.005
        done
    else
        sleep "$when"
    fi
    kill -9 $cpid 2>/dev/null
    wait $cpid 2>/dev/null
    local phase; phase=$(grep -v '^$' "$img/dump.log" 2>/dev/null | tail -n 1 | cut -c1-80)
    sleep 0.2
    # A task that goes with criu (PTRACE_O_EXITKILL) may still be freeing its memory: give it time.
    if grep -q "Freeing the memory of pid" "$img/dump.log" 2>/dev/null; then
        for _ in $(seq 100); do
            gone $pid && break
            sleep 0.1
        done
    fi
    local verdict=ok why=""
    if gone $pid; then
        # Past the point where the dump is complete, the task goes with criu.
        if grep -q "Freeing the memory of pid" "$img/dump.log" 2>/dev/null; then
            why="task killed with criu, as after a complete dump"
        else
            verdict=FAIL; why="task died"
        fi
    else
        local after; after=$(state $pid)
        if [ "$before" != "$after" ]; then
            verdict=FAIL; why="changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ' | cut -c1-300)"
        fi
        : >"$out"
        kill -USR1 $pid
        for _ in $(seq 200); do grep -q '^ok\|BAD' "$out" && break; sleep 0.05; done
        grep -q '^ok' "$out" || { verdict=FAIL; why="$why; no answer to SIGUSR1 ($(cat "$out"))"; }
    fi
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    local leftover; leftover=$(ls "$img" | grep -v '\.log$' | tr '\n' ' ')
    echo "$verdict kill at $when (log: $phase) ${why:+-- $why}${leftover:+ [images left: $leftover]}"
    [ $verdict != FAIL ] || fails=$((fails + 1))
    rm -rf "$img"
}

for w in 0.002 0.005 0.008 0.01 0.012 0.015 0.02 0.03 0.05 0.08 fault:11 fault:12 fault:13 fault:14 fault:15 pages discard; do
    trial $w
done
echo "$fails failure(s)"
[ $fails = 0 ]
