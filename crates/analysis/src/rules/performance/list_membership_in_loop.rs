//! PERF003: a membership test that scans a list, repeated on every iteration of a loop.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{
    assigned_value, function_text, holds_list, innermost, loops, repeats, scoped_assignment,
};
use crate::lang::{Call, Dialect, named_children};
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "PERF003",
    name: "list-membership-in-loop",
    family: Performance,
    severity: Low,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Java, Language::Go, Language::Rust],
    title: "Membership test against a list inside a loop",
    applies_to_tests: false,
    docs: r#"## What it does
Finds membership tests inside a loop against a local variable that holds a list: `x in
items` (Python), `items.includes(x)` and `items.indexOf(x)` (JavaScript, TypeScript),
`items.contains(x)` (Java, Rust) and `slices.Contains(items, x)` (Go), where `items` was
last assigned a list literal, a list comprehension, `split(...)`, `new ArrayList<>()`,
`vec![...]`, `make([]T, ...)` and the like.

A handful of literal values that the function never adds to (`for`-loop-invariant
allow-lists such as `["GET", "HEAD"]`) are not reported: scanning them is as fast as
hashing.

## Why is this bad?
Searching a list compares the value with every element, so a test costs O(n) and the
loop O(n·m). The classic case is de-duplicating with `if x not in seen: seen.append(x)`,
which is quadratic. A hash set answers the same question in O(1).

## How to fix
Build a set once, before the loop (`set(items)` in Python, `new Set(items)` and `.has(x)`
in JavaScript, `new HashSet<>(items)` in Java, a `map[T]struct{}` in Go, a `HashSet` in
Rust), and test membership against it. Keep the list too if order matters.

## Example
```python
seen = []
for user in users:
    if user.email not in seen:
        seen.append(user.email)
```
Use instead:
```python
seen = set()
for user in users:
    if user.email not in seen:
        seen.add(user.email)
```
"#,
}

pub(crate) struct ListMembershipInLoop;

impl Rule for ListMembershipInLoop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL.and(Hooks::NODE)
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python => vec![kind!(dialect, "comparison_operator")],
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        // `x in items` / `x not in items`, not chained.
        if node.child_count() != 3 {
            return;
        }
        let (Some(op), Some(list)) = (node.child(1), node.child(2)) else {
            return;
        };
        if op.is_named()
            || list.kind_id() != kind!(cx.dialect, "identifier")
            || !matches!(squash_ws(cx.text(op)).as_str(), "in" | "notin")
        {
            return;
        }
        let name = cx.text(list);
        check(cx, node, name, &format!("`{}`", cx.text(node)));
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let list = match cx.dialect {
            Dialect::Go => {
                if !call.is(&[
                    "slices.Contains",
                    "slices.Index",
                    "slices.ContainsFunc",
                    "slices.IndexFunc",
                ]) || (call.name.starts_with("Index") && !compared_with_not_found(cx, call.node))
                {
                    return;
                }
                call.positional(0)
                    .filter(|a| a.kind_id() == kind!(cx.dialect, "identifier"))
                    .map(|a| cx.text(a))
            }
            Dialect::Python => return,
            d => {
                let methods: &[&str] = match d {
                    Dialect::Java => &["contains", "indexOf", "lastIndexOf"],
                    Dialect::Rust => &["contains"],
                    _ => &["includes", "indexOf", "lastIndexOf"],
                };
                if !methods.contains(&call.name) || call.args.len() != 1 {
                    return;
                }
                // `indexOf` whose result is a position rather than a yes/no answer.
                if call.name.ends_with("ndexOf") && !compared_with_not_found(cx, call.node) {
                    return;
                }
                call.receiver().filter(|r| {
                    r.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
                })
            }
        };
        let Some(name) = list else {
            return;
        };
        check(cx, call.node, name, &format!("`{}(...)`", call.callee));
    }
}

fn squash_ws(s: &str) -> String {
    s.split_whitespace().collect()
}

fn check(cx: &mut Cx<'_, '_>, node: Node<'_>, name: &str, what: &str) {
    let loops = loops(cx, node);
    if !repeats(cx, &loops) || !holds_list(cx, node, name) || is_fixed_few(cx, node, name) {
        return;
    }
    // A list rebuilt on every iteration and tested once costs no more than building it:
    // only a list that outlives the innermost loop is scanned again and again.
    if let (Some(inner), Some(assign)) = (innermost(&loops), scoped_assignment(cx, node, name))
        && inner.node.start_byte() <= assign.start_byte()
        && assign.end_byte() <= inner.node.end_byte()
    {
        return;
    }
    let fix = match cx.dialect {
        Dialect::Python => format!("build a set once (`set({name})`) and test against it"),
        Dialect::Java => {
            format!("build a `HashSet` once (`new HashSet<>({name})`) and test against it")
        }
        Dialect::Go => "build a `map[T]struct{}` once and test against it".to_string(),
        Dialect::Rust => "collect a `HashSet` once and test against it".to_string(),
        _ => format!("build a `Set` once (`new Set({name})`) and use `.has()`"),
    };
    cx.report(
        node,
        format!("{what} scans the list `{name}` on every iteration; {fix}"),
    );
}

/// Whether `name` holds a few literal values that the function never adds to.
fn is_fixed_few(cx: &Cx<'_, '_>, node: Node<'_>, name: &str) -> bool {
    let Some(assign) = scoped_assignment(cx, node, name) else {
        return false;
    };
    let Some(value) = assigned_value(cx, assign) else {
        return false;
    };
    let d = cx.dialect;
    let elements = match d {
        Dialect::Python if value.kind_id() == kind!(d, "list") => named_children(value),
        Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx
            if value.kind_id() == kind!(d, "array") =>
        {
            named_children(value)
        }
        Dialect::Go if value.kind_id() == kind!(d, "composite_literal") => value
            .child_by_field_id(field!(d, "body"))
            .map(|body| {
                named_children(body)
                    .into_iter()
                    .filter_map(|e| e.named_child(0))
                    .collect()
            })
            .unwrap_or_default(),
        Dialect::Java if value.kind_id() == kind!(d, "method_invocation") => value
            .child_by_field_id(field!(d, "arguments"))
            .map(named_children)
            .unwrap_or_default(),
        Dialect::Rust if value.kind_id() == kind!(d, "macro_invocation") => {
            // `vec![...]`: the token tree's literal tokens.
            let t = cx.text(value);
            let inner = t
                .split_once('[')
                .map_or("", |(_, r)| r.trim_end_matches(']'));
            if !inner.split(',').all(|e| {
                let e = e.trim();
                e.is_empty() || e.starts_with('"') || e.parse::<f64>().is_ok()
            }) {
                return false;
            }
            return inner.split(',').filter(|e| !e.trim().is_empty()).count() <= 16
                && !grown(cx, assign, name);
        }
        _ => return false,
    };
    elements.len() <= 16
        && elements.iter().all(|e| cx.value(*e).is_literal())
        && !grown(cx, assign, name)
}

/// Whether the function that assigns `name` (at `assign`) adds to it anywhere.
fn grown(cx: &Cx<'_, '_>, assign: Node<'_>, name: &str) -> bool {
    let body = function_text(cx, assign);
    [
        ".append(",
        ".extend(",
        ".insert(",
        ".push(",
        ".add(",
        ".addAll(",
        ".unshift(",
        ".splice(",
    ]
    .iter()
    .any(|m| body.contains(&format!("{name}{m}")))
        || body.contains(&format!("{name} +="))
        || body.contains(&format!("{name} = append({name}"))
}

/// Whether an `indexOf` call is only compared with -1 or 0 (`!== -1`, `>= 0`, `< 0`).
fn compared_with_not_found(cx: &Cx<'_, '_>, call: Node<'_>) -> bool {
    let d = cx.dialect;
    let Some(parent) = cx
        .parent_of(call)
        .filter(|p| p.kind_id() == kind!(d, "binary_expression"))
    else {
        return false;
    };
    let other = [field!(d, "left"), field!(d, "right")]
        .iter()
        .filter_map(|f| parent.child_by_field_id(*f))
        .find(|n| n.id() != call.id());
    other.is_some_and(|o| {
        let t: String = cx.text(o).split_whitespace().collect();
        t == "-1" || t == "0"
    })
}
