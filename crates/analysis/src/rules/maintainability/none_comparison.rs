//! MNT014: `== None` / `!= None` instead of `is None` / `is not None`.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{linter_allows, py_comparisons, unparen};
use crate::lang::{Dialect, python};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT014",
    name: "none-comparison",
    family: Maintainability,
    severity: Low,
    languages: &[Language::Python],
    title: "Comparison to None with `==`/`!=` instead of `is`/`is not`",
    applies_to_tests: true,
    docs: r#"## What it does
Finds comparisons to `None` with `==` or `!=` (on either side), as pycodestyle's E711
does. Files that import SQLAlchemy are skipped: there `column == None` deliberately
builds an `IS NULL` clause.

Lines marked `# noqa: E711` are skipped.

## Why is this bad?
`==` calls the left operand's `__eq__`, which a class can define to return anything:
NumPy arrays compare element-wise and return an array, ORMs build query expressions, and
a buggy `__eq__` can claim equality with `None`. `None` is a singleton, so identity is
both the correct and the faster test.

## How to fix
Use `is None` and `is not None`.

## Example
```python
if user == None:
    return
```
Use instead:
```python
if user is None:
    return
```
"#,
}

pub(crate) struct NoneComparison;

impl Rule for NoneComparison {
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
        if !cx.text(node).contains("None") || cx.imports("sqlalchemy") {
            return;
        }
        let k = &python::spec().k;
        let is_none = |n: Node<'_>| unparen(n, k.parenthesized_expression).kind_id() == k.none;
        for (left, op, _, right) in py_comparisons(node, cx.src) {
            let fix = match op.as_str() {
                "==" => "is",
                "!=" => "is not",
                _ => continue,
            };
            if (is_none(left) || is_none(right)) && !linter_allows(cx, node, "", &["E711"]) {
                cx.report(
                    node,
                    format!("comparison to None with `{op}`; use `{fix} None`, since `{op}` calls a possibly overridden `__eq__`"),
                );
                return;
            }
        }
    }
}
