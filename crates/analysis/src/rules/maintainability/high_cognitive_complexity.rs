//! MNT002: a function whose control flow is hard to follow (cognitive complexity).

use tree_sitter::Node;

use super::common::report_function;
use crate::model::FunctionInfo;
use crate::rules::{ALL_LANGUAGES, Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT002",
    name: "high-cognitive-complexity",
    family: Maintainability,
    severity: Medium,
    languages: ALL_LANGUAGES,
    title: "Function is hard to understand (cognitive complexity)",
    applies_to_tests: false,
    docs: r#"## What it does
Reports functions whose cognitive complexity is above `thresholds.cognitive` in
`qa-agent.toml` (default 15, SonarQube's default). The score follows SonarSource's
definition (complexipy's for Python; see `docs/metrics.md`): every `if`, loop, `catch`,
`switch`, ternary and sequence of mixed boolean operators adds one, plus one more for
each level of nesting it sits in; recursion and jumps to labels add one.

## Why is this bad?
Unlike cyclomatic complexity, which counts paths, cognitive complexity measures how hard
the code is to read: deeply nested branches cost more than a flat list of cases. Code
that is hard to read is where bugs hide and where changes go wrong.

## How to fix
Flatten the function: return early instead of nesting (`if not ok: return`), extract
nested loops and branches into well-named helpers, and replace flags that steer later
code with separate functions.

## Example
```python
def total(orders):
    result = 0
    for order in orders:
        if order.paid:
            for item in order.items:
                if item.taxable:
                    if item.price > 0:
                        result += item.price * 1.2
    return result
```
Use instead:
```python
def item_total(item):
    return item.price * 1.2 if item.taxable and item.price > 0 else 0

def total(orders):
    return sum(item_total(i) for o in orders if o.paid for i in o.items)
```
"#,
}

pub(crate) struct HighCognitiveComplexity;

impl Rule for HighCognitiveComplexity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::FUNCTION
    }

    fn on_function(&self, f: &FunctionInfo, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let limit = cx.thresholds.cognitive;
        // A nested function counted in its enclosing function is reported there.
        if f.cognitive > limit && !f.cognitive_in_parent {
            let msg = format!(
                "`{}` has cognitive complexity {} (limit {limit}); flatten nested branches and extract helpers",
                f.qualified_name, f.cognitive
            );
            report_function(cx, node, f, msg);
        }
    }
}
