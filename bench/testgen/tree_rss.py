#!/usr/bin/env python3
"""Peak summed RSS (kB) of a process tree, sampled every 100 ms (peer-comparison tooling).

    tree_rss.py PID OUTFILE      # runs until PID exits, then writes the peak to OUTFILE

GNU time's "Maximum resident set size" is the peak of the single largest process
among the ones it waited for; tools that fork workers (Pynguin's master/worker,
pytest subprocesses) use more than that at once. This records the sum.
"""
import os
import sys
import time


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    root, outfile = int(sys.argv[1]), sys.argv[2]
    peak = 0
    while os.path.exists(f"/proc/{root}"):
        kids = children_map()
        stack, total = [root], 0
        while stack:
            p = stack.pop()
            total += rss_kb(p)
            stack.extend(kids.get(p, []))
        peak = max(peak, total)
        time.sleep(0.1)
    with open(outfile, "w") as f:
        f.write(f"{peak}\n")


if __name__ == "__main__":
    main()
