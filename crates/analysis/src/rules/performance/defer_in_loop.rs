//! PERF008: `defer` inside a Go loop, which runs only when the function returns.

use qa_core::Language;
use tree_sitter::Node;

use super::common::loops;
use crate::lang::{Dialect, named_children};
use crate::rules::helpers::kind;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "PERF008",
    name: "defer-in-loop",
    family: Performance,
    severity: Medium,
    languages: &[Language::Go],
    title: "`defer` inside a loop runs only when the function returns",
    applies_to_tests: false,
    docs: r#"## What it does
Finds `defer` statements inside a `for` loop of the same function. A `defer` that is
followed, in the same block, by a `return` or a `break` out of the loop (a retry loop that
stops at the first success) is not reported, and neither is one in a function literal
called inside the loop.

## Why is this bad?
Deferred calls run when the surrounding *function* returns, not at the end of the
iteration. Each iteration adds one more pending call: files, rows, response bodies and
locks opened in the loop all stay open until the loop (and the rest of the function) is
done. With many iterations that exhausts file descriptors or database connections, holds
locks far too long, and grows memory.

## How to fix
Move the body of the loop into a function (a named helper or a function literal called
immediately) so that `defer` runs at the end of each iteration, or release the resource
explicitly at the end of the iteration.

## Example
```go
for _, name := range names {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	process(f)
}
```
Use instead:
```go
for _, name := range names {
	if err := processFile(name); err != nil {
		return err
	}
}

func processFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return process(f)
}
```
"#,
}

pub(crate) struct DeferInLoop;

impl Rule for DeferInLoop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, d: Dialect) -> Vec<u16> {
        match d {
            Dialect::Go => vec![kind!(d, "defer_statement")],
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let loops = loops(cx, node);
        let Some(inner) = loops.last() else {
            return;
        };
        if leaves_loop_after(cx, node, inner.node) {
            return;
        }
        let what = node
            .named_child(0)
            .map(|c| format!("`defer {}`", cx.text(c)))
            .unwrap_or_else(|| "`defer`".to_string());
        cx.report(
            node,
            format!("{what} runs only when the function returns, so every iteration's call piles up until then; move the loop body into a function or release the resource at the end of the iteration"),
        );
    }
}

/// Whether the statements after `defer` in its block end the function or the loop (so the
/// deferred call is registered at most once): `defer resp.Body.Close(); return ...` or
/// `break` in a retry loop.
fn leaves_loop_after(cx: &Cx<'_, '_>, defer: Node<'_>, loop_node: Node<'_>) -> bool {
    let d = cx.dialect;
    let Some(block) = cx.parent_of(defer) else {
        return false;
    };
    // A `break` inside a `switch` or `select` case leaves the case, not the loop.
    let mut in_case = false;
    let mut cur = block;
    while cur.id() != loop_node.id() {
        let id = cur.kind_id();
        if id == kind!(d, "expression_case")
            || id == kind!(d, "type_case")
            || id == kind!(d, "communication_case")
            || id == kind!(d, "default_case")
        {
            in_case = true;
        }
        match cx.parent_of(cur) {
            Some(p) => cur = p,
            None => break,
        }
    }
    named_children(block)
        .into_iter()
        .filter(|s| s.start_byte() > defer.end_byte())
        .any(|s| {
            let id = s.kind_id();
            id == kind!(d, "return_statement")
                || (id == kind!(d, "break_statement") && (!in_case || s.named_child_count() > 0))
                || (id == kind!(d, "goto_statement"))
                || (id == kind!(d, "expression_statement")
                    && matches!(
                        cx.text(s).split('(').next(),
                        Some("panic" | "os.Exit" | "log.Fatal" | "log.Fatalf")
                    ))
        })
}
