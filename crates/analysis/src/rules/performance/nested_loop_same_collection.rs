//! PERF006: a loop over a collection nested in a loop over the same collection.

use std::sync::LazyLock;

use qa_core::Language;
use regex::Regex;
use tree_sitter::Node;

use super::common::{Loop, is_small_loop, loop_names, loops, receiver_node, span_between};
use crate::lang::{Call, Dialect, Role, squash};
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "PERF006",
    name: "nested-loop-same-collection",
    family: Performance,
    severity: Low,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Go, Language::Java, Language::Rust],
    title: "Nested loop walks the same collection as its enclosing loop",
    applies_to_tests: false,
    docs: r#"## What it does
Finds a for-each loop (or a `forEach`/`find`/`filter`/`any`... callback, or a
comprehension clause) over a collection, inside a loop over the very same collection in
the same function: `for a in items: for b in items:`, `for (const a of xs) xs.find(...)`,
`for i in range(len(xs)): for j in range(len(xs)):`.

Numeric ranges that do not walk a collection (`range(n)`, `0..n`), and small literal
collections, are not reported; neither are loops over different collections.

## Why is this bad?
The inner loop runs once per element of the outer one, so the work is O(n²) in the size
of the collection: 1,000 elements make a million iterations, 100,000 elements ten
billion. Such loops usually look something up (the element with the same key, a
duplicate, a parent) or visit each pair.

## How to fix
For lookups, index the collection once in a dict, map or set keyed by what you compare,
then look elements up in O(1). For pairs, visit each pair once
(`itertools.combinations(items, 2)` in Python, or start the inner index at `i + 1`), and
check whether an index can avoid visiting all of them.

## Example
```python
for child in nodes:
    for parent in nodes:
        if parent.id == child.parent_id:
            parent.children.append(child)
```
Use instead:
```python
by_id = {node.id: node for node in nodes}
for child in nodes:
    parent = by_id.get(child.parent_id)
    if parent is not None:
        parent.children.append(child)
```
"#,
}

pub(crate) struct NestedLoopSameCollection;

impl Rule for NestedLoopSameCollection {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE.and(Hooks::CALL)
    }

    fn kinds(&self, d: Dialect) -> Vec<u16> {
        match d {
            Dialect::Python => vec![kind!(d, "for_statement"), kind!(d, "for_in_clause")],
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
                vec![kind!(d, "for_in_statement")]
            }
            Dialect::Java => vec![kind!(d, "enhanced_for_statement")],
            Dialect::Go => vec![kind!(d, "for_statement")],
            Dialect::Rust => vec![kind!(d, "for_expression")],
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let Some(iterable) = cx.lang.loop_iterable(node) else {
            return;
        };
        let this = Loop {
            node,
            iterable: Some(iterable),
            call: None,
        };
        if is_small_loop(cx, &this) {
            return;
        }
        let Some(key) = collection_key(cx, iterable) else {
            return;
        };
        if encloses_same(cx, &this, &key) {
            let span = if node.kind_id() == kind!(cx.dialect, "for_in_clause") {
                crate::rules::cx::span_of(node, cx.src)
            } else {
                span_between(cx, node, iterable)
            };
            let message = message(cx, &key);
            cx.report_span(span, message);
        }
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if cx.dialect == Dialect::Python
            || !crate::testmap::conventions::is_iteration_method(call.name)
            || !call
                .args
                .iter()
                .any(|a| cx.lang.is_callable_literal(a.value))
        {
            return;
        }
        let Some(receiver) = receiver_node(cx, call.node) else {
            return;
        };
        let this = Loop {
            node: call.node,
            iterable: None,
            call: Some(call.node),
        };
        if is_small_loop(cx, &this) {
            return;
        }
        let Some(key) = receiver_key(cx, receiver) else {
            return;
        };
        if encloses_same(cx, &this, &key) && !is_module_binding(cx.src, &key) {
            let head = call
                .node
                .child_by_field_id(field!(cx.dialect, "function"))
                .or_else(|| call.node.child_by_field_id(field!(cx.dialect, "name")))
                .unwrap_or(call.node);
            let span = span_between(cx, call.node, head);
            let message = message(cx, &key);
            cx.report_span(span, message);
        }
    }
}

fn message(cx: &Cx<'_, '_>, key: &str) -> String {
    let index = match cx.dialect {
        Dialect::Python => {
            "index it once in a dict or set keyed by what you compare, or use `itertools.combinations` for pairs"
        }
        Dialect::Go => {
            "index it once in a map keyed by what you compare, or start the inner loop after the outer index for pairs"
        }
        Dialect::Java => {
            "index it once in a `HashMap`/`HashSet` keyed by what you compare, or start the inner loop after the outer index for pairs"
        }
        Dialect::Rust => {
            "index it once in a `HashMap`/`HashSet` keyed by what you compare, or start the inner loop after the outer index for pairs"
        }
        _ => {
            "index it once in a `Map`/`Set` keyed by what you compare, or start the inner loop after the outer index for pairs"
        }
    };
    format!("walks `{key}` again for every element of the enclosing loop over it (O(n²)); {index}")
}

/// Whether a loop enclosing `this` walks the collection `key`, and the nesting does not
/// simply build an n×n result (`m[i][j] = ...`, `[[f(a, b) for b in xs] for a in xs]`),
/// where the quadratic work is the point.
fn encloses_same(cx: &Cx<'_, '_>, this: &Loop<'_>, key: &str) -> bool {
    let all = loops(cx, this.node);
    all.iter().any(|l| {
        let collection = match (l.iterable, l.call) {
            (Some(it), _) => collection_key(cx, it),
            (None, Some(call)) => receiver_node(cx, call).and_then(|r| receiver_key(cx, r)),
            _ => None,
        };
        collection.is_some_and(|k| k == key)
            && !builds_pairs(cx, l, this)
            && !rebound_between(cx, l, this.node, key, &all)
    })
}

/// Whether a variable of `key` is given a new value between the outer loop `outer` and the
/// inner loop at `inner` (`const obj = byObj[k]` shadowing an outer `obj`), or is bound by a
/// loop in between: then the text is the same but the collection is not.
fn rebound_between(
    cx: &Cx<'_, '_>,
    outer: &Loop<'_>,
    inner: Node<'_>,
    key: &str,
    all: &[Loop<'_>],
) -> bool {
    let mut names = Vec::new();
    let mut prev = ' ';
    let mut word = String::new();
    for c in key.chars().chain([' ']) {
        if c.is_alphanumeric() || c == '_' || c == '$' {
            if word.is_empty() && prev == '.' {
                word.push('.');
            }
            word.push(c);
        } else {
            if !word.is_empty() && !word.starts_with('.') && c != '(' {
                names.push(std::mem::take(&mut word));
            }
            word.clear();
        }
        prev = c;
    }
    if names.is_empty() {
        return false;
    }
    // Loops between the two that bind one of the names.
    if all.iter().any(|l| {
        l.node.start_byte() > outer.node.start_byte()
            && loop_names(cx, l)
                .iter()
                .any(|n| names.iter().any(|m| m == n))
    }) {
        return true;
    }
    let Some(body) = outer
        .node
        .child_by_field_id(field!(cx.dialect, "body"))
        .or(Some(outer.node))
    else {
        return false;
    };
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        if n.start_byte() >= inner.start_byte() {
            continue;
        }
        if cx.lang.role(n) == Role::Assign
            && let Some(a) = cx.lang.assignment(n, cx.src)
            && a.operator.is_none()
            && a.target
                .split([',', '(', ')', '[', ']', ' '])
                .any(|t| names.iter().any(|m| m == t))
        {
            return true;
        }
        stack.extend(crate::lang::named_children(n));
    }
    false
}

/// Whether nested loops `outer` and `inner` fill a table with one cell per pair:
/// `m[i][j] = ...`, `t[i, j]`, `[[f(a, b) for b in xs] for a in xs]`. The quadratic work is
/// then the point.
fn builds_pairs(cx: &Cx<'_, '_>, outer: &Loop<'_>, inner: &Loop<'_>) -> bool {
    let clause = kind!(cx.dialect, "for_in_clause");
    let inner_comp = (inner.node.kind_id() == clause)
        .then(|| cx.parent_of(inner.node))
        .flatten();
    if let Some(comp) = inner_comp
        && outer.node.kind_id() == clause
        && let Some(outer_comp) = cx.parent_of(outer.node)
        && in_element(cx, comp, outer_comp)
    {
        return true;
    }
    let vars = |l: &Loop<'_>| -> Vec<String> {
        loop_names(cx, l).into_iter().map(str::to_string).collect()
    };
    let (a, b) = (vars(outer), vars(inner));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    // The code run per pair: a comprehension's element, a loop's body.
    let body_field = field!(cx.dialect, "body");
    let body = inner_comp
        .unwrap_or(inner.node)
        .child_by_field_id(body_field)
        .map_or("", |b| cx.text(b));
    subscript_runs(body)
        .iter()
        .any(|run| a.iter().any(|x| run.contains(x)) && b.iter().any(|y| run.contains(y)))
}

/// Whether comprehension `comp` is part of the element that comprehension `outer` builds
/// (not of its conditions, and not reduced by `any`/`all`/`sum`/`len`/... first).
fn in_element(cx: &Cx<'_, '_>, comp: Node<'_>, outer: Node<'_>) -> bool {
    let clause = kind!(cx.dialect, "for_in_clause");
    let mut c = comp;
    while let Some(p) = cx.parent_of(c) {
        if p.id() == outer.id() {
            let first_clause = crate::lang::named_children(outer)
                .into_iter()
                .find(|n| n.kind_id() == clause);
            return first_clause.is_some_and(|f| c.start_byte() < f.start_byte());
        }
        if cx.lang.role(p) == Role::Function || cx.lang.role(p) == Role::Loop {
            return false;
        }
        if cx.lang.role(p) == Role::Call
            && let Some(call) = cx.lang.call(p, cx.src)
            && matches!(
                call.callee.as_str(),
                "any" | "all" | "sum" | "len" | "min" | "max" | "next" | "sorted" | "set"
            )
        {
            return false;
        }
        c = p;
    }
    false
}

/// The identifiers in each run of adjacent subscripts: `m[i][j]` and `t[k,i,j]` give
/// `[i, j]` and `[k, i, j]`.
fn subscript_runs(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '[' {
            i += 1;
            continue;
        }
        let mut run = Vec::new();
        while i < chars.len() && chars[i] == '[' {
            let mut depth = 0;
            let mut word = String::new();
            while i < chars.len() {
                let c = chars[i];
                i += 1;
                match c {
                    '[' => depth += 1,
                    ']' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                if c.is_alphanumeric() || c == '_' {
                    word.push(c);
                } else if !word.is_empty() {
                    run.push(std::mem::take(&mut word));
                }
            }
            if !word.is_empty() {
                run.push(word);
            }
        }
        runs.push(run);
    }
    runs
}

/// The collection a callback's receiver is (`items` in `items.forEach(...)`); not
/// namespaces and classes such as `_.map`, `Object.keys`, `CollectSpliterators.flatMap`.
fn receiver_key(cx: &Cx<'_, '_>, receiver: Node<'_>) -> Option<String> {
    let key = collection_key(cx, receiver)?;
    let namespace = key.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && key.chars().all(|c| c.is_alphanumeric() || c == '_')
        || matches!(key.as_str(), "_" | "$" | "lodash" | "R" | "jQuery");
    (!namespace).then_some(key)
}

/// Whether `name` is bound to a module (`import * as core from "./core"`,
/// `const core = require("./core")`): `core.map(...)` then calls the module's function
/// rather than walking a collection. Checked only for a finding, so the source is
/// scanned rarely.
fn is_module_binding(src: &str, name: &str) -> bool {
    static BINDING: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"import\s+\*\s+as\s+([A-Za-z_$][\w$]*)|(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*require\s*\(",
        )
        .expect("valid pattern")
    });
    name.chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && BINDING.captures_iter(src).any(|c| {
            c.get(1)
                .or_else(|| c.get(2))
                .is_some_and(|m| m.as_str() == name)
        })
}

/// The collection an iterable walks, as comparable text: `xs` for `xs`, `&xs`,
/// `xs.iter()`, `enumerate(xs)`, `xs.stream()`. `None` for numeric ranges that do not
/// walk a collection (`range(n)`, `0..n`, Go's `range 10`).
fn collection_key(cx: &Cx<'_, '_>, node: Node<'_>) -> Option<String> {
    let d = cx.dialect;
    let mut key = squash(cx.text(node));
    match d {
        Dialect::Python => {
            if let Some(inner) = key
                .strip_prefix("enumerate(")
                .and_then(|k| k.strip_suffix(')'))
            {
                if inner.contains(',') {
                    return None;
                }
                key = inner.to_string();
            }
            if key.starts_with("range(") {
                // Only index loops over a collection: `range(len(xs))`.
                let inner = key.strip_prefix("range(len(")?.strip_suffix("))")?;
                return Some(format!("range(len({inner}))"));
            }
        }
        Dialect::Rust => {
            if node.kind_id() == kind!(d, "range_expression") {
                // `0..xs.len()` walks `xs` by index; `0..n` does not walk a collection.
                let end = key
                    .rsplit("..")
                    .next()
                    .unwrap_or("")
                    .trim_start_matches('=');
                return end.ends_with(".len()").then(|| format!("0..{end}"));
            }
            key = key
                .trim_start_matches('&')
                .trim_start_matches("mut")
                .to_string();
            for suffix in [
                ".iter()",
                ".iter_mut()",
                ".into_iter()",
                ".chars()",
                ".bytes()",
            ] {
                if let Some(k) = key.strip_suffix(suffix) {
                    key = k.to_string();
                }
            }
        }
        Dialect::Java => {
            if let Some(k) = key.strip_suffix(".stream()") {
                key = k.to_string();
            }
        }
        Dialect::Go if node.kind_id() == kind!(d, "int_literal") => return None,
        _ => {}
    }
    let numeric = key.chars().all(|c| c.is_ascii_digit() || c == '_');
    if key.is_empty() || numeric {
        return None;
    }
    // Calls may return something new each time (`cursor.fetchall()`, `next_batch()`):
    // only views of a collection count.
    if key.contains('(') {
        let view = key.starts_with("range(len(")
            || key.starts_with("0..")
            || ["Object.keys(", "Object.values(", "Object.entries("]
                .iter()
                .any(|p| key.starts_with(p) && key.matches('(').count() == 1)
            || [
                ".items()",
                ".keys()",
                ".values()",
                ".entrySet()",
                ".keySet()",
                ".entries()",
            ]
            .iter()
            .any(|s| key.ends_with(s) && key.matches('(').count() == 1);
        if !view {
            return None;
        }
    }
    Some(key)
}
