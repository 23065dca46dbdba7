//! MNT015: `type(x) == T` instead of `isinstance(x, T)`.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{linter_allows, py_comparisons, unparen};
use crate::lang::{Dialect, named_children, python};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT015",
    name: "type-comparison",
    family: Maintainability,
    severity: Low,
    languages: &[Language::Python],
    title: "Type compared with `==`/`!=` instead of `isinstance()` or `is`",
    applies_to_tests: true,
    docs: r#"## What it does
Finds `type(x) == T`, `type(x) != T` and `type(a) == type(b)` (either side), as
pycodestyle's E721 does.

Lines marked `# noqa: E721` are skipped.

## Why is this bad?
Comparing types with `==` rejects subclasses, so a `bool` is not an `int` and an
`OrderedDict` is not a `dict`, which is rarely what the check means. And when an exact
type check is intended, `==` goes through the metaclass's `__eq__` where identity is
what is meant.

## How to fix
Use `isinstance(x, T)`, which accepts subclasses (and tuples of types). When the exact
type matters, compare identities: `type(x) is T`.

## Example
```python
if type(value) == dict:
    value = flatten(value)
```
Use instead:
```python
if isinstance(value, dict):
    value = flatten(value)
```
"#,
}

pub(crate) struct TypeComparison;

/// `type(x)` with exactly one argument (the three-argument form creates a class).
fn is_type_call(n: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let k = &python::spec().k;
    let n = unparen(n, k.parenthesized_expression);
    if n.kind_id() != k.call {
        return false;
    }
    let callee_is_type = n
        .child_by_field_id(k.f.function)
        .is_some_and(|f| f.kind_id() == k.identifier && cx.text(f) == "type");
    let one_arg = n
        .child_by_field_id(k.f.arguments)
        .is_some_and(|a| a.kind_id() == k.argument_list && named_children(a).len() == 1);
    callee_is_type && one_arg
}

impl Rule for TypeComparison {
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
        if !cx.text(node).contains("type") {
            return;
        }
        let k = &python::spec().k;
        for (left, op, _, right) in py_comparisons(node, cx.src) {
            if op != "==" && op != "!=" {
                continue;
            }
            // A string on the other side is a different bug (`type(x) == "int"`), and a
            // keyword argument or literal cannot be a type.
            let other_is_literal = |n: Node<'_>| {
                let id = unparen(n, k.parenthesized_expression).kind_id();
                id == k.string || id == k.integer || id == k.float || id == k.none
            };
            if ((is_type_call(left, cx) && !other_is_literal(right))
                || (is_type_call(right, cx) && !other_is_literal(left)))
                && !linter_allows(cx, node, "", &["E721"])
            {
                let (neg, is) = if op == "==" {
                    ("", "is")
                } else {
                    ("not ", "is not")
                };
                cx.report(
                    node,
                    format!("type compared with `{op}`; use `{neg}isinstance(x, T)`, or `type(x) {is} T` for an exact type check"),
                );
                return;
            }
        }
    }
}
