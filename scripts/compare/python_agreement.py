#!/usr/bin/env python3
"""Per-function agreement of qa-agent with radon (cyclomatic) and complexipy (cognitive)
on Python trees.

Usage: python_agreement.py QA_AGENT_BINARY DIR [DIR ...]

For every .py file that both qa-agent analysed and CPython 3.11's `ast` parses, every
`def` is listed by each tool and matched on (file, def line). radon's numbers come from
its own `ComplexityVisitor`, applied to every def (closures and methods of classes
defined inside functions included: radon's CLI drops those, its visitor does not).
complexipy reports only module-level functions and methods; those are compared on
cognitive complexity. A def only one tool lists counts as a disagreement.
"""
import ast
import json
import os
import subprocess
import sys
from collections import Counter

from radon.visitors import ComplexityVisitor
import complexipy

FUNC = (ast.FunctionDef, ast.AsyncFunctionDef)


def radon_defs(tree):
    out = {}

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, FUNC):
                v = ComplexityVisitor()
                v.visit(child)
                out[child.lineno] = (prefix + child.name, v.functions[0].complexity)
                walk(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    return out


def complexipy_defs(src, tree):
    # complexipy reports the first decorator's line; map it back to the def line.
    by_start = {}
    for n in ast.walk(tree):
        if isinstance(n, FUNC):
            start = min([d.lineno for d in n.decorator_list] + [n.lineno])
            by_start.setdefault(start, []).append(n)
    out = {}
    for f in complexipy.code_complexity(src, with_plans=False, no_ignore=True).functions:
        short = f.name.split("::")[-1]
        for n in by_start.get(f.line_start, []):
            if n.name == short:
                out[n.lineno] = (f.name, f.complexity)
    return out


def main():
    binary, dirs = sys.argv[1], sys.argv[2:]
    grand = Counter()
    for d in dirs:
        report = json.loads(subprocess.run(
            [binary, "analyze", d, "--format", "json", "--no-config", "--all-files", "--max-file-size", "100000000"],
            check=True, capture_output=True, text=True).stdout)
        ours = {f["path"]: f for f in report["files"] if f["language"] == "python"}
        c = Counter()
        samples = {"cc": [], "cog": [], "only_qa": [], "only_radon": [], "only_cpx": []}
        for path, f in sorted(ours.items()):
            try:
                src = open(os.path.join(d, path), encoding="utf-8").read()
                tree = ast.parse(src)
            except (SyntaxError, ValueError, UnicodeDecodeError):
                c["files_unparsable_by_cpython"] += 1
                continue
            c["files"] += 1
            mine = {fn["start_line"]: fn for fn in f["functions"]}
            theirs = radon_defs(tree)
            for line in sorted(set(mine) | set(theirs)):
                c["cc_total"] += 1
                if line not in theirs:
                    c["only_qa"] += 1
                    samples["only_qa"].append(f"{path}:{line} {mine[line]['qualified_name']}")
                elif line not in mine:
                    c["only_radon"] += 1
                    samples["only_radon"].append(f"{path}:{line} {theirs[line][0]}")
                elif mine[line]["cyclomatic"] == theirs[line][1]:
                    c["cc_same"] += 1
                else:
                    samples["cc"].append(f"{path}:{line} {theirs[line][0]} qa={mine[line]['cyclomatic']} radon={theirs[line][1]}")
            try:
                cpx = complexipy_defs(src, tree)
            except Exception:  # complexipy rejects some files CPython accepts
                c["files_rejected_by_complexipy"] += 1
                continue
            for line, (name, score) in cpx.items():
                c["cog_total"] += 1
                if line not in mine:
                    c["only_cpx"] += 1
                    samples["only_cpx"].append(f"{path}:{line} {name}")
                elif mine[line]["cognitive"] == score:
                    c["cog_same"] += 1
                else:
                    samples["cog"].append(f"{path}:{line} {name} qa={mine[line]['cognitive']} complexipy={score}")
        grand.update(c)
        pct = lambda a, b: f"{100.0 * c[a] / c[b]:.2f}%" if c[b] else "n/a"
        print(f"{d}: files={c['files']} defs={c['cc_total']} cc-identical={pct('cc_same', 'cc_total')} "
              f"(only-qa={c['only_qa']} only-radon={c['only_radon']} differ={len(samples['cc'])}) "
              f"cognitive-identical={pct('cog_same', 'cog_total')} of {c['cog_total']} "
              f"(only-complexipy={c['only_cpx']} differ={len(samples['cog'])}) "
              f"skipped: unparsable={c['files_unparsable_by_cpython']} complexipy-rejected={c['files_rejected_by_complexipy']}")
        for k, v in samples.items():
            for s in v[:int(os.environ.get("SAMPLES", "5"))]:
                print(f"    {k}: {s}")
    if len(dirs) > 1:
        g = grand
        print(f"TOTAL: defs={g['cc_total']} cc-identical={100.0 * g['cc_same'] / max(1, g['cc_total']):.2f}% "
              f"cognitive-identical={100.0 * g['cog_same'] / max(1, g['cog_total']):.2f}% of {g['cog_total']}")


if __name__ == "__main__":
    main()
