#!/bin/bash
# Fault injection on a tree of 3 processes x 3 threads: every dump fault (11-15: criu kills itself while its
# code is in a task) must leave the whole tree running untraced, every restore fault must leave no task
# behind. Usage: bench/faults.sh [criu binary]
set -u
here=$(cd "$(dirname "$0")" && pwd)
criu=${1:-$here/../.build/debug/criu}
work=$(mktemp -d /tmp/criu-faults.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -pthread -o "$work/tree" "$here/tree.c" || exit 1
bad=0
tasks() { for p in $(cat /proc/$1/task/*/children 2>/dev/null) $1; do echo $p; done | sort -u; }
check_untouched() { # root, expected count
  local n=0 p
  for p in $(tasks $1); do
    for t in /proc/$p/task/*; do
      n=$((n+1))
      grep -q "^TracerPid:	0" $t/status || { echo "  task $t is still traced"; bad=1; }
      grep -q "^State:	S" $t/status || { echo "  task $t is not sleeping: $(grep State $t/status)"; bad=1; }
    done
  done
  [ $n -eq $2 ] || { echo "  $n threads left, want $2"; bad=1; }
}
for f in 1 2 3 4 5 6 7 11 12 13 14 15; do  # 11-15: criu SIGKILLs itself inside the task
  pid=$("$work/tree" procs 3 2 251>&-)
  d="$work/d$f"; mkdir -p $d
  CRIU_FAULT=$f "$criu" dump -t $pid -D $d -o dump.log 251>&- 2>/dev/null && { echo "fault $f: dump succeeded"; bad=1; }
  echo "dump fault $f: $(grep Error $d/dump.log | tail -1 | cut -c1-110)"
  check_untouched $pid 10
  [ -z "$(ls $d | grep -v dump.log)" ] || { echo "  images left: $(ls $d | tr '\n' ' ')"; bad=1; }
  kill -9 -- -$pid
done
pid=$("$work/tree" procs 3 2 251>&-)
mkdir -p $work/img; "$criu" dump -t $pid -D $work/img -o dump.log 251>&- || exit 1
for i in $(seq 100); do [ -e /proc/$pid ] || break; sleep 0.05; done
pids=$(cat /dev/null; for f in $work/img/core-*.img; do basename $f .img | cut -d- -f2; done)
for f in 101 102 103 104 105 106 107; do
  CRIU_FAULT=$f "$criu" restore -d -D $work/img -o restore-$f.log 251>&- 2>/dev/null && { echo "fault $f: restore succeeded"; bad=1; kill -9 -- -$pid; }
  echo "restore fault $f: $(grep Error $work/img/restore-$f.log | tail -1 | cut -c1-110)"
  sleep 0.2
  for p in $pids; do [ -e /proc/$p ] && { echo "  pid $p left behind: $(grep State /proc/$p/status)"; bad=1; }; done
done
"$criu" restore -d -D $work/img -o restore.log 251>&- || { echo "final restore failed"; bad=1; }
check_untouched $pid 10
kill -9 -- -$pid
[ $bad = 0 ] && echo "all faults clean" || { echo "FAILED"; exit 1; }
