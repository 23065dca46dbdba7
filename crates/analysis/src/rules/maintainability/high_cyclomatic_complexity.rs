//! MNT001: a function with more independent paths than a reviewer can hold in mind.

use tree_sitter::Node;

use crate::model::FunctionInfo;
use crate::rules::{ALL_LANGUAGES, Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT001",
    name: "high-cyclomatic-complexity",
    family: Maintainability,
    severity: Medium,
    languages: ALL_LANGUAGES,
    title: "Function has too many independent paths (cyclomatic complexity)",
    applies_to_tests: false,
    docs: r#"## What it does
Reports functions whose cyclomatic complexity is above `thresholds.cyclomatic` in
`qa-agent.toml` (default 10, McCabe's own limit). Complexity is counted as radon does for
Python and lizard does for the other languages (see `docs/metrics.md`).

## Why is this bad?
Cyclomatic complexity is the number of independent paths through a function: the minimum
number of tests that exercise every branch. Past about ten, functions are harder to test
completely and defects concentrate in them.

## How to fix
Split the function: move each independent decision into a well-named helper, replace
long `if`/`elif` chains over a value with a lookup table or polymorphism, and return
early instead of nesting.

## Example
```python
def price(kind, qty, member):
    if kind == "a":
        ...
    elif kind == "b":
        ...
    # ...ten more branches
```
Use instead:
```python
PRICERS = {"a": price_a, "b": price_b}

def price(kind, qty, member):
    return PRICERS[kind](qty, member)
```
"#,
}

pub(crate) struct HighCyclomaticComplexity;

impl Rule for HighCyclomaticComplexity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::FUNCTION
    }

    fn on_function(&self, f: &FunctionInfo, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let limit = cx.thresholds.cyclomatic;
        if f.cyclomatic > limit {
            let span = crate::rules::cx::span_at_line(node, f.start_line, cx.src);
            cx.report_span(
                span,
                format!(
                    "`{}` has cyclomatic complexity {} (limit {limit}); split it into smaller functions",
                    f.qualified_name, f.cyclomatic
                ),
            );
        }
    }
}
