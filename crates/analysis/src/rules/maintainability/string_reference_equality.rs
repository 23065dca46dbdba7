//! MNT022: Java strings compared with `==` / `!=`.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{kind_ids, unparen};
use crate::lang::Dialect;
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT022",
    name: "string-reference-equality",
    family: Maintainability,
    severity: High,
    languages: &[Language::Java],
    title: "Strings compared with `==`/`!=` instead of `equals()`",
    applies_to_tests: true,
    docs: r#"## What it does
Finds `==` and `!=` comparisons in Java where one side is a string literal, or both
sides are calls of `String` methods that return a new string (`toString()`, `trim()`,
`substring()`, `toLowerCase()`...).

## Why is this bad?
On objects, `==` compares references, not contents. Two equal strings are often
different objects (anything read, concatenated or computed at run time), so the
comparison is false even when the text is the same. It may pass in tests where both
strings happen to be interned literals and fail in production.

## How to fix
Use `"literal".equals(value)` (null-safe when the literal comes first),
`Objects.equals(a, b)`, or `a.equals(b)`.

## Example
```java
if (command == "quit") {
    stop();
}
```
Use instead:
```java
if ("quit".equals(command)) {
    stop();
}
```
"#,
}

pub(crate) struct StringReferenceEquality;

/// `String` methods that return a string that is usually a new object.
const STRING_METHODS: &[&str] = &[
    "toString",
    "trim",
    "strip",
    "substring",
    "toLowerCase",
    "toUpperCase",
    "concat",
    "replace",
    "replaceAll",
    "repeat",
];

impl Rule for StringReferenceEquality {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Java => kind_ids(dialect, &["binary_expression"]),
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
        let literal = kind!(d, "string_literal");
        let strings = l.kind_id() == literal
            || r.kind_id() == literal
            || (is_string_call(l, cx) && is_string_call(r, cx));
        if strings {
            let fix = if op_text == "==" {
                "a.equals(b)"
            } else {
                "!a.equals(b)"
            };
            cx.report(
                op,
                format!("strings compared with `{op_text}` compare references, not contents; use `{fix}` or `Objects.equals(a, b)`"),
            );
        }
    }
}

fn is_string_call(n: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let d = cx.dialect;
    // `Character.toUpperCase(c)` returns a `char`.
    let on_character = n
        .child_by_field_id(field!(d, "object"))
        .is_some_and(|o| matches!(cx.text(o), "Character" | "java.lang.Character"));
    n.kind_id() == kind!(d, "method_invocation")
        && !on_character
        && n.child_by_field_id(field!(d, "name"))
            .is_some_and(|m| STRING_METHODS.contains(&cx.text(m)))
}
