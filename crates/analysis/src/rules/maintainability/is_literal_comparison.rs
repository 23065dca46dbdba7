//! MNT028: `is` / `is not` against a literal.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{linter_allows, py_comparisons, unparen};
use crate::lang::{Dialect, python};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT028",
    name: "is-literal-comparison",
    family: Maintainability,
    severity: High,
    languages: &[Language::Python],
    title: "`is` comparison with a literal tests identity, not equality",
    applies_to_tests: true,
    docs: r#"## What it does
Finds `is` and `is not` comparisons where one side is a literal: a string, bytes, number,
tuple, list, dict or set display (`x is "yes"`, `n is not 0`, `t is (1, 2)`), as
pyflakes' F632 does. `is None`, `is True`, `is False` and `is ...` are fine: those are
singletons.

Lines marked `# noqa: F632` are skipped.

## Why is this bad?
`is` asks whether both sides are the same object. Whether two equal strings or numbers
are the same object is a CPython implementation detail (small ints and some strings are
cached, others are not), so the comparison can be true in a quick test and false in
production. A list, dict or set display creates a new object, so `is` against it is
always false. CPython itself warns: `SyntaxWarning: "is" with a literal`.

## How to fix
Use `==` and `!=` to compare values.

## Example
```python
if status is "done":
    notify()
```
Use instead:
```python
if status == "done":
    notify()
```
"#,
}

pub(crate) struct IsLiteralComparison;

fn literal_kind(n: Node<'_>) -> Option<&'static str> {
    let k = &python::spec().k;
    let n = unparen(n, k.parenthesized_expression);
    let id = n.kind_id();
    Some(if id == k.string || id == k.concatenated_string {
        "string"
    } else if id == k.integer || id == k.float {
        "number"
    } else if id == k.unary_operator {
        // `-1`, `+2.5`
        let arg = n.child_by_field_id(k.f.argument)?;
        if arg.kind_id() == k.integer || arg.kind_id() == k.float {
            "number"
        } else {
            return None;
        }
    } else if id == k.tuple {
        "tuple"
    } else if id == k.list || id == k.list_comprehension {
        "list"
    } else if id == k.dictionary || id == k.dictionary_comprehension {
        "dict"
    } else if id == k.set || id == k.set_comprehension {
        "set"
    } else {
        return None;
    })
}

impl Rule for IsLiteralComparison {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python => vec![python::spec().k.comparison_operator],
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        // Cheap text test before taking the comparison apart.
        if !cx.text(node).contains("is") {
            return;
        }
        for (left, op, _, right) in py_comparisons(node, cx.src) {
            let fix = match op.as_str() {
                "is" => "==",
                "is not" => "!=",
                _ => continue,
            };
            let Some(what) = literal_kind(left).or_else(|| literal_kind(right)) else {
                continue;
            };
            if linter_allows(cx, node, "", &["F632"]) {
                return;
            }
            cx.report(
                node,
                format!("`{op}` with a {what} literal compares object identity, which is not guaranteed for equal values; use `{fix}`"),
            );
            return;
        }
    }
}
