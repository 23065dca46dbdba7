#!/usr/bin/env python3
"""Aggregate bench/testgen/results/runs/MODULE/TOOL/* into compare.json + a Markdown table.

    report.py RESULTS_DIR [--budget 60] [--modules "a b"] [--tools "pynguin qa-agent"]

Called by compare.sh (peer-comparison tooling, not qa-agent logic).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path


def load(p: Path):
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def gnu_time(p: Path) -> dict:
    out = {}
    try:
        text = p.read_text()
    except OSError:
        return out
    m = re.search(r"Elapsed \(wall clock\) time .*?: (?:(\d+):)?(\d+):([\d.]+)", text)
    if m:
        h, mi, s = m.groups()
        out["wall_s"] = round(int(h or 0) * 3600 + int(mi) * 60 + float(s), 1)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        out["max_rss_kb"] = int(m.group(1))
    for key, label in (("user_s", "User time"), ("sys_s", "System time")):
        m = re.search(label + r" \(seconds\): ([\d.]+)", text)
        if m:
            out[key] = float(m.group(1))
    return out


def collect(d: Path, module: str, tool: str) -> dict:
    r: dict = {"module": module, "tool": tool}
    rc = d / "rc"
    r["exit"] = int(rc.read_text().strip()) if rc.exists() else None
    r.update(gnu_time(d / "time.txt"))
    try:
        r["tree_peak_rss_kb"] = int((d / "tree_rss_kb").read_text().strip())
    except (OSError, ValueError):
        pass
    suites = sorted((d / "tests").glob("test_*.py")) if (d / "tests").is_dir() else []
    r["suite"] = str(suites[0]) if suites else None
    if suites:
        src = suites[0].read_text(errors="replace")
        r["imports_qabench"] = bool(re.search(r"^\s*(import|from)\s+qabench\b", src, re.M))
    r["oracle"] = load(d / "oracle.json")
    r["measure"] = load(d / "measure.json")
    r["mutmut"] = load(d / "mutmut.json")
    sr = load(d / "self_report.json")
    if sr is not None:
        r["self_report"] = sr  # kept for reference only; never used for the table
    return r


def fmt_pct(x):
    return "–" if x is None else f"{100 * x:.0f}%"


def row(r: dict) -> list[str]:
    o, me, mu = r.get("oracle") or {}, r.get("measure") or {}, r.get("mutmut") or {}
    tests = me.get("tests", o.get("tests"))
    no_or = o.get("no_oracle")
    mut = "–"
    if mu:
        mut = f'{fmt_pct(mu.get("score"))} ({mu.get("killed", 0)}/{mu.get("total", 0)})'
        if mu.get("error"):
            mut += " !"
    rss = r.get("max_rss_kb")
    tree = r.get("tree_peak_rss_kb")
    return [
        r["module"], r["tool"],
        "–" if r.get("suite") is None else str(tests),
        "–" if not o else str(o.get("xfail", 0)),
        "–" if no_or is None else f'{no_or}/{o.get("tests", 0)}',
        fmt_pct(me.get("pass_rate")) if me else "–",
        fmt_pct(me.get("line_cov")) if me else "–",
        fmt_pct(me.get("branch_cov")) if me else "–",
        mut,
        "–" if r.get("wall_s") is None else f'{r["wall_s"]:.0f}',
        "–" if rss is None else f"{rss / 1024:.0f}",
        "–" if tree is None else f"{tree / 1024:.0f}",
        "" if r.get("exit") in (0, None) else f'exit {r["exit"]}',
    ]


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--modules", default="")
    ap.add_argument("--tools", default="pynguin qa-agent")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    res = Path(a.results)
    runs = res / "runs"
    modules = a.modules.split() or sorted(p.name for p in runs.iterdir() if p.is_dir())
    tools = a.tools.split()
    rows = [collect(runs / m / t, m, t) for m in modules for t in tools if (runs / m / t).is_dir()]

    summary = {}
    for t in tools:
        rs = [r for r in rows if r["tool"] == t]
        ms = [r["measure"] or {} for r in rs]
        mus = [r["mutmut"] for r in rs if r.get("mutmut") and not r["mutmut"].get("error")]
        summary[t] = {
            "modules": len(rs),
            "suites_written": sum(1 for r in rs if r.get("suite")),
            "mean_line_cov": mean([m.get("line_cov", 0.0) for m in ms]),
            "mean_branch_cov": mean([m.get("branch_cov", 0.0) for m in ms]),
            "mean_pass_rate": mean([m.get("pass_rate") for m in ms]),
            "tests": sum(m.get("tests", 0) for m in ms),
            "no_oracle": sum((r.get("oracle") or {}).get("no_oracle", 0) for r in rs),
            "xfail": sum((r.get("oracle") or {}).get("xfail", 0) for r in rs),
            "mean_mutation_score": mean([m.get("score") for m in mus]),
            "mutmut_modules": len(mus),
            "mean_wall_s": mean([r.get("wall_s") for r in rs]),
            "max_rss_kb": max([r.get("max_rss_kb") or 0 for r in rs], default=0),
            "max_tree_peak_rss_kb": max([r.get("tree_peak_rss_kb") or 0 for r in rs], default=0),
        }
    doc = {"budget_s": a.budget, "reruns": a.runs, "tools": tools, "modules": modules, "summary": summary, "runs": rows}
    (res / "compare.json").write_text(json.dumps(doc, indent=2) + "\n")

    head = ["module", "tool", "tests", "xfail", "no oracle", f"pass (x{a.runs})", "line cov", "branch cov",
            "mutation score", "wall s", "max RSS MB", "tree RSS MB", "note"]
    print(f"## qa-agent generate vs Pynguin 0.48 (budget {a.budget} s per module)\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(row(r)) + " |")
    print()
    print("| tool | suites | tests | xfail | no oracle | mean pass | mean line | mean branch | mean mutation (n) | mean wall s | max RSS MB | max tree RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t, s in summary.items():
        mm = "–" if s["mean_mutation_score"] is None else f'{fmt_pct(s["mean_mutation_score"])} ({s["mutmut_modules"]})'
        print(f'| {t} | {s["suites_written"]}/{s["modules"]} | {s["tests"]} | {s["xfail"]} | {s["no_oracle"]} | '
              f'{fmt_pct(s["mean_pass_rate"])} | {fmt_pct(s["mean_line_cov"])} | {fmt_pct(s["mean_branch_cov"])} | '
              f'{mm} | {"–" if s["mean_wall_s"] is None else round(s["mean_wall_s"])} | '
              f'{s["max_rss_kb"] / 1024:.0f} | {s["max_tree_peak_rss_kb"] / 1024:.0f} |')
    print(f"\nJSON: {res / 'compare.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
