#!/usr/bin/env python3
"""Per-function agreement of qa-agent's cyclomatic complexity with lizard's CCN.

Usage: lizard_agreement.py QA_AGENT_BINARY LANGUAGE DIR [DIR ...]
LANGUAGE: javascript | typescript | go | java | rust

Functions are matched on (file, start line); several functions may start on one line,
so each line's CCNs are compared as sorted lists. A function that only one tool lists is a
disagreement. lizard is run through its Python API file by file (the CLI skips files
whose content duplicates another's). TypeScript declaration files (`.d.ts`, no bodies)
and `.mts`/`.cts` (lizard has no reader for them) are left out.
"""
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

import lizard

EXTENSIONS = {
    "javascript": (".js", ".jsx", ".mjs", ".cjs"),
    "typescript": (".ts", ".tsx"),
    "go": (".go",),
    "java": (".java",),
    "rust": (".rs",),
}


def main():
    binary, language, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    exts = EXTENSIONS[language]
    nsamples = int(os.environ.get("SAMPLES", "8"))
    grand = Counter()
    for d in dirs:
        report = json.loads(subprocess.run(
            [binary, "analyze", d, "--format", "json", "--no-config", "--all-files", "--max-file-size", "100000000"],
            check=True, capture_output=True, text=True).stdout)
        c = Counter()
        samples = defaultdict(list)
        for f in report["files"]:
            path = f["path"]
            if not path.endswith(exts) or path.endswith(".d.ts"):
                continue
            try:
                listed = lizard.analyze_file(os.path.join(d, path)).function_list
            except Exception:  # lizard's reader crashes on some files
                c["files_lizard_crashed"] += 1
                continue
            c["files"] += 1
            mine = defaultdict(list)
            for fn in f["functions"]:
                mine[fn["start_line"]].append((fn["cyclomatic"], fn["qualified_name"]))
            theirs = defaultdict(list)
            for fn in listed:
                theirs[fn.start_line].append((fn.cyclomatic_complexity, fn.name))
            for line in sorted(set(mine) | set(theirs)):
                a = sorted(mine.get(line, []))
                b = sorted(theirs.get(line, []))
                n = max(len(a), len(b))
                c["total"] += n
                same = sum((Counter(x for x, _ in a) & Counter(x for x, _ in b)).values())
                c["same"] += same
                if same < n:
                    if len(a) > len(b) and not b:
                        kind = "only_qa"
                    elif len(b) > len(a) and not a:
                        kind = "only_lizard"
                    elif len(a) != len(b):
                        kind = "count_differs"
                    else:
                        kind = "ccn_differs"
                    c[kind] += n - same
                    samples[kind].append(f"{path}:{line} qa={a} lizard={b}")
        grand.update(c)
        pct = 100.0 * c["same"] / c["total"] if c["total"] else float("nan")
        print(f"{d}: files={c['files']} functions={c['total']} identical={pct:.2f}% "
              f"(only-qa={c['only_qa']} only-lizard={c['only_lizard']} "
              f"count-differs={c['count_differs']} ccn-differs={c['ccn_differs']}) "
              f"files lizard crashed on={c['files_lizard_crashed']}")
        for kind, v in samples.items():
            for s in v[:nsamples]:
                print(f"    {kind}: {s}")
    if len(dirs) > 1:
        print(f"TOTAL {language}: functions={grand['total']} "
              f"identical={100.0 * grand['same'] / max(1, grand['total']):.2f}%")


if __name__ == "__main__":
    main()
