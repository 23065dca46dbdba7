//! MNT009: `except Exception:` / `catch (Exception e)` that neither re-raises nor logs.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{comment_in_braces, find_in, has_comment, linter_allows};
use crate::lang::{Dialect, named_children, python};
use crate::rules::helpers::kind;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT009",
    name: "broad-exception-caught",
    family: Maintainability,
    severity: Low,
    languages: &[Language::Python, Language::Java],
    title: "Catching `Exception` without re-raising or logging hides unexpected errors",
    applies_to_tests: true,
    docs: r#"## What it does
Finds handlers that catch every exception (`except Exception:` or `except BaseException:`
in Python, `catch (Exception | RuntimeException | Throwable e)` in Java) and then neither
re-raise, log, nor use the caught exception.

A handler counts as handling the error when it raises (`raise`, `raise e`,
`raise Other(...) from e`, `throw`), calls a logging or reporting function
(`logger.exception`, `log.error`, `warnings.warn`, `traceback.print_exc`,
`sys.exc_info()`, `sentry_sdk.capture_exception`, `fail(...)`...), or passes the
exception object on (`errors.append(e)`, `future.set_exception(e)`,
`return Result.failure(e)`, even to a callback). A `raise` or logging call in a nested
function or lambda does not count: it runs later, if at all.

Handlers that do nothing at all (`pass`, `{}`) are left to `empty-catch` (MNT010), which
reports them more severely.

A comment in the handler explaining why everything is caught (`# some backends raise
arbitrary errors on invalid keys`) marks the catch-all as deliberate, and so does a Java
catch parameter named `expected` (the JUnit idiom): those are not reported.

Lines marked `# noqa: BLE001` are skipped.

## Why is this bad?
A broad handler catches the errors you expected *and* every bug in the `try` block: a
`TypeError`, a typo'd attribute, a `NullPointerException`. When the handler then carries
on silently, those bugs turn into wrong results far from their cause, with no trace left
to debug them.

## How to fix
Catch the specific exceptions the code can recover from. If you really need a catch-all
(at a thread or request boundary), log the exception with its traceback or re-raise it.

## Example
```python
try:
    rate = fetch_rate(currency)
except Exception:
    rate = 1.0
```
Use instead:
```python
try:
    rate = fetch_rate(currency)
except (ConnectionError, TimeoutError):
    logger.warning("rate service unavailable, using 1.0", exc_info=True)
    rate = 1.0
```
"#,
}

pub(crate) struct BroadExceptionCaught;

const PY_BROAD: &[&str] = &["Exception", "BaseException"];
const JAVA_BROAD: &[&str] = &["Exception", "Throwable", "RuntimeException"];

/// Calls that log, report or abort: a handler making one does not swallow the error.
const REPORTING: &[&str] = &[
    "exception",
    "error",
    "warning",
    "warn",
    "critical",
    "fatal",
    "severe",
    "log",
    "info",
    "debug",
    "trace",
    "print_exc",
    "print_exception",
    "format_exc",
    "printStackTrace",
    "capture_exception",
    "exc_info",
    "captureException",
    "fail",
    "skip",
    "xfail",
    "exit",
    "_exit",
    "abort",
];

impl Rule for BroadExceptionCaught {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python => vec![python::spec().k.except_clause],
            Dialect::Java => vec![kind!(dialect, "catch_clause")],
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        match cx.dialect {
            Dialect::Python => check_python(node, cx),
            Dialect::Java => check_java(node, cx),
            _ => {}
        }
    }
}

fn check_python(clause: Node<'_>, cx: &mut Cx<'_, '_>) {
    let k = &python::spec().k;
    let Some(mut value) = clause.child_by_field_id(k.f.value) else {
        return;
    };
    let mut bound: Option<&str> = None;
    if value.kind_id() == k.as_pattern {
        bound = value
            .child_by_field_id(k.f.alias)
            .and_then(|a| find_in(a, |_| false, |n| n.kind_id() == k.identifier).or(Some(a)))
            .map(|n| cx.text(n));
        match value.named_child(0) {
            Some(v) => value = v,
            None => return,
        }
    }
    let value = super::common::unparen(value, k.parenthesized_expression);
    let types = if value.kind_id() == k.tuple || value.kind_id() == k.expression_list {
        named_children(value)
    } else {
        vec![value]
    };
    let Some(broad) = types.into_iter().find(|t| {
        let name = cx.text(*t);
        let last = name.rsplit('.').next().unwrap_or(name);
        PY_BROAD.contains(&last)
    }) else {
        return;
    };
    let Some(block) = named_children(clause)
        .into_iter()
        .rfind(|n| n.kind_id() == k.block)
    else {
        return;
    };
    // A handler that only passes is empty-catch's (MNT010) to report.
    let statements = named_children(block);
    if statements.iter().all(|s| {
        s.kind_id() == k.pass_statement
            || (s.kind_id() == k.expression_statement
                && named_children(*s)
                    .first()
                    .is_some_and(|e| e.kind_id() == k.ellipsis))
    }) {
        return;
    }
    // A comment after the colon explains the catch-all.
    let body_start = crate::lang::children(clause)
        .into_iter()
        .find(|c| !c.is_named() && cx.text(*c) == ":")
        .map_or(block.start_byte(), |c| c.end_byte());
    if has_comment(clause, |n| {
        n.kind_id() == k.comment && n.start_byte() >= body_start
    }) {
        return;
    }
    let nested = |n: Node<'_>| {
        let id = n.kind_id();
        id == k.function_definition || id == k.class_definition || id == k.lambda
    };
    let handled = find_in(block, nested, |n| {
        let id = n.kind_id();
        if id == k.raise_statement {
            return true;
        }
        if id == k.call {
            return cx
                .lang
                .call(n, cx.src)
                .is_some_and(|c| REPORTING.contains(&c.name));
        }
        false
    });
    // The exception object handed on, even to a callback that runs later.
    let used = bound.is_some_and(|b| {
        find_in(
            block,
            |_| false,
            |n| n.kind_id() == k.identifier && cx.text(n) == b,
        )
        .is_some()
    });
    if handled.is_none() && !used && !linter_allows(cx, broad, "", &["BLE001", "BLE", "W0718"]) {
        let name = cx.text(broad);
        cx.report(
            broad,
            format!("`except {name}` neither re-raises nor logs, so unexpected errors vanish; catch the specific exceptions you expect, or log/re-raise"),
        );
    }
}

fn check_java(clause: Node<'_>, cx: &mut Cx<'_, '_>) {
    let d = cx.dialect;
    let Some(param) = named_children(clause)
        .into_iter()
        .find(|n| n.kind_id() == kind!(d, "catch_formal_parameter"))
    else {
        return;
    };
    let bound = param.child_by_field_id(field_name(d)).map(|n| cx.text(n));
    if bound == Some("expected") {
        return;
    }
    let Some(types) = named_children(param)
        .into_iter()
        .find(|n| n.kind_id() == kind!(d, "catch_type"))
    else {
        return;
    };
    let Some(broad) = named_children(types).into_iter().find(|t| {
        let name = cx.text(*t);
        JAVA_BROAD.contains(&name.rsplit('.').next().unwrap_or(name))
    }) else {
        return;
    };
    let Some(body) = clause.child_by_field_id(crate::rules::helpers::field!(d, "body")) else {
        return;
    };
    // An empty block is empty-catch's (MNT010) to report.
    if named_children(body).is_empty() {
        return;
    }
    let comment = |n: Node<'_>| {
        n.kind_id() == kind!(d, "line_comment") || n.kind_id() == kind!(d, "block_comment")
    };
    if comment_in_braces(body, cx.src, comment) {
        return;
    }
    let nested = |n: Node<'_>| {
        let id = n.kind_id();
        id == kind!(d, "lambda_expression") || id == kind!(d, "class_body")
    };
    let handled = find_in(body, nested, |n| {
        let id = n.kind_id();
        if id == kind!(d, "throw_statement") {
            return true;
        }
        if id == kind!(d, "method_invocation") {
            return cx
                .lang
                .call(n, cx.src)
                .is_some_and(|c| REPORTING.contains(&c.name));
        }
        false
    });
    // The exception object handed on, even to a callback that runs later.
    let used = bound.is_some_and(|b| {
        find_in(
            body,
            |_| false,
            |n| n.kind_id() == kind!(d, "identifier") && cx.text(n) == b,
        )
        .is_some()
    });
    if handled.is_none() && !used {
        let name = cx.text(broad);
        cx.report(
            broad,
            format!("`catch ({name} ...)` neither rethrows nor logs, so unexpected errors vanish; catch the specific exceptions you expect, or log/rethrow"),
        );
    }
}

fn field_name(d: Dialect) -> u16 {
    crate::rules::helpers::field!(d, "name")
}
