#!/usr/bin/env python3
"""Helpers for bench/tree-bench.sh, all about one tree started by bench/tree.c.

  treecheck.py pids ROOT          every pid and tid of the tree, one a line (to wait until all are gone)
  treecheck.py check ROOT P T     "CPU ok": CPU is the time its threads ran so far (ms, from
                                  /proc/.../schedstat: after a restore, what it spent inside them); "ok" if
                                  the tree has P processes and T threads in all, none stopped or traced,
                                  else BAD:... saying what differs (no spaces).
"""
import os
import sys


def tree(root):
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except FileNotFoundError:
            pass
    return out


def tids(pid):
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return []


def main():
    cmd, root = sys.argv[1], int(sys.argv[2])
    procs = tree(root)
    if cmd == "pids":
        for p in procs:
            for t in tids(p):
                print(t)
        return 0
    want_p, want_t = int(sys.argv[3]), int(sys.argv[4])
    nthreads, cpu_ns, bad = 0, 0, []
    for p in procs:
        for t in tids(p):
            nthreads += 1
            try:
                with open(f"/proc/{p}/task/{t}/schedstat") as f:
                    cpu_ns += int(f.read().split()[0])
                with open(f"/proc/{p}/task/{t}/status") as f:
                    st = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
                state, tracer = st["State"].split()[0], int(st["TracerPid"])
                if state in ("T", "t", "Z", "X") or tracer != 0:
                    bad.append(f"{t}:{state}:tracer={tracer}")
            except FileNotFoundError:
                bad.append(f"{t}:gone")
    ok = len(procs) == want_p and nthreads == want_t and not bad
    verdict = "ok" if ok else ",".join([f"BAD:procs={len(procs)}/{want_p}", f"threads={nthreads}/{want_t}"] + bad[:5])
    print(f"{cpu_ns // 1000000} {verdict}")
    return 0


sys.exit(main())
