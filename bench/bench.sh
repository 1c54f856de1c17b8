#!/bin/bash
# Dump/restore benchmark (issue 4): for each workload, dump wall time, frozen time (stats-dump), restore wall
# time, image size, dump throughput, and what dd reaches writing the same number of bytes into the images
# directory's page cache, all in the same run. Medians of --runs runs.
#
#   bench/bench.sh [--runs N] [--dir DIR] [--criu-bin PATH] [--only NAME] [--crit PATH]
#
# Our criu is .build/release/criu (build it with `swift build -c release --static-swift-stdlib`); --criu-bin
# adds a second, CRIU-compatible binary (e.g. /tmp/criu-up/criu/criu) measured the same way. Needs root, gcc,
# python3. Progress goes to stderr; at the end a markdown table of the medians (with the load average at the
# start and the end) goes to stdout.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
runs=3
dir=/tmp/criu-bench
other=""
only=""
ours="$root/.build/release/criu"
crit="$root/.build/release/crit"
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --criu-bin) other=$2; shift 2 ;;
    --ours) ours=$2; shift 2 ;;
    --crit) crit=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
[ -x "$ours" ] || { echo "no $ours: run swift build -c release" >&2; exit 1; }
[ -x "$crit" ] || crit="$root/.build/debug/crit"
mkdir -p "$dir" "$dir/bin"
gcc -O2 -o "$dir/bin/memhog" "$here/victims/memhog.c" || exit 1
hog="$dir/bin/memhog"

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

# This VM returns freed memory to the host; the first touch of it again costs page faults on the host
# side. Before each timed step: touch and free size+512 MiB, then write and delete a file of that size in
# the images directory, so the step finds memory and page cache warm.
prewarm() {
    local mib=$(( $1 + 512 ))
    "$hog" prewarm "$mib"
    dd if=/dev/zero of="$dir/prewarm" bs=4M count=$(( mib / 4 )) status=none
    rm -f "$dir/prewarm"
}

# Page-cache write bandwidth for SIZE MiB into the images dir, in MiB/s (no fsync: what a dump writes).
dd_bw() {
    local mib=$1 t0 t1
    prewarm "$mib"
    t0=$(now)
    dd if=/dev/zero of="$dir/ddtest" bs=4M count=$(( (mib + 3) / 4 )) status=none
    t1=$(now)
    rm -f "$dir/ddtest"
    echo $(( mib * 1000 / ( ($(ms $t0 $t1)) > 0 ? $(ms $t0 $t1) : 1 ) ))
}

frozen_ms() {
    "$crit" decode -i "$1/stats-dump" 2>/dev/null | python3 -c '
import json,sys
d=json.load(sys.stdin)["entries"][0]["dump"]
print(int(d.get("frozen_time",0))//1000)' 2>/dev/null || echo "?"
}

# One run: start the victim, dump, restore, check its memory, kill it. Prints
# "dump_ms frozen_ms restore_ms image_bytes dd_mibps ok".
one_run() {
    local criu=$1 mib=$2 pct=$3 img="$dir/img" pid t0 t1 t2 t3 dms rms fz bytes bw ok rpid
    rm -rf "$img"; mkdir -p "$img"
    setsid "$hog" "$mib" "$pct" </dev/null >"$dir/victim.out" 2>&1 10>&- 251>&- &
    pid=$!
    for _ in $(seq 600); do grep -q ready "$dir/victim.out" && break; sleep 0.1; done
    prewarm "$mib"
    t0=$(now)
    "$criu" dump -t "$pid" -D "$img" -o dump.log -v2 10>&- 251>&- || { echo "dump failed, see $img/dump.log" >&2; kill -9 $pid; wait $pid 2>/dev/null; return 1; }
    t1=$(now)
    wait $pid 2>/dev/null
    fz=$(frozen_ms "$img")
    bytes=$(cat "$img"/pages-*.img | wc -c)
    prewarm "$mib"
    t2=$(now)
    "$criu" restore -D "$img" -d --pidfile "$img/restore.pid" -o restore.log -v2 </dev/null >>"$dir/victim.out" 2>&1 10>&- 251>&- \
        || { echo "restore failed, see $img/restore.log" >&2; return 1; }
    t3=$(now)
    rpid=$(cat "$img/restore.pid")
    : >"$dir/victim.out"
    kill -USR1 "$rpid"
    ok=BAD
    for _ in $(seq 600); do grep -q '^ok\|BAD' "$dir/victim.out" && break; sleep 0.1; done
    grep -q '^ok' "$dir/victim.out" && ok=ok
    kill -9 "$rpid"
    while [ -e /proc/$rpid ]; do sleep 0.05; done
    rm -rf "$img"
    bw=$(dd_bw $(( bytes >> 20 )))
    echo "$(ms $t0 $t1) $fz $(ms $t2 $t3) $bytes $bw $ok"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

# "tiny" (1 MiB) shows the fixed cost of a dump: start-up, seize, /proc reads, injection, kill and wait.
workloads=("tiny 1 100" "256M-dirty 256 100" "1G-dirty 1024 100" "4G-dirty 4096 100" "1G-10pct 1024 10")
bins=("$ours")
[ -n "$other" ] && bins+=("$other")

load0=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
md=()
printf "%-10s %-22s %8s %8s %8s %9s %9s %9s %6s %s\n" workload criu dump_ms frozen_ms rest_ms image_MiB dump_MiB/s dd_MiB/s ratio check >&2
for w in "${workloads[@]}"; do
    set -- $w
    name=$1 mib=$2 pct=$3
    [ -n "$only" ] && [ "$only" != "$name" ] && continue
    # Runs alternate between the binaries, back to back, so that load from elsewhere hits both alike.
    declare -A rows=()
    for r in $(seq "$runs"); do
        for bi in "${!bins[@]}"; do
            row=$(one_run "${bins[$bi]}" "$mib" "$pct") || row=FAIL
            rows[$bi]+="$row"$'\n'
            echo "  run $r $(basename "${bins[$bi]}"): $row" >&2
        done
    done
    for bi in "${!bins[@]}"; do
        b=${bins[$bi]}
        ok=$(printf "%s" "${rows[$bi]}" | awk '$6!="ok"{bad=1} END{print bad?"FAILED":"ok"}')
        good=$(printf "%s" "${rows[$bi]}" | grep -v FAIL)
        [ -z "$good" ] && { printf "%-10s %-22s all runs failed\n" "$name" "$(basename "$b")" >&2; md+=("| $name | $b | all runs failed |"); continue; }
        d=$(echo "$good" | awk '{print $1}' | median)
        f=$(echo "$good" | awk '{print $2}' | median)
        rs=$(echo "$good" | awk '{print $3}' | median)
        by=$(echo "$good" | awk '{print $4}' | median)
        bw=$(echo "$good" | awk '{print $5}' | median)
        tp=$(( (by >> 20) * 1000 / (d > 0 ? d : 1) ))
        ratio=$(( bw > 0 ? tp * 100 / bw : 0 ))
        printf "%-10s %-22s %8s %8s %8s %9s %9s %9s %5s%% %s\n" "$name" "$b" "$d" "$f" "$rs" $((by >> 20)) "$tp" "$bw" \
            "$ratio" "$ok" >&2
        md+=("| $name | $b | $d | $f | $rs | $((by >> 20)) | $tp | $bw | $ratio% | $ok |")
    done
    unset rows
done

echo
echo "Started $started, $runs runs per binary and workload, alternated back to back; medians."
echo "Load average (1, 5, 15 min): $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo
echo "| workload | criu | dump ms | frozen ms | restore ms | image MiB | dump MiB/s | dd MiB/s | ratio | check |"
echo "|----------|------|--------:|----------:|-----------:|----------:|-----------:|---------:|------:|-------|"
printf "%s\n" "${md[@]}"
