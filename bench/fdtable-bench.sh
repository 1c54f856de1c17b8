#!/bin/sh
# Dump and restore time of a parent with N fds and K children that share its fd table (CLONE_FILES)
# or have copies of it (fork): a shared table is dumped and placed once.
# Usage: bench/fdtable-bench.sh [CRIU] [N] [K]   (default: .build/debug/criu, 1000, 50)
# Needs root and gcc. Prints one line per mode: dump ms, restore ms, fdinfo images, children on the
# parent's table after restore.
set -e
here=$(cd "$(dirname "$0")" && pwd)
criu=${1:-$here/../.build/debug/criu}
n=${2:-1000}
k=${3:-50}
work=$(mktemp -d /tmp/fdtable-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/fdtable" "$here/fdtable.c"
ms() { echo $(( $(date +%s%N) / 1000000 )); }
printf "%-8s %6s %6s %10s %12s %8s %14s\n" mode fds kids dump_ms restore_ms fdinfos on_one_table
for mode in shared forked; do
	rm -f "$work/pid"
	setsid "$work/fdtable" "$n" "$k" "$mode" </dev/null >"$work/pid" 2>/dev/null &
	i=0; while [ ! -s "$work/pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	pid=$(cat "$work/pid")
	kids=$(cat /proc/$pid/task/$pid/children)
	rm -rf "$work/img" && mkdir "$work/img"
	t0=$(ms)
	"$criu" dump -t "$pid" -D "$work/img" -o dump.log >/dev/null 2>&1 || { echo "dump failed:"; tail -3 "$work/img/dump.log"; kill -9 $kids "$pid"; exit 1; }
	t1=$(ms)
	i=0; for p in $pid $kids; do while [ -e /proc/$p ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; done
	t1b=$(ms)
	"$criu" restore -D "$work/img" -d -o restore.log >/dev/null 2>&1 || { echo "restore failed:"; tail -3 "$work/img/restore.log"; exit 1; }
	t2=$(ms)
	kids=$(cat /proc/$pid/task/$pid/children)
	same=0
	for c in $kids; do
		[ "$(stat -L -c %i /proc/$pid/fd/3)" = "$(stat -L -c %i /proc/$c/fd/3)" ] || continue
		# One table: an fd the parent has is there in the child (a copy would lack a later one).
		[ "$(readlink /proc/$pid/fd/$((n + 2)))" = "$(readlink /proc/$c/fd/$((n + 2)))" ] && python3 -c "import ctypes,sys; sys.exit(ctypes.CDLL(None).syscall(312, $pid, $c, 2, 0, 0) != 0)" && same=$((same + 1))
	done
	kill -9 $kids "$pid"
	printf "%-8s %6d %6d %10d %12d %8d %14d\n" $mode "$n" "$k" $((t1 - t0)) $((t2 - t1b)) "$(ls "$work/img"/fdinfo-* | wc -l)" $same
	sleep 0.5
done
