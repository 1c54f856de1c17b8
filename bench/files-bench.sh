#!/bin/sh
# Dump and restore time of one process holding N fds of mixed kinds.
# Usage: bench/files-bench.sh [CRIU] [N...]   (default: .build/debug/criu, 1000 15000)
# Needs root and gcc. Prints one line per N: fds, dump ms, restore ms, per-fd us.
set -e
here=$(cd "$(dirname "$0")" && pwd)
criu=${1:-$here/../.build/debug/criu}
shift 2>/dev/null || true
sizes=${*:-1000 15000}
work=$(mktemp -d /tmp/files-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/fdmix" "$here/fdmix.c"
ms() { echo $(( $(date +%s%N) / 1000000 )); }
printf "%8s %10s %12s %14s %16s\n" fds dump_ms restore_ms dump_us_per_fd restore_us_per_fd
for n in $sizes; do
	pid=$("$work/fdmix" "$n" "$work/data")
	have=$(ls /proc/$pid/fd | wc -l)
	rm -rf "$work/img" && mkdir "$work/img"
	t0=$(ms)
	"$criu" dump -t "$pid" -D "$work/img" -o dump.log >/dev/null 2>&1 || { echo "dump of $n fds failed:"; tail -3 "$work/img/dump.log"; kill -9 "$pid"; exit 1; }
	t1=$(ms)
	i=0; while [ -e /proc/$pid ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	t1b=$(ms)
	"$criu" restore -D "$work/img" -d -o restore.log >/dev/null 2>&1 || { echo "restore of $n fds failed:"; tail -3 "$work/img/restore.log"; exit 1; }
	t2=$(ms)
	after=$(ls /proc/$pid/fd | wc -l)
	kill -9 "$pid"
	[ "$have" = "$after" ] || { echo "fd count $have before, $after after restore"; exit 1; }
	awk -v n="$have" -v d=$((t1 - t0)) -v r=$((t2 - t1b)) \
		'BEGIN { printf "%8d %10d %12d %14.1f %16.1f\n", n, d, r, d * 1000 / n, r * 1000 / n }'
done
