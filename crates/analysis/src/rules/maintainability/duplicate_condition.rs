//! MNT025: a condition repeated in the same if / else-if chain.

use std::sync::LazyLock;

use qa_core::Language;
use regex::Regex;
use tree_sitter::Node;

use super::common::{kind_ids, linter_allows, unparen};
use crate::lang::{Dialect, named_children, squash};
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT025",
    name: "duplicate-condition",
    family: Maintainability,
    severity: High,
    languages: &[
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Java,
        Language::Go,
        Language::Rust,
    ],
    title: "Condition repeats an earlier one in the same if / else-if chain",
    applies_to_tests: true,
    docs: r#"## What it does
Finds `elif` / `else if` conditions that are the same expression (ignoring whitespace and
parentheses) as an earlier condition of the same chain, like ESLint's `no-dupe-else-if`.
In Go, the `if` statement's initialiser is part of the comparison
(`if v, ok := a(); ok {} else if v, ok := b(); ok {}` is fine).

Lines where ESLint's `no-dupe-else-if` is disabled are skipped.

## Why is this bad?
When the first branch's condition is false, the same condition later in the chain is
false too, so the later branch can never run. It is almost always a copy-paste mistake:
the second condition was meant to test something else.

## How to fix
Fix the condition to test what was intended, or remove the dead branch.

## Example
```python
if status == "new":
    create()
elif status == "open":
    update()
elif status == "new":
    close()
```
Use instead:
```python
if status == "new":
    create()
elif status == "open":
    update()
elif status == "closed":
    close()
```
"#,
}

pub(crate) struct DuplicateCondition;

impl Rule for DuplicateCondition {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Rust => kind_ids(dialect, &["if_expression"]),
            _ => kind_ids(dialect, &["if_statement"]),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let conditions = if cx.dialect == Dialect::Python {
            // Elifs are the `alternative`s before any `else`: no elif, no chain.
            let d = cx.dialect;
            if node
                .child_by_field_id(field!(d, "alternative"))
                .is_none_or(|a| a.kind_id() != kind!(d, "elif_clause"))
            {
                return;
            }
            python_chain(node, cx)
        } else {
            if !is_chain_head(node, cx) {
                return;
            }
            // No `else if`, no chain: most `if`s end here.
            let else_if = node
                .child_by_field_id(field!(cx.dialect, "alternative"))
                .is_some_and(|alt| {
                    cx.text(alt)
                        .trim_start_matches("else")
                        .trim_start()
                        .starts_with("if")
                });
            if !else_if {
                return;
            }
            braced_chain(node, cx)
        };
        let mut seen: Vec<(String, Node<'_>)> = Vec::new();
        for (key, cond) in conditions {
            if key.is_empty() {
                continue;
            }
            // Checked only for a repeat: the pattern is costlier than the comparison.
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key)
                && !has_side_effect(&key)
                && !linter_allows(cx, cond, "no-dupe-else-if", &[])
            {
                let line = first.start_position().row + 1;
                cx.report(
                    cond,
                    format!("this condition repeats the one on line {line} of the same if/else-if chain, so its branch can never run; fix or remove it"),
                );
            } else if !seen.iter().any(|(k, _)| *k == key) {
                seen.push((key, cond));
            }
        }
    }
}

/// Whether a condition calls something that reads or changes state (`r.nextBoolean()`,
/// `next(it)`, `queue.poll()`), so it can hold the second time when it did not the first.
fn has_side_effect(condition: &str) -> bool {
    static IMPURE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i-u)\b(next|has_?next|read|poll|pop|shift|take|random|rand|recv|receive|consume|acquire|fetch|scan)\w*\s*\(",
        )
        .expect("valid pattern")
    });
    IMPURE.is_match(condition)
}

/// `if` plus its `elif`s.
fn python_chain<'t>(node: Node<'t>, cx: &Cx<'_, 't>) -> Vec<(String, Node<'t>)> {
    let d = cx.dialect;
    let condition = field!(d, "condition");
    let paren = kind!(d, "parenthesized_expression");
    let mut out = Vec::new();
    let key = |c: Node<'t>| squash(cx.text(unparen(c, paren)));
    if let Some(c) = node.child_by_field_id(condition) {
        out.push((key(c), c));
    }
    for alt in named_children(node) {
        if alt.kind_id() == kind!(d, "elif_clause")
            && let Some(c) = alt.child_by_field_id(condition)
        {
            out.push((key(c), c));
        }
    }
    out
}

/// Whether `node` (the node being checked) starts a chain rather than continuing one as
/// an `else if`.
fn is_chain_head(node: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let d = cx.dialect;
    let Some(parent) = cx.parent() else {
        return true;
    };
    if parent.kind_id() == kind!(d, "else_clause") {
        return false;
    }
    !(parent.kind_id() == node.kind_id()
        && parent.child_by_field_id(field!(d, "alternative")) == Some(node))
}

/// The conditions of an `if` / `else if` chain in the brace languages.
fn braced_chain<'t>(head: Node<'t>, cx: &Cx<'_, 't>) -> Vec<(String, Node<'t>)> {
    let d = cx.dialect;
    let paren = kind!(d, "parenthesized_expression");
    let else_clause = kind!(d, "else_clause");
    let mut out = Vec::new();
    let mut current = Some(head);
    while let Some(n) = current.take() {
        let Some(cond) = n.child_by_field_id(field!(d, "condition")) else {
            break;
        };
        let cond = unparen(cond, paren);
        let init = n
            .child_by_field_id(field!(d, "initializer"))
            .map(|i| squash(cx.text(i)))
            .unwrap_or_default();
        out.push((format!("{init};{}", squash(cx.text(cond))), cond));
        let Some(alt) = n.child_by_field_id(field!(d, "alternative")) else {
            break;
        };
        if alt.kind_id() == head.kind_id() {
            current = Some(alt);
        } else if alt.kind_id() == else_clause {
            current = named_children(alt)
                .into_iter()
                .find(|c| c.kind_id() == head.kind_id());
        }
    }
    out
}
