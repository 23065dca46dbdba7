#!/usr/bin/env python3
"""Mutation score of ONE pytest suite against ONE module, measured with mutmut 3.x.

Peer-comparison tooling only (run it with the peers venv's python, see
setup-peers.sh); it is not part of qa-agent.

    mutmut_score.py SUITE_FILE MODULE_FILE [--package qabench] [--timeout 1200]
                    [--max-children N] [--keep]

Builds a scratch project in a temp dir:

    pyproject.toml        [tool.mutmut] source_paths = ["qabench/"], tests in tests/
    qabench/__init__.py   (empty)
    qabench/<module>.py   (copy of MODULE_FILE)
    tests/<suite>.py      (copy of SUITE_FILE, renamed test_*.py if needed)

then:
 1. runs the suite once on the unmutated module (pytest, junit xml) and
    deselects every test that does not pass there (failed / errored), because
    mutmut refuses to run when the clean run fails. xfail-marked tests that
    xfail are kept (pytest exits 0 for them), as are skipped tests.
 2. runs `mutmut run` and reads mutants/qabench/<module>.py.meta
    (exit_code_by_key) and maps each exit code with mutmut's own
    status_by_exit_code table.

Prints one JSON object on stdout:
  killed      mutants whose tests failed ("killed") -- incl. timeouts and
              segfaults (a crash/hang that the suite provokes is a detection)
  timeout     of which timeouts (and segfaults), also counted in killed
  survived    tests ran and passed
  no_tests    no test reached the mutated function (counted as NOT killed)
  suspicious  anything else mutmut could not classify (NOT killed)
  not_checked mutants mutmut never ran (only after an error/timeout; NOT killed)
  skipped     mutants mutmut skipped (excluded from total)
  total       all mutants minus skipped
  score       killed / total   (0.0 when total == 0)
plus: deselected (tests removed because they fail on clean code), tests,
      seconds, and error (only when something went wrong).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path


def failing_tests(proj: Path, test_rel: str, timeout: int) -> tuple[list[str], int, str]:
    """Run the suite on clean code; return (nodeids to deselect, n tests, error)."""
    xml = proj / "clean.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "-p", "no:randomly", f"--junitxml={xml}", test_rel]
    try:
        p = subprocess.run(cmd, cwd=proj, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], 0, "clean pytest run timed out"
    if not xml.exists():
        return [], 0, f"clean pytest run produced no report (exit {p.returncode}): {p.stdout[-500:]}{p.stderr[-500:]}"
    bad, n = [], 0
    for case in ET.parse(xml).getroot().iter("testcase"):
        n += 1
        if case.find("failure") is not None or case.find("error") is not None:
            # classname "tests.test_x" + name "test_1" -> tests/test_x.py::test_1
            cls = case.get("classname", "")
            name = case.get("name", "")
            parts = cls.split(".")
            # find the module part (the one matching the file name)
            mod_stem = Path(test_rel).stem
            if mod_stem in parts:
                i = parts.index(mod_stem)
                inner = parts[i + 1:]
            else:
                inner = []
            nodeid = "::".join([test_rel] + inner + [name])
            bad.append(nodeid)
    if p.returncode not in (0, 1):
        # 2 = interrupted (e.g. collection error), 5 = no tests
        return bad, n, f"clean pytest run exited {p.returncode}: {p.stdout[-800:]}"
    return bad, n, ""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("suite")
    ap.add_argument("module")
    ap.add_argument("--package", default="qabench")
    ap.add_argument("--timeout", type=int, default=1200, help="wall-clock limit for mutmut run (s)")
    ap.add_argument("--max-children", type=int, default=None)
    ap.add_argument("--timeout-multiplier", type=float, default=5.0,
                    help="mutmut timeout_multiplier (mutmut default 15); a mutant's CPU limit is "
                         "(test time + 1 s) * this * 2, so 5 gives ~10 s for quick suites")
    ap.add_argument("--keep", action="store_true", help="keep the scratch dir (path printed on stderr)")
    a = ap.parse_args()

    suite, module = Path(a.suite).resolve(), Path(a.module).resolve()
    out: dict = {"killed": 0, "survived": 0, "timeout": 0, "no_tests": 0, "suspicious": 0,
                 "skipped": 0, "not_checked": 0, "total": 0, "score": 0.0, "deselected": 0, "tests": 0}
    t0 = time.monotonic()
    proj = Path(tempfile.mkdtemp(prefix="qa-mutmut-"))
    try:
        pkg = proj / a.package
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
        shutil.copy(module, pkg / module.name)
        (proj / "tests").mkdir()
        test_name = suite.name if suite.name.startswith("test_") else f"test_{suite.name}"
        shutil.copy(suite, proj / "tests" / test_name)
        test_rel = f"tests/{test_name}"

        bad, ntests, err = failing_tests(proj, test_rel, min(a.timeout, 600))
        out["tests"], out["deselected"] = ntests, len(bad)
        if err or ntests == 0 or len(bad) == ntests:
            out["error"] = err or ("no tests collected" if ntests == 0 else "every test fails on the clean module")
            return finish(out, t0, proj, a.keep)

        cli_args = ["-p", "no:cacheprovider", "-p", "no:randomly"]
        for nodeid in bad:
            cli_args += ["--deselect", nodeid]
        toml = (
            "[tool.mutmut]\n"
            f'source_paths = ["{a.package}/"]\n'
            f"pytest_add_cli_args_test_selection = {json.dumps([test_rel])}\n"
            f"pytest_add_cli_args = {json.dumps(cli_args)}\n"
            "use_git_change_detection = false\n"
            f"timeout_multiplier = {a.timeout_multiplier}\n"
        )
        (proj / "pyproject.toml").write_text(toml)

        cmd = [sys.executable, "-m", "mutmut", "run"]
        if a.max_children:
            cmd += ["--max-children", str(a.max_children)]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONPATH", None)
        try:
            p = subprocess.run(cmd, cwd=proj, capture_output=True, text=True, timeout=a.timeout, env=env)
            (proj / "mutmut-run.log").write_text(p.stdout + "\n--- stderr ---\n" + p.stderr)
            no_cover = "could not find any test case for any mutant" in p.stdout
            if p.returncode != 0 and not no_cover:
                out["error"] = f"mutmut run exited {p.returncode}: {(p.stdout + p.stderr)[-800:]}"
        except subprocess.TimeoutExpired:
            no_cover = False
            out["error"] = f"mutmut run exceeded {a.timeout}s; partial results"

        meta = proj / "mutants" / a.package / (module.name + ".meta")
        if not meta.exists():
            out.setdefault("error", "no mutmut meta file produced")
            return finish(out, t0, proj, a.keep)
        from mutmut.stats import status_by_exit_code  # same table `mutmut results` uses

        codes = json.loads(meta.read_text())["exit_code_by_key"]
        unchecked = 0
        for _name, code in codes.items():
            st = status_by_exit_code[code]
            if st == "killed" or st == "caught by type check":
                out["killed"] += 1
            elif st in ("timeout", "segfault"):
                out["killed"] += 1
                out["timeout"] += 1
            elif st == "survived":
                out["survived"] += 1
            elif st == "no tests":
                out["no_tests"] += 1
            elif st == "skipped":
                out["skipped"] += 1
            elif st == "not checked":
                if no_cover:  # mutmut stopped early: no test reaches any mutated function
                    out["no_tests"] += 1
                else:
                    unchecked += 1
            else:
                out["suspicious"] += 1
        out["not_checked"] = unchecked
        out["total"] = len(codes) - out["skipped"]
        out["score"] = round(out["killed"] / out["total"], 4) if out["total"] else 0.0
        return finish(out, t0, proj, a.keep)
    except Exception as e:  # report, never crash the comparison loop
        out["error"] = f"{type(e).__name__}: {e}"
        return finish(out, t0, proj, a.keep)


def finish(out: dict, t0: float, proj: Path, keep: bool) -> int:
    out["seconds"] = round(time.monotonic() - t0, 1)
    if keep:
        print(f"scratch dir kept: {proj}", file=sys.stderr)
    else:
        shutil.rmtree(proj, ignore_errors=True)
    print(json.dumps(out))
    return 0 if "error" not in out else 1


if __name__ == "__main__":
    sys.exit(main())
