//! MNT010: an exception handler that does nothing and says nothing about why.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{comment_in_braces, has_comment, kind_ids, linter_allows};
use crate::lang::{Dialect, named_children, python};
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT010",
    name: "empty-catch",
    family: Maintainability,
    severity: Medium,
    languages: &[
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Java,
        Language::Go,
    ],
    title: "Exception handler silently ignores the error",
    applies_to_tests: true,
    docs: r#"## What it does
Finds exception handlers that do nothing: a Python `except` whose body is only `pass` or
`...`, a JavaScript, TypeScript or Java `catch` with an empty block, and a Go
`if err != nil {}` with an empty block.

A comment in the handler (or after the colon of the `except` line) counts as the
explanation that the error is deliberately ignored, and such handlers are not reported.
Neither are the other ways code commonly says the same thing:

- a catch parameter named `ignored`, `expected`, `tolerated`, `success`, `ok` or
  `unused` (Java, JavaScript);
- a `try` whose last statement is `fail(...)`: the test expects the exception;
- a Python `try` with an `else:` block, where the handler only selects the other path;
- Python handlers for exceptions that report something absent rather than broken
  (`KeyError`, `IndexError`, `AttributeError`, `StopIteration`, Django's
  `DoesNotExist`...), where `except KeyError: pass` is the EAFP spelling of "if present",
  and for `ImportError` (an optional dependency) or `KeyboardInterrupt` (quiet exit).

Lines where ESLint's `no-empty` is disabled, or marked `# noqa: S110`, are skipped.

## Why is this bad?
An empty handler throws the error away: whatever failed, the program carries on as if it
had not, and nobody learns why the result is wrong. Without a comment, a reader cannot
tell a deliberate decision from an unfinished one.

## How to fix
Handle the error (recover, retry, fall back), log it, or let it propagate. If ignoring
it is right, say why in a comment, or in Python use `contextlib.suppress(...)`, which
states the intent in code.

## Example
```python
try:
    os.remove(tmp_path)
except OSError:
    pass
```
Use instead:
```python
with contextlib.suppress(FileNotFoundError):
    os.remove(tmp_path)
```
"#,
}

pub(crate) struct EmptyCatch;

impl Rule for EmptyCatch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python => vec![python::spec().k.except_clause],
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx | Dialect::Java => {
                kind_ids(dialect, &["catch_clause"])
            }
            Dialect::Go => kind_ids(dialect, &["if_statement"]),
            Dialect::Rust => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        match cx.dialect {
            Dialect::Python => check_python(node, cx),
            Dialect::Go => check_go(node, cx),
            _ => check_catch(node, cx),
        }
    }
}

fn check_python(clause: Node<'_>, cx: &mut Cx<'_, '_>) {
    let k = &python::spec().k;
    let Some(block) = named_children(clause)
        .into_iter()
        .rfind(|n| n.kind_id() == k.block)
    else {
        return;
    };
    let statements = named_children(block);
    let does_nothing = !statements.is_empty()
        && statements.iter().all(|s| {
            s.kind_id() == k.pass_statement
                || (s.kind_id() == k.expression_statement
                    && named_children(*s)
                        .first()
                        .is_some_and(|e| e.kind_id() == k.ellipsis))
        });
    // A comment after the colon (on the `except` line or in the block) explains why the
    // error is ignored; one inside a parenthesised list of types only documents those.
    let body_start = crate::lang::children(clause)
        .into_iter()
        .find(|c| !c.is_named() && cx.text(*c) == ":")
        .map_or(block.start_byte(), |c| c.end_byte());
    if !does_nothing
        || has_comment(clause, |n| {
            n.kind_id() == k.comment && n.start_byte() >= body_start
        })
        || expects_exception(clause, cx)
    {
        return;
    }
    if let Some(try_stmt) = cx.parent_of(clause) {
        // `try: ... except KeyError: pass else: ...` picks a path; it does not ignore.
        if named_children(try_stmt)
            .iter()
            .any(|c| c.kind_id() == k.else_clause)
        {
            return;
        }
        if catches_only_absence(clause, cx) {
            return;
        }
    }
    let at = clause.child(0).unwrap_or(clause);
    if linter_allows(cx, at, "", &["S110", "SIM105"]) {
        return;
    }
    cx.report(
        at,
        "exception handler only passes, so the error is silently ignored; handle or log it, or add a comment saying why it is safe to ignore (or use contextlib.suppress)",
    );
}

/// Catch parameter names that say the exception is deliberately ignored.
const INTENT_NAMES: &[&str] = &["ignore", "expected", "tolerated", "success", "unused", "ok"];

/// The test idiom `try { act(); fail(); } catch (Expected e) {}`: the exception is the
/// expected outcome, and the empty handler is the passing path.
fn expects_exception(handler: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let d = cx.dialect;
    let Some(body) = cx
        .parent_of(handler)
        .and_then(|t| t.child_by_field_id(field!(d, "body")))
    else {
        return false;
    };
    let Some(last) = named_children(body).pop() else {
        return false;
    };
    if last.kind_id() != kind!(d, "expression_statement") {
        return false;
    }
    named_children(last).first().is_some_and(|e| {
        cx.lang
            .call(*e, cx.src)
            .is_some_and(|c| c.name.starts_with("fail"))
    })
}

/// Python exceptions that report something absent rather than something broken: for
/// them `try: ... except KeyError: pass` is the EAFP spelling of "if present", and an
/// `ImportError` handler the idiom for an optional dependency.
const ABSENCE: &[&str] = &[
    "KeyError",
    "IndexError",
    "LookupError",
    "AttributeError",
    "StopIteration",
    "StopAsyncIteration",
    "ImportError",
    "ModuleNotFoundError",
    "KeyboardInterrupt",
];

fn catches_only_absence(clause: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let k = &python::spec().k;
    let Some(mut value) = clause.child_by_field_id(k.f.value) else {
        return false;
    };
    if value.kind_id() == k.as_pattern {
        match value.named_child(0) {
            Some(v) => value = v,
            None => return false,
        }
    }
    let value = super::common::unparen(value, k.parenthesized_expression);
    let types = if value.kind_id() == k.tuple {
        named_children(value)
    } else {
        vec![value]
    };
    !types.is_empty()
        && types.iter().all(|t| {
            let name = cx.text(*t);
            let last = name.rsplit('.').next().unwrap_or(name);
            ABSENCE.contains(&last) || last.ends_with("DoesNotExist")
        })
}

/// JavaScript, TypeScript and Java `catch` clauses.
fn check_catch(clause: Node<'_>, cx: &mut Cx<'_, '_>) {
    let d = cx.dialect;
    let Some(body) = clause.child_by_field_id(field!(d, "body")) else {
        return;
    };
    let comment = |n: Node<'_>| {
        let id = n.kind_id();
        id == kind!(d, "comment")
            || id == kind!(d, "line_comment")
            || id == kind!(d, "block_comment")
    };
    if !named_children(body).is_empty() || comment_in_braces(body, cx.src, comment) {
        return;
    }
    // `catch (ignored) {}`, `catch (IOException expected) {}`: the name is the comment.
    let param = match d {
        Dialect::Java => named_children(clause)
            .into_iter()
            .find(|n| n.kind_id() == kind!(d, "catch_formal_parameter"))
            .and_then(|p| p.child_by_field_id(field!(d, "name"))),
        _ => clause.child_by_field_id(field!(d, "parameter")),
    };
    if let Some(p) = param {
        let name = cx.text(p).to_ascii_lowercase();
        if INTENT_NAMES.iter().any(|n| name.starts_with(n)) || name == "_" {
            return;
        }
    }
    if expects_exception(clause, cx) {
        return;
    }
    let at = clause.child(0).unwrap_or(clause);
    if linter_allows(cx, at, "no-empty", &[]) {
        return;
    }
    cx.report(
        at,
        "empty catch block silently ignores the error; handle or log it, or add a comment saying why it is safe to ignore",
    );
}

/// Go: `if err != nil {}`.
fn check_go(stmt: Node<'_>, cx: &mut Cx<'_, '_>) {
    let d = cx.dialect;
    let (Some(cond), Some(body)) = (
        stmt.child_by_field_id(field!(d, "condition")),
        stmt.child_by_field_id(field!(d, "consequence")),
    ) else {
        return;
    };
    if cond.kind_id() != kind!(d, "binary_expression")
        || cond
            .child_by_field_id(field!(d, "operator"))
            .map(|o| cx.text(o))
            != Some("!=")
    {
        return;
    }
    let (Some(l), Some(r)) = (
        cond.child_by_field_id(field!(d, "left")),
        cond.child_by_field_id(field!(d, "right")),
    ) else {
        return;
    };
    let nil = kind!(d, "nil");
    let err = match (l.kind_id() == nil, r.kind_id() == nil) {
        (false, true) => l,
        (true, false) => r,
        _ => return,
    };
    let name = cx.text(err);
    let is_error = err.kind_id() == kind!(d, "identifier")
        && (name == "err" || name.ends_with("Err") || name.ends_with("err"));
    if !is_error
        || !named_children(body).is_empty()
        || comment_in_braces(body, cx.src, |n| n.kind_id() == kind!(d, "comment"))
    {
        return;
    }
    cx.report(
        cond,
        format!("`if {name} != nil {{}}` ignores the error; handle it, return it, or add a comment saying why it is safe to ignore"),
    );
}
