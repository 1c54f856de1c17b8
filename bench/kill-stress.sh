#!/bin/bash
# SIGKILL `criu dump` N times after a random 0-15 ms, the span in which criu seizes a small task and runs
# its code inside it (docs/compel.md, "A criu that dies"). Each time the task must be left untraced, with
# the same SigBlk/SigIgn/SigCgt, mappings and fds, and still answer SIGUSR1 with its memory intact; or,
# if the kill came after the dump finished, be gone. Prints where in the dump log the kills landed.
#
#   bench/kill-stress.sh [--criu PATH] [--runs N] [--dir DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
criu="$here/../.build/release/criu"
[ -x "$criu" ] || criu="$here/../.build/debug/criu"
runs=150
dir=/tmp/criu-kill-stress
while [ $# -gt 0 ]; do
    case "$1" in
    --criu) criu=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
rm -rf "$dir"; mkdir -p "$dir"
gcc -O2 -o "$dir/memhog" "$here/victims/memhog.c" || exit 1

state() {  # what must not change: masks, mappings, fds, tracer
    grep -E '^(SigBlk|SigIgn|SigCgt|TracerPid):' "/proc/$1/status"
    cut -d' ' -f1,2,6 "/proc/$1/maps"
    for f in /proc/$1/fd/*; do echo "fd ${f##*/} $(readlink "$f")"; done
}

bad=0
: >"$dir/phases"
for i in $(seq "$runs"); do
    img="$dir/img"; out="$dir/out"
    rm -rf "$img"; mkdir -p "$img"; : >"$out"
    setsid "$dir/memhog" 16 </dev/null >"$out" 2>&1 10>&- 251>&- &
    pid=$!
    for _ in $(seq 200); do grep -q ready "$out" && break; sleep 0.01; done
    before=$(state $pid)
    "$criu" dump -t $pid -D "$img" -o dump.log -v4 </dev/null 10>&- 251>&- 2>/dev/null &
    cpid=$!
    sleep "0.$(printf %03d $((RANDOM % 16)))"
    kill -9 $cpid 2>/dev/null
    wait $cpid 2>/dev/null
    sleep 0.05
    last=$(grep -v '^$' "$img/dump.log" 2>/dev/null | tail -n 1 | cut -c13-60)
    echo "${last:-(nothing logged yet)}" | sed 's/[0-9a-fx]\{6,\}/N/g; s/[0-9][0-9]*/N/g' >>"$dir/phases"
    if [ -e /proc/$pid ] && ! grep -q '^State:.*[ZX]' /proc/$pid/status; then
        after=$(state $pid)
        : >"$out"
        kill -USR1 $pid
        for _ in $(seq 200); do grep -q '^ok\|BAD' "$out" && break; sleep 0.01; done
        if [ "$before" != "$after" ] || ! grep -q '^ok' "$out"; then
            bad=$((bad + 1))
            echo "changed after a kill at: $last"
            diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -4
        fi
    elif [ ! -e "$img/inventory.img" ]; then  # gone before the images were complete
        bad=$((bad + 1))
        echo "died after a kill at: $last"
    fi
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
done
echo "where the kills landed (last line of dump.log):"
sort "$dir/phases" | uniq -c | sort -rn
echo "$bad of $runs kills left the task changed or dead"
rm -rf "$dir"
[ $bad = 0 ]
