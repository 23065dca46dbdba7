#!/usr/bin/env python3
"""Count generated tests that have no real oracle (peer-comparison tooling).

    oracle_count.py TEST_FILE [TEST_FILE ...]     -> one JSON object on stdout

Every test function (module-level `test_*`, or `test_*` methods of `Test*`
classes; a parametrized function counts once) falls in exactly one class:

  xfail       decorated with pytest.mark.xfail (any form). Reported apart:
              Pynguin marks tests that raise an unexpected exception this way;
              the "oracle" is only "something raises".
  no_assert   no `assert`, no `pytest.raises`, no unittest `self.assert*`.
  const_only  asserts exist but none of them depends on anything the test
              computed: every asserted expression only reads literals, module
              attributes (e.g. `assert mod.ONE_THIRD == approx(0.333)`) or
              locals bound to such constants.
  oracle      at least one assert / raises that checks a computed value.

no_oracle = no_assert + const_only.

"Depends on something computed" (dyn): a local name whose value came from a
non-neutral call (anything but pytest.approx and a few pure builtins such as
len/float/str/isinstance), or that was passed to / had a method called by
such a call (side effects), or a non-neutral call inside the assert itself.
"""
from __future__ import annotations

import ast
import json
import sys

NEUTRAL = {
    "approx", "len", "int", "float", "str", "bool", "bytes", "complex", "list", "tuple",
    "set", "frozenset", "dict", "type", "isinstance", "issubclass", "repr", "abs", "round",
    "sorted", "min", "max", "sum", "any", "all", "range", "hasattr", "getattr", "id",
}


def call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def is_xfail(fn: ast.FunctionDef) -> bool:
    for d in fn.decorator_list:
        if "xfail" in ast.unparse(d):
            return True
    return False


class Analyzer:
    def __init__(self, fn: ast.FunctionDef):
        self.fn = fn
        self.dyn_locals: set[str] = set()
        self.locals: set[str] = {a.arg for a in fn.args.args if a.arg != "self"}
        # fixtures / parameters are inputs, not computed results; they stay non-dyn
        self._scan()

    def dyn(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.dyn_locals
        if isinstance(node, ast.Call):
            if call_name(node.func) not in NEUTRAL:
                return True
            # a method call on a computed value is computed too
            if isinstance(node.func, ast.Attribute) and self.dyn(node.func.value):
                return True
            return any(self.dyn(a) for a in node.args) or any(self.dyn(k.value) for k in node.keywords)
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return any(self.dyn(c) for c in ast.iter_child_nodes(node))
        return any(self.dyn(c) for c in ast.iter_child_nodes(node))

    @staticmethod
    def names(target: ast.AST) -> list[str]:
        return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]

    def _scan(self) -> None:
        # two passes so that side effects seen later still mark earlier locals
        for _ in range(2):
            for node in ast.walk(self.fn):
                if isinstance(node, ast.Assign):
                    d = self.dyn(node.value)
                    for t in node.targets:
                        for n in self.names(t):
                            self.locals.add(n)
                            if d:
                                self.dyn_locals.add(n)
                elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
                    for n in self.names(node.target):
                        self.locals.add(n)
                        if self.dyn(node.value):
                            self.dyn_locals.add(n)
                elif isinstance(node, ast.NamedExpr):
                    self.locals.add(node.target.id)
                    if self.dyn(node.value):
                        self.dyn_locals.add(node.target.id)
                elif isinstance(node, (ast.For, ast.comprehension)):
                    if self.dyn(node.iter):
                        self.dyn_locals.update(self.names(node.target))
                elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                    self.dyn_locals.update(self.names(node.optional_vars))
                elif isinstance(node, ast.Call) and call_name(node.func) not in NEUTRAL:
                    # locals handed to, or used as receiver of, a real call may be mutated
                    args = list(node.args) + [k.value for k in node.keywords]
                    if isinstance(node.func, ast.Attribute):
                        args.append(node.func.value)
                    for a in args:
                        if isinstance(a, ast.Name) and a.id in self.locals:
                            self.dyn_locals.add(a.id)

    def classify(self) -> str:
        if is_xfail(self.fn):
            return "xfail"
        has_check, meaningful = False, False
        for node in ast.walk(self.fn):
            if isinstance(node, ast.Call) and call_name(node.func) in ("raises", "assertRaises", "assertRaisesRegex"):
                return "oracle"
            if isinstance(node, ast.Assert):
                has_check = True
                if self.dyn(node.test):
                    meaningful = True
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr.startswith("assert")):
                has_check = True
                if any(self.dyn(a) for a in node.args):
                    meaningful = True
        if not has_check:
            return "no_assert"
        return "oracle" if meaningful else "const_only"


def test_functions(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            yield node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub.name.startswith("test"):
                    yield sub


def main() -> int:
    counts = {"tests": 0, "xfail": 0, "no_assert": 0, "const_only": 0, "oracle": 0}
    per_test = {}
    for path in [a for a in sys.argv[1:] if a != "--verbose"]:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
        for fn in test_functions(tree):
            kind = Analyzer(fn).classify()
            counts["tests"] += 1
            counts[kind] += 1
            per_test[fn.name] = kind
    counts["no_oracle"] = counts["no_assert"] + counts["const_only"]
    if "--verbose" in sys.argv:
        counts["per_test"] = per_test
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
