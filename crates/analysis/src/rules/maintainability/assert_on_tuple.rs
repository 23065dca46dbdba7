//! MNT027: `assert (condition, "message")`.

use qa_core::Language;
use tree_sitter::Node;

use super::common::linter_allows;
use crate::lang::{Dialect, named_children, python};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT027",
    name: "assert-on-tuple",
    family: Maintainability,
    severity: High,
    languages: &[Language::Python],
    title: "`assert` on a tuple is always true",
    applies_to_tests: true,
    docs: r#"## What it does
Finds `assert` statements whose test is a non-empty tuple, usually
`assert (condition, "message")`, as pyflakes' F631 does.

Lines marked `# noqa: F631` are skipped.

## Why is this bad?
A non-empty tuple is truthy, so the assertion can never fail: the check it was meant to
make is silently skipped. CPython warns about it (`SyntaxWarning: assertion is always
true`), but warnings are easy to miss.

## How to fix
Remove the parentheses: `assert` takes the message after a comma of its own,
`assert condition, "message"`.

## Example
```python
assert (len(rows) == expected, "row count mismatch")
```
Use instead:
```python
assert len(rows) == expected, "row count mismatch"
```
"#,
}

pub(crate) struct AssertOnTuple;

impl Rule for AssertOnTuple {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python => vec![python::spec().k.assert_statement],
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let k = &python::spec().k;
        let Some(test) = named_children(node).into_iter().next() else {
            return;
        };
        if test.kind_id() == k.tuple
            && !named_children(test).is_empty()
            && !linter_allows(cx, test, "", &["F631"])
        {
            cx.report(
                test,
                "assertion on a non-empty tuple is always true; write `assert condition, \"message\"` without the parentheses",
            );
        }
    }
}
