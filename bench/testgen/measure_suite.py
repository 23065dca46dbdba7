#!/usr/bin/env python3
"""Measure one generated pytest suite against one module (peer-comparison tooling).

    measure_suite.py SUITE_FILE MODULE_FILE --import-root DIR [--runs 5]

Run with the peers venv's python (needs pytest and coverage). The suite is
copied into a fresh scratch dir (with an empty pytest.ini, so no config of the
surrounding repo applies) and run with PYTHONPATH=DIR:

 * coverage: one `coverage run --branch --include=MODULE_FILE -m pytest` run;
   line = covered statements / statements, branch = covered / all branches
   (coverage.py's own counts, module-level lines included).
 * pass rate: RUNS further pytest runs, run i with PYTHONHASHSEED=i. A test
   item is stable-passing when it passes in every run; an xfail-marked test
   that xfails counts as passing (that is its expected outcome), XPASS(strict)
   and skips do not. pass_rate = stable-passing / collected items.

Prints one JSON object on stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path


def outcomes(xml: Path) -> dict[str, str]:
    res: dict[str, str] = {}
    if not xml.exists():
        return res
    for case in ET.parse(xml).getroot().iter("testcase"):
        tid = f'{case.get("classname", "")}::{case.get("name", "")}'
        if case.find("failure") is not None or case.find("error") is not None:
            o = "failed"
        elif (sk := case.find("skipped")) is not None:
            o = "xfailed" if sk.get("type") == "pytest.xfail" else "skipped"
        else:
            o = "passed"
        # a teardown error produces a second <testcase> entry; the worst wins
        if res.get(tid) != "failed":
            res[tid] = o
    return res


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("suite")
    ap.add_argument("module")
    ap.add_argument("--import-root", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=300, help="per pytest run (s)")
    a = ap.parse_args()
    suite, module = Path(a.suite).resolve(), Path(a.module).resolve()
    out: dict = {"suite": str(suite)}
    work = Path(tempfile.mkdtemp(prefix="qa-measure-"))
    try:
        name = suite.name if suite.name.startswith("test_") else f"test_{suite.name}"
        shutil.copy(suite, work / name)
        (work / "pytest.ini").write_text("[pytest]\n")
        env = dict(os.environ, PYTHONPATH=str(Path(a.import_root).resolve()), PYTHONDONTWRITEBYTECODE="1")
        base = ["-q", "-p", "no:cacheprovider", "-p", "no:randomly"]

        # coverage
        cov_data = work / ".coverage"
        cmd = [sys.executable, "-m", "coverage", "run", "--branch", f"--data-file={cov_data}",
               f"--include={module}", "-m", "pytest", *base, f"--junitxml={work}/cov.xml", name]
        try:
            p = subprocess.run(cmd, cwd=work, env=dict(env, PYTHONHASHSEED="0"), capture_output=True,
                               text=True, timeout=a.timeout)
            out["coverage_pytest_exit"] = p.returncode
            jcmd = [sys.executable, "-m", "coverage", "json", f"--data-file={cov_data}", "-o", str(work / "cov.json")]
            q = subprocess.run(jcmd, cwd=work, env=env, capture_output=True, text=True, timeout=120)
            if q.returncode == 0:
                t = json.loads((work / "cov.json").read_text())["totals"]
                out["statements"] = t["num_statements"]
                out["covered_lines"] = t["covered_lines"]
                out["branches"] = t["num_branches"]
                out["covered_branches"] = t["covered_branches"]
                out["line_cov"] = round(t["covered_lines"] / t["num_statements"], 4) if t["num_statements"] else 0.0
                out["branch_cov"] = round(t["covered_branches"] / t["num_branches"], 4) if t["num_branches"] else 0.0
            else:
                out["line_cov"] = out["branch_cov"] = 0.0
                out["coverage_error"] = (q.stdout + q.stderr)[-400:]
            if p.returncode not in (0, 1):
                out["pytest_tail"] = (p.stdout + p.stderr)[-600:]
        except subprocess.TimeoutExpired:
            out["line_cov"] = out["branch_cov"] = 0.0
            out["coverage_error"] = "timeout"

        # pass rate over reruns
        runs = []
        for i in range(1, a.runs + 1):
            xml = work / f"run{i}.xml"
            try:
                subprocess.run([sys.executable, "-m", "pytest", *base, f"--junitxml={xml}", name], cwd=work,
                               env=dict(env, PYTHONHASHSEED=str(i)), capture_output=True, text=True,
                               timeout=a.timeout)
            except subprocess.TimeoutExpired:
                pass
            runs.append(outcomes(xml))
        ids = set().union(*runs) if runs else set()
        ok = {"passed", "xfailed"}
        stable = [t for t in ids if all(r.get(t) in ok for r in runs)]
        first = runs[0] if runs else {}
        out["tests"] = len(ids)
        out["passed_all_runs"] = len(stable)
        out["pass_rate"] = round(len(stable) / len(ids), 4) if ids else 0.0
        out["first_run"] = {k: sum(1 for v in first.values() if v == k)
                            for k in ("passed", "failed", "xfailed", "skipped")}
        out["flaky"] = sum(1 for t in ids
                           if len({r.get(t) for r in runs}) > 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
