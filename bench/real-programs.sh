#!/bin/bash
# Dump and restore real programs (issue 4): sleep, a python3 counter, a perl one-liner, a Swift program with
# a 512 MiB heap, a C program doing AVX2/FMA math in registers. Each is dumped once and restored twice from
# the same images (the first restore is killed before the second); after each restore the program must carry
# on where it stopped. Prints one PASS/FAIL line per program and check.
#
#   bench/real-programs.sh [--criu PATH] [--dir DIR] [--only NAME]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
criu="$root/.build/release/criu"
[ -x "$criu" ] || criu="$root/.build/debug/criu"
dir=/tmp/criu-real
only=""
while [ $# -gt 0 ]; do
    case "$1" in
    --criu) criu=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
rm -rf "$dir"; mkdir -p "$dir/bin"
gcc -O2 -mavx2 -mfma -o "$dir/bin/simd" "$here/victims/simd.c" || exit 1
swiftc -O -o "$dir/bin/heap" "$here/victims/heap.swift" || exit 1
python=$(python3 -c 'import sys; print(sys.executable)')
fails=0
pass() { echo "PASS $1: $2"; }
fail() { echo "FAIL $1: $2"; fails=$((fails + 1)); }

# last number in a file (the counter programs print one per line, possibly with a prefix word)
lastnum() { tail -n 1 "$1" | grep -o '[0-9]\+' | head -1; }
waitfor() { for _ in $(seq 300); do eval "$1" && return 0; sleep 0.1; done; return 1; }
gone() { while [ -e "/proc/$1" ]; do sleep 0.05; done; }

# /proc/PID/maps with adjacent anonymous mappings of the same protection merged, as zdtm compares them: the
# kernel may keep two such VMAs apart (different anon_vma) that a restore creates as one.
maps() {
    awk '{split($1, r, "-"); key = $2 " " $5 " " $6
          if (n && r[1] == end && key == lastkey && $5 == 0) { end = r[2]; next }
          if (n) print start "-" end " " lastkey
          n = 1; start = r[1]; end = r[2]; lastkey = key}
         END {if (n) print start "-" end " " lastkey}' "/proc/$1/maps"
}

# run NAME CHECK CMD...: CHECK is "counter FILE" (numbers in FILE go on by one after each restore),
# "rounds FILE" (lines "round N ok" go on from N+1 and say ok) or "alive".
run() {
    local name=$1 kind=$2 file=$3; shift 3
    [ -n "$only" ] && [ "$only" != "$name" ] && return
    local w="$dir/$name" img="$dir/$name/img"
    mkdir -p "$img"
    (cd "$w" && exec setsid "$@" </dev/null >>"$w/out" 2>>"$w/err" 10>&- 251>&-) &
    local pid=$!
    [ "$kind" = alive ] || waitfor "[ -s $file ] && [ \$(wc -l <$file) -ge 3 ]" || { fail "$name" "did not start: $(cat "$w/err")"; kill -9 $pid; return; }
    sleep 0.5
    local maps_before; maps_before=$(maps $pid)
    if ! "$criu" dump -t "$pid" -D "$img" -o dump.log -v4 10>&- 251>&-; then
        fail "$name" "dump failed: $(tail -n 1 "$img/dump.log")"; kill -9 $pid; wait $pid 2>/dev/null; return
    fi
    wait $pid 2>/dev/null
    # A checkpoint holds no file contents, and restore refuses a file whose size changed since the dump (as
    # CRIU does): keep the files the program writes as they were, and put them back before each restore.
    mkdir -p "$w/at-dump"
    find "$w" -maxdepth 1 -type f -exec cp -p {} "$w/at-dump/" \;
    local atdump; [ "$kind" = alive ] || atdump=$(lastnum "$file")
    local lines_at_dump; [ "$kind" = alive ] || lines_at_dump=$(wc -l <"$file")
    for k in 1 2; do
        for f in "$w"/at-dump/*; do cat "$f" >"$w/${f##*/}"; done
        local from; [ "$kind" = alive ] || from=$(wc -l <"$file")
        if ! "$criu" restore -D "$img" -d --pidfile "$img/r$k.pid" -o "restore$k.log" -v4 10>&- 251>&-; then
            fail "$name" "restore $k failed: $(tail -n 1 "$img/restore$k.log")"; return
        fi
        local rpid; rpid=$(cat "$img/r$k.pid")
        sleep 1.5
        if [ ! -e "/proc/$rpid" ] || grep -q '^State:.*Z' "/proc/$rpid/status"; then
            fail "$name" "restore $k: pid $rpid died ($(tail -n 2 "$w/err" | tr '\n' ' '))"; return
        fi
        local maps_after; maps_after=$(maps $rpid)
        [ "$maps_before" = "$maps_after" ] || fail "$name" "restore $k: /proc/PID/maps differ: $(diff <(echo "$maps_before") <(echo "$maps_after") | head -4 | tr '\n' ' ')"
        case "$kind" in
        alive)
            grep -q '^State:.*S' "/proc/$rpid/status" && pass "$name" "restore $k: pid $rpid sleeping, cmdline $(tr '\0' ' ' </proc/$rpid/cmdline)" \
                || fail "$name" "restore $k: state $(grep State /proc/$rpid/status)" ;;
        counter|rounds)
            # the lines written since this restore started must continue from the dump's counter by one
            local new; new=$(tail -n +"$((from + 1))" "$file" | grep -o '^[a-z ]*[0-9]\+' | grep -o '[0-9]\+')
            local first; first=$(echo "$new" | head -1)
            local bad; bad=$(echo "$new" | awk -v s="$((atdump + 1))" 'NR==1 && $1!=s {print "first " $1 " expected " s; exit} NR>1 && $1!=p+1 {print "gap " p " -> " $1; exit} {p=$1}')
            if [ "$kind" = rounds ] && tail -n +"$((from + 1))" "$file" | grep -q BAD; then bad="$bad; a round says BAD"; fi
            if [ -z "$new" ]; then fail "$name" "restore $k: no output after restore"
            elif [ -n "$bad" ]; then fail "$name" "restore $k: $bad"
            else pass "$name" "restore $k: continued $atdump -> $first .. $(echo "$new" | tail -1)"; fi ;;
        esac
        kill -9 "$rpid"; gone "$rpid"
    done
}

run sleep alive - sleep 1000
run python counter "$dir/python/count.txt" "$python" -c '
import time
f = open("count.txt", "a", buffering=1)
i = 0
while True:
    f.write(f"{i}\n"); i += 1; time.sleep(0.05)'
run perl counter "$dir/perl/out" perl -e '$|=1; for ($i = 0;; $i++) { print "$i\n"; select(undef, undef, undef, 0.05) }'
run swift-heap rounds "$dir/swift-heap/out" "$dir/bin/heap"
run simd rounds "$dir/simd/out" "$dir/bin/simd"
echo "$fails failure(s)"
[ "$fails" = 0 ]
