//! MNT017: `==` / `!=` in JavaScript and TypeScript.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{kind_ids, linter_allows, unparen};
use crate::lang::Dialect;
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT017",
    name: "loose-equality",
    family: Maintainability,
    severity: Low,
    languages: &[Language::JavaScript, Language::TypeScript],
    title: "`==`/`!=` converts types before comparing; use `===`/`!==`",
    applies_to_tests: true,
    docs: r#"## What it does
Finds `==` and `!=` comparisons, except the cases where they are safe and idiomatic
(ESLint's `eqeqeq` "smart" mode): comparisons with `null` (`x == null` deliberately
matches both `null` and `undefined`), comparisons of a `typeof` result (always a
string), and comparisons between two literals.

Lines where ESLint's `eqeqeq` is disabled (`// eslint-disable-line eqeqeq`, a `/* eslint-disable eqeqeq */` region...) are skipped: the project decided on loose equality there.

## Why is this bad?
`==` applies JavaScript's type coercion rules before comparing: `"" == 0`, `"0" == 0`,
`[] == false` and `null == undefined` are all true, while `"" == "0"` is false. Code that
relies on this is hard to reason about, and code that does not rely on it can be
surprised by it.

## How to fix
Use `===` and `!==`, converting explicitly where you mean to compare different types
(`Number(input) === 0`). To test for "null or undefined", `x == null` is fine, or use
`x ?? fallback`.

## Example
```javascript
if (count == "0") {
  reset();
}
```
Use instead:
```javascript
if (count === 0) {
  reset();
}
```
"#,
}

pub(crate) struct LooseEquality;

/// `var type = typeof value; ... type == "object"`: a variable holding a `typeof` result,
/// which is always a string, so `==` cannot coerce.
fn holds_typeof(n: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    n.kind_id() == kind!(cx.dialect, "identifier") && cx.file.typeof_names.contains(cx.text(n))
}

impl Rule for LooseEquality {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
                kind_ids(dialect, &["binary_expression"])
            }
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let d = cx.dialect;
        let Some(op) = node.child_by_field_id(field!(d, "operator")) else {
            return;
        };
        let op_text = cx.text(op);
        if op_text != "==" && op_text != "!=" {
            return;
        }
        let (Some(l), Some(r)) = (
            node.child_by_field_id(field!(d, "left")),
            node.child_by_field_id(field!(d, "right")),
        ) else {
            return;
        };
        let paren = kind!(d, "parenthesized_expression");
        let (l, r) = (unparen(l, paren), unparen(r, paren));
        let null = kind!(d, "null");
        if l.kind_id() == null || r.kind_id() == null {
            return;
        }
        if is_typeof(l, cx) || is_typeof(r, cx) || holds_typeof(l, cx) || holds_typeof(r, cx) {
            return;
        }
        if (is_literal(l, cx) && is_literal(r, cx)) || linter_allows(cx, op, "eqeqeq", &[]) {
            return;
        }
        let strict = if op_text == "==" { "===" } else { "!==" };
        cx.report(
            op,
            format!("`{op_text}` compares after type coercion; use `{strict}` (or compare with `null` to match null and undefined)"),
        );
    }
}

fn is_typeof(n: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let d = cx.dialect;
    n.kind_id() == kind!(d, "unary_expression")
        && n.child_by_field_id(field!(d, "operator"))
            .is_some_and(|o| cx.text(o) == "typeof")
}

fn is_literal(n: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let d = cx.dialect;
    let id = n.kind_id();
    id == kind!(d, "string")
        || id == kind!(d, "number")
        || id == kind!(d, "true")
        || id == kind!(d, "false")
        || (id == kind!(d, "template_string")
            && !crate::lang::named_children(n)
                .iter()
                .any(|c| c.kind_id() == kind!(d, "template_substitution")))
}
