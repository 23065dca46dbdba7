#!/usr/bin/env python3
"""CPU time and peak memory of qa-agent against lizard, radon, complexipy and
rust-code-analysis-cli on the same tree, side by side.

Usage: compare_speed.py [--reps N] [--language python|javascript|...] QA_AGENT TREE

Each tool runs REPS times (interleaved, so machine load hits all alike); the table shows
the median CPU seconds (user + system, of the process and its children: the machine is
shared, so wall-clock time is noisy and CPU time is what we compare), the median wall
time and the peak RSS. Ratios are the peer's CPU time over qa-agent's. `qa-agent
--parse-only` discovers, reads and parses the same files without analysing them: the
difference to the full run is what metrics, rules and test mapping cost.

qa-agent and rust-code-analysis-cli run with one worker thread by default (`--jobs 1`,
`-j 1`), like lizard and radon: CPU time then measures work, not thread coordination.
`--jobs N` changes that for both.

Peers come from the virtualenv given by --peers (default: .peers at the repository
root; `WITH_RCA=1 bash scripts/install_peers.sh` creates it).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

EXT = {
    "python": "python",
    "javascript": "javascript",
    "typescript": "typescript",
    "go": "go",
    "java": "java",
    "rust": "rust",
}


def run(cmd, cwd):
    start = time.monotonic()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=null, stderr=subprocess.PIPE)
        _, _, rusage = os.wait4(proc.pid, 0)
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
    wall = time.monotonic() - start
    return rusage.ru_utime + rusage.ru_stime, wall, rusage.ru_maxrss / 1024.0, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("qa_agent")
    ap.add_argument("tree")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--language", default="python", choices=sorted(EXT))
    ap.add_argument("--jobs", type=int, default=1, help="worker threads for qa-agent and RCA")
    ap.add_argument("--peers", default=os.path.join(os.path.dirname(__file__), "..", "..", ".peers"))
    args = ap.parse_args()
    tree = os.path.abspath(args.tree)
    qa = os.path.abspath(args.qa_agent)
    peers = os.path.abspath(args.peers)
    bin_ = lambda name: os.path.join(peers, "bin", name)
    lang = args.language
    tools = {
        # --all-files: the same files the peers read (no vendored/generated skipping).
        "qa-agent (full analysis)": [qa, "analyze", tree, "--format", "json", "--no-config",
                                     "--all-files", "--max-file-size", "100000000", "--quiet",
                                     "--jobs", str(args.jobs)],
        "qa-agent --parse-only": [qa, "analyze", tree, "--no-config", "--all-files",
                                  "--max-file-size", "100000000", "--parse-only",
                                  "--jobs", str(args.jobs)],
        "lizard": [bin_("lizard"), "-l", lang, tree],
    }
    if lang == "python":
        tools["radon cc"] = [bin_("radon"), "cc", "-j", tree]
        tools["complexipy"] = [bin_("complexipy"), tree, "--output-format", "json", "--output", os.devnull, "-q"]
    rca = shutil.which("rust-code-analysis-cli") or bin_("rust-code-analysis-cli")
    if os.path.exists(rca):
        # -F lists functions; -p the tree; -l restricts the language where supported.
        tools["rust-code-analysis-cli -F"] = [rca, "-F", "-j", str(args.jobs), "-p", tree]
    results = {name: [] for name in tools}
    with tempfile.TemporaryDirectory() as cwd:
        for rep in range(args.reps):
            for name, cmd in tools.items():
                cpu, wall, rss, err = run(cmd, cwd)
                results[name].append((cpu, wall, rss))
                if rep == 0 and err.strip() and "qa-agent" in name:
                    print(f"{name} stderr: {err.strip()[:300]}", file=sys.stderr)
    base = statistics.median(c for c, _, _ in results["qa-agent (full analysis)"])
    print(f"tree: {tree} ({lang}), {args.reps} repetitions, medians")
    print(f"{'tool':<30} {'CPU s':>8} {'wall s':>8} {'peak RSS MiB':>13} {'CPU vs qa-agent':>16}")
    for name, rows in results.items():
        cpu = statistics.median(r[0] for r in rows)
        wall = statistics.median(r[1] for r in rows)
        rss = max(r[2] for r in rows)
        ratio = cpu / base if base else float("nan")
        print(f"{name:<30} {cpu:>8.2f} {wall:>8.2f} {rss:>13.1f} {ratio:>15.2f}x")
    parse = statistics.median(c for c, _, _ in results["qa-agent --parse-only"])
    if parse:
        print(f"analysis overhead over a bare parse: {100.0 * (base - parse) / parse:+.1f}%")


if __name__ == "__main__":
    main()
