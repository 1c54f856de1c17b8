#!/bin/bash
# Times criu dump and restore of N-process trees and N-thread processes; prints per-task/per-thread cost.
# Usage: bench/run.sh [criu binary]; cases via SPECS="procs:N threads:N procs:N:T" (T threads per process;
# mixed rows count every task and thread).
set -u
here=$(cd "$(dirname "$0")" && pwd)
criu=${1:-$here/../.build/debug/criu}
work=$(mktemp -d /tmp/criu-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -pthread -o "$work/tree" "$here/tree.c" || exit 1
ms() { date +%s%3N; }
printf "%-8s %6s %10s %10s %12s %12s\n" kind n dump_ms restore_ms dump_us/each restore_us/each
for spec in ${SPECS:-procs:100 procs:1000 threads:100 threads:1000 procs:50:20}; do
    IFS=: read kind n per <<<"$spec"
    pid=$("$work/tree" $kind $n $per 251>&-)
    [ -n "$per" ] && n=$((n * (per + 1))) && kind="mixed"
    dir="$work/$kind-$n"; mkdir -p "$dir"
    t0=$(ms); "$criu" dump -t "$pid" -D "$dir" -o dump.log 251>&- || { echo "dump $kind $n failed: $(tail -1 $dir/dump.log)"; kill -9 -- -$pid 2>/dev/null; continue; }
    t1=$(ms)
    for i in $(seq 200); do [ -e /proc/$pid ] || break; sleep 0.05; done
    sleep 0.2
    t2=$(ms); "$criu" restore -d -D "$dir" -o restore.log --pidfile "$dir/pid" 251>&- || { echo "restore $kind $n failed: $(tail -1 $dir/restore.log)"; continue; }
    t3=$(ms)
    kill -9 -- -"$pid" 2>/dev/null; kill -9 "$pid" 2>/dev/null
    for i in $(seq 200); do [ -e /proc/$pid ] || break; sleep 0.05; done
    printf "%-8s %6d %10d %10d %12d %12d\n" $kind $n $((t1-t0)) $((t3-t2)) $(((t1-t0)*1000/n)) $(((t3-t2)*1000/n))
done
