#!/usr/bin/env python3
"""Per-language agreement table from classify_lizard.py outputs.

Usage: summarise_lizard.py OUT_DIR    (OUT_DIR holds <language>.json and <language>.jsonl,
                                       written by `classify_lizard.py ... --json L.json` with
                                       CLASSIFY_DUMP=L.jsonl)

For each language: functions compared (units), identical CCN on (file, start line) as is,
then with the units that lizard gets wrong by the grammar (class a) left out, then with
qa-agent's documented conventions (class b) left out too. Classes c (qa-agent bugs) and ?
(unexplained) always count as disagreements.
"""
import collections
import json
import os
import sys


def main():
    out = sys.argv[1]
    print(f"| language | functions | identical | excl. lizard defects (a) | excl. (a) and conventions (b) | a | b | c | ? |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for lang in ["go", "java", "rust", "javascript", "typescript"]:
        path = os.path.join(out, f"{lang}.json")
        if not os.path.exists(path):
            continue
        report = json.load(open(path))
        total = sum(p["stats"]["total"] for p in report["projects"].values())
        same = sum(p["stats"]["same"] for p in report["projects"].values())
        kinds = collections.Counter()
        with open(os.path.join(out, f"{lang}.jsonl")) as f:
            for line in f:
                kinds[json.loads(line)["kind"]] += 1
        a, b, c, q = kinds["a"], kinds["b"], kinds["c"], kinds["?"]
        pct = lambda n, d: f"{100.0 * n / d:.2f}%" if d else "n/a"
        print(f"| {lang} | {total:,} | {pct(same, total)} | {pct(same, total - a)} | "
              f"{pct(same, total - a - b)} | {a:,} | {b:,} | {c:,} | {q:,} |")


if __name__ == "__main__":
    main()
