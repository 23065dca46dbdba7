//! PERF009: a whole collection sorted only to take its smallest or largest element.

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::{Call, Dialect, Role, squash};
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "PERF009",
    name: "sort-for-min-max",
    family: Performance,
    severity: Low,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript],
    title: "Collection sorted only to take its smallest or largest element",
    applies_to_tests: false,
    docs: r#"## What it does
Finds the first or last element taken straight from a sort: `sorted(xs)[0]` and
`sorted(xs, key=f)[-1]` in Python; `xs.sort()[0]`, `xs.sort(cmp)[xs.length - 1]`,
`[...xs].sort(cmp).pop()`, `xs.toSorted(cmp).at(-1)` in JavaScript and TypeScript.

Other positions (`sorted(xs)[1]`, `sorted(xs)[:3]`) and sorted results that are used as
a whole are not reported.

## Why is this bad?
Sorting costs O(n log n) and allocates a copy (or, with JavaScript's `sort`, reorders the
caller's array in place as a side effect), while the smallest or largest element can be
found in a single O(n) pass without allocating.

## How to fix
Python: `min(xs)` / `max(xs)`, with the same `key=`; `sorted(xs, reverse=True)[0]` is
`max(xs)`. (With a key and ties, `max` returns the first of the equal maxima where
`sorted(...)[-1]` returns the last.) JavaScript: `xs.reduce((a, b) => (cmp(a, b) <= 0 ? a :
b))`, or `Math.min(...xs)` / `Math.max(...xs)` for numbers (a loop for very large arrays).

## Example
```python
newest = sorted(releases, key=lambda r: r.date)[-1]
```
Use instead:
```python
newest = max(releases, key=lambda r: r.date)
```
"#,
}

pub(crate) struct SortForMinMax;

#[derive(Clone, Copy, PartialEq)]
enum End {
    First,
    Last,
}

impl Rule for SortForMinMax {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE.and(Hooks::CALL)
    }

    fn kinds(&self, d: Dialect) -> Vec<u16> {
        match d {
            Dialect::Python => vec![kind!(d, "subscript")],
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
                vec![kind!(d, "subscript_expression")]
            }
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let d = cx.dialect;
        if d == Dialect::Python {
            let (Some(value), Some(index)) = (
                node.child_by_field_id(field!(d, "value")),
                node.child_by_field_id(field!(d, "subscript")),
            ) else {
                return;
            };
            if node.named_child_count() != 2 || value.kind_id() != kind!(d, "call") {
                return;
            }
            let Some(call) = cx.lang.call(value, cx.src) else {
                return;
            };
            if call.callee != "sorted" {
                return;
            }
            let end = match squash(cx.text(index)).as_str() {
                "0" => End::First,
                "-1" => End::Last,
                _ => return,
            };
            let reverse = call
                .keyword("reverse")
                .is_some_and(|r| cx.text(r) == "True");
            let smallest = (end == End::First) != reverse;
            let (what, fix) = if smallest {
                ("smallest", "min")
            } else {
                ("largest", "max")
            };
            let key = if call.keyword("key").is_some() {
                " with the same `key=`"
            } else {
                ""
            };
            cx.report(
                node,
                format!("`sorted(...){}` sorts everything to take the {what} element (O(n log n)); `{fix}(...)`{key} finds it in one pass", squash(&cx.text(node)[cx.text(value).len()..])),
            );
            return;
        }
        let (Some(object), Some(index)) = (
            node.child_by_field_id(field!(d, "object")),
            node.child_by_field_id(field!(d, "index")),
        ) else {
            return;
        };
        let index = squash(cx.text(index));
        let end = if index == "0" {
            End::First
        } else if index.ends_with(".length-1") {
            End::Last
        } else {
            return;
        };
        if let Some(in_place) = sort_call(cx, object) {
            report_js(cx, node, in_place, end);
        }
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if !matches!(
            cx.dialect,
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx
        ) {
            return;
        }
        let end = match (call.name, call.args.as_slice()) {
            ("pop", []) => End::Last,
            ("shift", []) => End::First,
            ("at", [a]) => match squash(cx.text(a.value)).as_str() {
                "0" => End::First,
                "-1" => End::Last,
                _ => return,
            },
            _ => return,
        };
        let Some(object) = super::common::receiver_node(cx, call.node) else {
            return;
        };
        if let Some(in_place) = sort_call(cx, object) {
            report_js(cx, call.node, in_place, end);
        }
    }
}

/// Whether `object` is `xs.sort(...)` (`Some(true)`: it also sorts `xs` in place) or
/// `xs.toSorted(...)` (`Some(false)`).
fn sort_call(cx: &Cx<'_, '_>, object: Node<'_>) -> Option<bool> {
    if cx.lang.role(object) != Role::Call {
        return None;
    }
    let call = cx.lang.call(object, cx.src)?;
    call.receiver()?;
    match call.name {
        "sort" => Some(true),
        "toSorted" => Some(false),
        _ => None,
    }
}

fn report_js(cx: &mut Cx<'_, '_>, node: Node<'_>, in_place: bool, end: End) {
    let which = if end == End::First { "first" } else { "last" };
    let mutates = if in_place {
        ", and `sort` also reorders the array in place"
    } else {
        ""
    };
    cx.report(
        node,
        format!("sorting to take the {which} element costs O(n log n){mutates}; find it in one pass with `reduce` (or `Math.min`/`Math.max` for numbers)"),
    );
}
