#!/bin/bash
# Trees and threads at scale (issue 6): dump and restore of N-process trees, N-thread processes and
# N processes x T threads, at 100 and 1000, for our criu and optionally a second CRIU-compatible binary,
# runs alternated back to back. Prints medians of wall time and CPU time (user+sys of criu from wait4,
# far steadier than wall time on a shared machine), and per-task (per-thread) cost.
#
#   bench/tree-bench.sh [--runs N] [--criu-bin PATH] [--ours PATH] [--dir DIR (images, default on tmpfs)] [--only SHAPE]...
#
# Shapes: procs-100 procs-1000 threads-100 threads-1000 mixed-5x20 mixed-50x20, and groups-1000 (every
# child leads its own process group, as a shell's jobs do). Our criu is
# .build/release/criu (`swift build -c release`). Every restored tree is checked (process and thread
# count, none stopped or traced) and killed by its pid and process group; only the bench's own victims
# are signalled. Needs root, gcc, python3.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
runs=3
# tmpfs by default: on this machine's journal-less ext4, creating files right after the previous run deleted
# thousands of them walks the recently freed inodes one by one (find_inode_bit -> recently_deleted took
# half of a 300-task dump's CPU in perf); that measures the file system, not criu.
dir=/dev/shm/criu-tree-bench
other=""
ours="$root/.build/release/criu"
only=()
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --criu-bin) other=$2; shift 2 ;;
    --ours) ours=$2; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
[ -x "$ours" ] || { echo "no $ours: run swift build -c release" >&2; exit 1; }
[ -z "$other" ] || [ -x "$other" ] || { echo "no $other" >&2; exit 1; }
mkdir -p "$dir/bin"
gcc -O2 -pthread -o "$dir/bin/tree" "$here/tree.c" || exit 1
gcc -O2 -o "$dir/bin/timed" "$here/timed.c" || exit 1
gcc -O2 -o "$dir/bin/memhog" "$here/victims/memhog.c" || exit 1
check="python3 $here/treecheck.py"

# This VM hands freed memory back to the host and the next touch of it is slow (docs/benchmarks.md):
# touch and free some memory and page cache before each timed step.
prewarm() {
    "$dir/bin/memhog" prewarm 512
    dd if=/dev/zero of="$dir/prewarm" bs=4M count=32 status=none
    rm -f "$dir/prewarm"
}

load() { cut -d' ' -f1 /proc/loadavg; }

# Waits until none of the pids in file $1 exists (the dumped tree's pids must be free for the restore).
wait_gone() {
    local p
    for _ in $(seq 400); do
        p=$(while read -r t; do [ -e "/proc/$t" ] && echo "$t"; done <"$1" | head -1)
        [ -z "$p" ] && return 0
        sleep 0.05
    done
    echo "pid $p still exists" >&2
    return 1
}

# Kills a restored (or failed) tree: its process group (tree.c's root leads its own session and group),
# then whatever of its pids is left, by pid.
kill_tree() {
    local r=$1 list=$2
    $check pids "$r" >"$list.kill" 2>/dev/null
    kill -9 -- "-$r" 2>/dev/null
    while read -r t; do kill -9 "$t" 2>/dev/null; done <"$list.kill"
    wait_gone "$list.kill"
}

us() { awk '{print int($1/1000), int(($2+$3)/1000)}' "$1"; }

# One run of one binary on one shape. Prints
# "dump_ms dump_cpu_ms restore_ms restore_cpu_ms tree_cpu_ms images_KiB load check".
one_run() {
    local criu=$1 kind=$2 n=$3 per=$4 procs=$5 threads=$6 img="$dir/img" pid rpid d r c l
    rm -rf "$img"; mkdir -p "$img"
    if [ "$kind" = threads ]; then pid=$("$dir/bin/tree" threads "$n" 10>&- 251>&-)
    else pid=$("$dir/bin/tree" "$kind" "$n" "$per" 10>&- 251>&-); fi
    [ -n "$pid" ] || { echo "victim did not start" >&2; return 1; }
    $check pids "$pid" >"$dir/pids"
    c=$($check check "$pid" "$procs" "$threads")
    [ "${c#* }" = ok ] || { echo "victim not ready: $c" >&2; kill_tree "$pid" "$dir/pids"; return 1; }
    l=$(load)
    prewarm
    "$dir/bin/timed" "$dir/dump.t" "$criu" dump -t "$pid" -D "$img" -o dump.log 10>&- 251>&- \
        || { echo "dump failed: $(grep -i error "$img/dump.log" | head -2)" >&2; kill_tree "$pid" "$dir/pids"; return 1; }
    d=$(us "$dir/dump.t")
    wait_gone "$dir/pids" || return 1
    prewarm
    "$dir/bin/timed" "$dir/restore.t" "$criu" restore -d -D "$img" -o restore.log --pidfile "$img/restore.pid" \
        </dev/null >/dev/null 2>&1 10>&- 251>&- \
        || { echo "restore failed: $(grep -i error "$img/restore.log" | head -2)" >&2; return 1; }
    r=$(us "$dir/restore.t")
    rpid=$(cat "$img/restore.pid")
    c=$($check check "$rpid" "$procs" "$threads")
    l="$l-$(load)"
    kill_tree "$rpid" "$dir/pids"
    local kib=$(du -sk "$img" | cut -f1)
    rm -rf "$img"
    set -- $c
    echo "$d $r $1 $kib $l $2"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

# name kind n per procs threads units (units: what the per-item cost divides by)
shapes=(
    "procs-100 procs 100 0 101 101 100"
    "procs-1000 procs 1000 0 1001 1001 1000"
    "threads-100 threads 100 0 1 101 100"
    "threads-1000 threads 1000 0 1 1001 1000"
    "mixed-5x20 procs 5 19 6 101 100"
    "mixed-50x20 procs 50 19 51 1001 1000"
    "groups-1000 groups 1000 0 1001 1001 1000"
)
bins=("$ours")
[ -n "$other" ] && bins+=("$other")
names=("ours")
[ -n "$other" ] && names+=("other")

echo "# $(date -u '+%F %T') UTC, $(nproc) cpus, runs=$runs, ours=$ours${other:+, other=$other}"
printf "%-13s %-6s %8s %8s %8s %8s %8s %10s %10s %8s %11s %s\n" shape binary dump_ms dump_cpu rest_ms rest_cpu tree_cpu \
    dump_us/1 rest_us/1 img_KiB load check
for s in "${shapes[@]}"; do
    set -- $s
    name=$1 kind=$2 n=$3 per=$4 procs=$5 threads=$6 units=$7
    if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$name"; then continue; fi
    declare -A rows=()
    for r in $(seq "$runs"); do
        # Alternate which binary goes first, so that a load change hits both alike.
        order=("${!bins[@]}")
        [ $((r % 2)) -eq 0 ] && [ ${#bins[@]} -eq 2 ] && order=(1 0)
        for bi in "${order[@]}"; do
            row=$(one_run "${bins[$bi]}" "$kind" "$n" "$per" "$procs" "$threads") || row=FAIL
            rows[$bi]+="$row"$'\n'
            echo "  $name run $r ${names[$bi]}: $row" >&2
        done
    done
    for bi in "${!bins[@]}"; do
        good=$(printf "%s" "${rows[$bi]}" | grep -v FAIL)
        nfail=$(printf "%s" "${rows[$bi]}" | grep -c FAIL)
        [ -z "$good" ] && { printf "%-13s %-6s all runs failed\n" "$name" "${names[$bi]}"; continue; }
        col() { echo "$good" | awk -v c="$1" '{print $c}' | median; }
        d=$(col 1) dc=$(col 2) rs=$(col 3) rc=$(col 4) tc=$(col 5) kib=$(col 6)
        loads=$(echo "$good" | awk '{split($7,a,"-"); for(i in a) print a[i]}' | sort -n | sed -n '1p;$p' | paste -sd-)
        ok=$(echo "$good" | awk '$8!="ok"{bad=1} END{print bad?"BAD":"ok"}')
        [ "$nfail" -gt 0 ] && ok="$ok,${nfail}failed"
        printf "%-13s %-6s %8s %8s %8s %8s %8s %10s %10s %8s %11s %s\n" "$name" "${names[$bi]}" "$d" "$dc" "$rs" "$rc" "$tc" \
            $((d * 1000 / units)) $((rs * 1000 / units)) "$kib" "$loads" "$ok"
    done
    unset rows
done
