//! MNT020: `return` (or `break`/`continue`) that leaves a `finally` block.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{kind_ids, linter_allows};
use crate::lang::{Dialect, named_children};
use crate::rules::helpers::kind;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT020",
    name: "return-in-finally",
    family: Maintainability,
    severity: High,
    languages: &[
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Java,
    ],
    title: "`return`, `break` or `continue` in `finally` swallows exceptions",
    applies_to_tests: true,
    docs: r#"## What it does
Finds `return` statements inside a `finally` block, and `break`/`continue` that jump out
of it (not those of a loop nested inside the `finally`). Code in nested functions,
lambdas and classes is not affected and not reported.

Lines where ESLint's `no-unsafe-finally` is disabled, or marked `# noqa: B012`, are skipped.

## Why is this bad?
Leaving a `finally` block with a jump discards whatever was in flight: an exception
raised in the `try` or `except` block disappears without a trace, and a `return` value
from the `try` is replaced. Python 3.14 warns about it (PEP 765), `javac -Xlint:finally`
warns, and ESLint's `no-unsafe-finally` reports it.

## How to fix
Move the `return` after the `try` statement, and keep only clean-up code in `finally`.

## Example
```python
def read(path):
    f = open(path)
    try:
        return f.read()
    finally:
        f.close()
        return ""
```
Use instead:
```python
def read(path):
    with open(path) as f:
        return f.read()
```
"#,
}

pub(crate) struct ReturnInFinally;

impl Rule for ReturnInFinally {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python
            | Dialect::JavaScript
            | Dialect::TypeScript
            | Dialect::Tsx
            | Dialect::Java => kind_ids(dialect, &["finally_clause"]),
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let mut found = Vec::new();
        for child in named_children(node) {
            collect(child, false, false, cx, &mut found);
        }
        for jump in found {
            if linter_allows(cx, jump, "no-unsafe-finally", &["B012", "PLW0150"]) {
                continue;
            }
            let word = jump.child(0).map_or("return", |t| cx.text(t));
            cx.report(
                jump,
                format!("`{word}` inside `finally` discards any exception in flight (and any earlier return value); move it after the try statement"),
            );
        }
    }
}

/// Jumps under `n` that leave the `finally` block. `in_loop`/`in_switch`: a loop or
/// `switch` between the `finally` and `n` catches `break`/`continue`.
fn collect<'t>(
    n: Node<'t>,
    in_loop: bool,
    in_switch: bool,
    cx: &Cx<'_, '_>,
    out: &mut Vec<Node<'t>>,
) {
    let mut stack = vec![(n, in_loop, in_switch)];
    while let Some((n, in_loop, in_switch)) = stack.pop() {
        let d = cx.dialect;
        let id = n.kind_id();
        if is_nested_scope(id, d) {
            continue;
        }
        if id == kind!(d, "return_statement") {
            out.push(n);
            continue;
        }
        let labeled = || {
            named_children(n).iter().any(|c| {
                let cid = c.kind_id();
                cid == kind!(d, "statement_identifier") || cid == kind!(d, "identifier")
            })
        };
        if id == kind!(d, "break_statement") && !in_loop && !in_switch && !labeled() {
            out.push(n);
            continue;
        }
        if id == kind!(d, "continue_statement") && !in_loop && !labeled() {
            out.push(n);
            continue;
        }
        let loop_here = is_loop(id, d);
        let switch_here = id == kind!(d, "switch_statement")
            || id == kind!(d, "switch_expression")
            || id == kind!(d, "switch_block");
        let mut kids = named_children(n);
        kids.reverse();
        for k in kids {
            stack.push((k, in_loop || loop_here, in_switch || switch_here));
        }
    }
    out.sort_by_key(|n| n.start_byte());
}

fn is_loop(id: u16, d: Dialect) -> bool {
    id == kind!(d, "for_statement")
        || id == kind!(d, "while_statement")
        || id == kind!(d, "do_statement")
        || id == kind!(d, "for_in_statement")
        || id == kind!(d, "enhanced_for_statement")
}

fn is_nested_scope(id: u16, d: Dialect) -> bool {
    id == kind!(d, "function_definition")
        || id == kind!(d, "class_definition")
        || id == kind!(d, "lambda")
        || id == kind!(d, "function_declaration")
        || id == kind!(d, "function_expression")
        || id == kind!(d, "generator_function_declaration")
        || id == kind!(d, "generator_function")
        || id == kind!(d, "arrow_function")
        || id == kind!(d, "method_definition")
        || id == kind!(d, "class_declaration")
        || id == kind!(d, "class")
        || id == kind!(d, "class_body")
        || id == kind!(d, "lambda_expression")
}
