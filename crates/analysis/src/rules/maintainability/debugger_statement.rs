//! MNT013: debugger breakpoints left in the code.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{kind_ids, linter_allows};
use crate::lang::{Call, Dialect};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT013",
    name: "debugger-statement",
    family: Maintainability,
    severity: Medium,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript],
    title: "Debugger breakpoint left in the code",
    applies_to_tests: true,
    docs: r#"## What it does
Finds breakpoints: JavaScript and TypeScript `debugger;` statements, and Python
`breakpoint()`, `pdb.set_trace()` (also `ipdb`, `pudb`, `pdbpp`, `celery.contrib.rdb`
and `IPython.embed()`), including `set_trace()` imported with `from pdb import
set_trace`.

Lines where ESLint's `no-debugger` is disabled, or marked `# noqa: T100`, are skipped.

## Why is this bad?
A forgotten breakpoint stops the program and waits for a debugger or for input on a
terminal that is not there: a server request hangs, a CI job times out, a batch job
stalls. In browsers with developer tools open, `debugger` pauses the page for users.

## How to fix
Remove it before committing. Use logging for information you want to keep.

## Example
```python
def total(items):
    import pdb; pdb.set_trace()
    return sum(i.price for i in items)
```
Use instead:
```python
def total(items):
    return sum(i.price for i in items)
```
"#,
}

pub(crate) struct DebuggerStatement;

/// Python modules whose `set_trace()` starts an interactive debugger.
const DEBUGGERS: &[&str] = &[
    "pdb",
    "ipdb",
    "pudb",
    "pdbpp",
    "rdb",
    "celery.contrib.rdb",
    "web_pdb",
    "remote_pdb",
    "forked_pdb",
];

fn python_breakpoint(call: &Call<'_>, cx: &Cx<'_, '_>) -> bool {
    if call.is(&[
        "breakpoint",
        "builtins.breakpoint",
        "IPython.embed",
        "embed",
    ]) {
        // A bare `embed()` only if it came from IPython.
        return call.callee != "embed" || cx.imports("IPython");
    }
    if call.name != "set_trace" {
        return false;
    }
    match call.receiver() {
        Some(r) => {
            DEBUGGERS.contains(&r)
                || r.ends_with("__import__('pdb')")
                || r.ends_with("__import__(\"pdb\")")
        }
        // `from pdb import set_trace; set_trace()`
        None => DEBUGGERS.iter().any(|m| cx.imports(m)),
    }
}

impl Rule for DebuggerStatement {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL.and(Hooks::NODE)
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
                kind_ids(dialect, &["debugger_statement"])
            }
            _ => Vec::new(),
        }
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if cx.dialect == Dialect::Python
            && python_breakpoint(call, cx)
            && !linter_allows(cx, call.node, "", &["T100"])
        {
            cx.report(
                call.node,
                format!(
                    "`{}()` stops the program in a debugger; remove it before committing",
                    call.callee
                ),
            );
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        if linter_allows(cx, node, "no-debugger", &[]) {
            return;
        }
        cx.report(node, "`debugger` statement pauses execution when developer tools are open; remove it before committing");
    }
}
