//! MNT005: control structures nested too deeply.

use tree_sitter::Node;

use super::common::report_function;
use crate::model::FunctionInfo;
use crate::rules::{ALL_LANGUAGES, Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT005",
    name: "deep-nesting",
    family: Maintainability,
    severity: Low,
    languages: ALL_LANGUAGES,
    title: "Control structures are nested too deeply",
    applies_to_tests: false,
    docs: r#"## What it does
Reports functions whose control structures (`if`, loops, `try`, `switch`/`match`,
`with`) nest deeper than `thresholds.nesting` in `qa-agent.toml` (default 4).

## Why is this bad?
Each level of nesting is a condition the reader has to keep in mind to understand the
innermost line. Deeply nested code is hard to follow and usually hides missing `else`
cases.

## How to fix
Return or `continue` early on the uninteresting cases (guard clauses), invert conditions
to un-indent the main path, and extract inner loops into functions.

## Example
```python
def process(items):
    for item in items:
        if item.ready:
            for part in item.parts:
                if part.valid:
                    if part.size > 0:
                        handle(part)
```
Use instead:
```python
def process(items):
    for item in items:
        if not item.ready:
            continue
        for part in item.parts:
            if part.valid and part.size > 0:
                handle(part)
```
"#,
}

pub(crate) struct DeepNesting;

impl Rule for DeepNesting {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::FUNCTION
    }

    fn on_function(&self, f: &FunctionInfo, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let limit = cx.thresholds.nesting;
        if f.max_nesting > limit {
            let msg = format!(
                "`{}` nests control structures {} deep (limit {limit}); use early returns or extract the inner blocks",
                f.qualified_name, f.max_nesting
            );
            report_function(cx, node, f, msg);
        }
    }
}
