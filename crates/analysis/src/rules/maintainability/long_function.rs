//! MNT003: a function with too many lines of code.

use tree_sitter::Node;

use super::common::report_function;
use crate::model::FunctionInfo;
use crate::rules::{ALL_LANGUAGES, Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT003",
    name: "long-function",
    family: Maintainability,
    severity: Low,
    languages: ALL_LANGUAGES,
    title: "Function is too long",
    applies_to_tests: false,
    docs: r#"## What it does
Reports functions with more lines of code than `thresholds.function_nloc` in
`qa-agent.toml` (default 80). Only lines holding code count: blank lines and comments do
not.

## Why is this bad?
A long function usually does several things. It is hard to name, hard to test in parts
and hard to review, and its local variables live long enough to be misused far from
where they were set.

## How to fix
Split it along the steps it performs: each step becomes a function whose name says what
it does, and the original reads as a short sequence of calls.

## Example
```python
def import_users(path):
    # 40 lines that parse the file
    # 30 lines that validate rows
    # 30 lines that write to the database
    ...
```
Use instead:
```python
def import_users(path):
    rows = parse_users(path)
    valid = [r for r in rows if is_valid_user(r)]
    save_users(valid)
```
"#,
}

pub(crate) struct LongFunction;

impl Rule for LongFunction {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::FUNCTION
    }

    fn on_function(&self, f: &FunctionInfo, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let limit = cx.thresholds.function_nloc;
        if f.nloc > limit {
            let msg = format!(
                "`{}` has {} lines of code (limit {limit}); split it into smaller functions",
                f.qualified_name, f.nloc
            );
            report_function(cx, node, f, msg);
        }
    }
}
