#!/usr/bin/env python3
"""Draw a reproducible, stratified sample of qa-agent findings on the pinned corpus,
for judging each rule family's precision by hand.

Usage: sample_findings.py [--binary QA_AGENT] [--corpus DIR] [--out TSV]
                          [--totals TSV] [--seed N] [--jobs N]

Runs `QA_AGENT analyze <project> --format json --no-config` on every project listed in
<corpus>/MANIFEST.tsv (the trees scripts/corpus/fetch.sh unpacks), keeps the unsuppressed
findings, and draws up to 20 per family (security, performance, maintainability) across
all projects with a fixed seed:

* the family's findings are put in a canonical order (project, path, line, column, rule,
  fingerprint) and shuffled with `random.Random(seed)`, so the draw depends only on the
  set of findings, not on report order;
* the shuffled list is walked once, accepting a finding while its rule has fewer than 5
  and its project fewer than 8 accepted findings in that family;
* if that leaves the family short of 20 because the caps ran out of room (few rules or
  projects have hits), the walk is repeated with only the per-rule cap, then with no cap,
  so the rest fills the gap.

Writes the sample as TSV (family, rule_id, project, path, line, message) and prints the
per-family and per-rule hit totals over the whole corpus (also written as TSV with
--totals). Python 3.11, standard library only.
"""
import argparse
import csv
import json
import os
import random
import subprocess
import sys
from collections import Counter, defaultdict

SEED = 20261128
PER_FAMILY = 20
RULE_CAP = 5
PROJECT_CAP = 8
FAMILIES = ("security", "performance", "maintainability")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def projects(corpus):
    with open(os.path.join(corpus, "MANIFEST.tsv"), newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [(r["project"], r["language"], r["version"], os.path.join(corpus, r["path"])) for r in rows]


def analyse(binary, directory, jobs):
    cmd = [binary, "analyze", directory, "--format", "json", "--no-config", "--quiet"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    # A non-zero exit only means findings were reported with --fail-on; we never pass it.
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout)


def findings(report, project):
    for f in report.get("files", []):
        for x in f.get("findings") or []:
            if x.get("suppressions"):
                continue
            yield {
                "family": x["family"],
                "rule_id": x["rule_id"],
                "project": project,
                "path": x["path"],
                "line": x["span"]["start_line"],
                "col": x["span"].get("start_col", 0),
                "message": x["message"],
                "fingerprint": x.get("fingerprint", ""),
            }


def canonical(x):
    return (x["project"], x["path"], x["line"], x["col"], x["rule_id"], x["fingerprint"], x["message"])


def draw(pool, rng):
    pool = sorted(pool, key=canonical)
    rng.shuffle(pool)
    taken, chosen = set(), []
    by_rule, by_project = Counter(), Counter()
    for rule_cap, project_cap in ((RULE_CAP, PROJECT_CAP), (RULE_CAP, None), (None, None)):
        for i, x in enumerate(pool):
            if len(chosen) == PER_FAMILY:
                break
            if i in taken:
                continue
            if rule_cap is not None and by_rule[x["rule_id"]] >= rule_cap:
                continue
            if project_cap is not None and by_project[x["project"]] >= project_cap:
                continue
            taken.add(i)
            chosen.append(x)
            by_rule[x["rule_id"]] += 1
            by_project[x["project"]] += 1
    return chosen


def clean(text):
    return " ".join(str(text).split())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default="/work/notes/qa-agent-rules")
    ap.add_argument("--corpus", default=os.path.join(REPO, ".corpus"))
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "precision", "sample.tsv"))
    ap.add_argument("--totals", default=os.path.join(REPO, "docs", "precision", "totals.tsv"))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--jobs", type=int, default=0, help="worker threads for qa-agent (default: its own)")
    args = ap.parse_args()

    everything = []
    for name, language, version, directory in projects(args.corpus):
        if not os.path.isdir(directory):
            sys.exit(f"missing corpus project {directory}; run scripts/corpus/fetch.sh")
        got = list(findings(analyse(args.binary, directory, args.jobs), name))
        print(f"{language:<11} {name:<26} {version:<10} {len(got):>6} findings", file=sys.stderr)
        everything.extend(got)

    by_family = defaultdict(list)
    for x in everything:
        by_family[x["family"]].append(x)

    rng = random.Random(args.seed)
    sample = []
    for family in FAMILIES:
        sample.extend(draw(by_family.get(family, []), rng))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    # Plain tab-separated lines: `clean` folds tabs and newlines into spaces, so no field
    # needs quoting and messages keep their quotes and backslashes as the tool wrote them.
    with open(args.out, "w", newline="") as fh:
        fh.write("family\trule_id\tproject\tpath\tline\tmessage\n")
        for x in sample:
            row = [x["family"], x["rule_id"], x["project"], x["path"], x["line"], x["message"]]
            fh.write("\t".join(clean(v) for v in row) + "\n")

    rule_totals = Counter((x["family"], x["rule_id"]) for x in everything)
    rule_projects = defaultdict(set)
    for x in everything:
        rule_projects[x["rule_id"]].add(x["project"])
    family_totals = Counter(x["family"] for x in everything)

    print(f"total unsuppressed findings: {len(everything)}")
    print("\nper family:")
    for family in FAMILIES:
        drawn = sum(1 for x in sample if x["family"] == family)
        print(f"  {family:<16} {family_totals.get(family, 0):>7}   sampled {drawn}")
    print("\nper rule (hits, projects with hits):")
    for (family, rule), n in sorted(rule_totals.items(), key=lambda kv: (FAMILIES.index(kv[0][0]), kv[0][1])):
        print(f"  {rule:<8} {family:<16} {n:>7}   {len(rule_projects[rule]):>2}")

    if args.totals:
        with open(args.totals, "w", newline="") as fh:
            w = csv.writer(fh, delimiter="\t", lineterminator="\n")
            w.writerow(["family", "rule_id", "hits", "projects"])
            for family in FAMILIES:
                w.writerow([family, "*", family_totals.get(family, 0), ""])
            for (family, rule), n in sorted(rule_totals.items(), key=lambda kv: (FAMILIES.index(kv[0][0]), kv[0][1])):
                w.writerow([family, rule, n, len(rule_projects[rule])])
    print(f"\nwrote {args.out}" + (f" and {args.totals}" if args.totals else ""))


if __name__ == "__main__":
    main()
