//! MNT004: a function that takes too many parameters.

use tree_sitter::Node;

use super::common::report_function;
use crate::lang::Dialect;
use crate::model::FunctionInfo;
use crate::rules::{ALL_LANGUAGES, Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT004",
    name: "too-many-parameters",
    family: Maintainability,
    severity: Low,
    languages: ALL_LANGUAGES,
    title: "Function takes too many parameters",
    applies_to_tests: false,
    docs: r#"## What it does
Reports functions with more parameters than `thresholds.parameters` in `qa-agent.toml`
(default 6). The receiver does not count (Python's `self`/`cls`, Rust's `self`,
TypeScript's `this: T`), nor do Python's `*args` and `**kwargs`.

## Why is this bad?
Every call site has to supply the arguments in the right order, and positional arguments
of the same type are easy to swap without any error. Many parameters also suggest the
function does several things, or that some of them always travel together.

## How to fix
Group parameters that belong together into an object (a dataclass, struct or options
object), make rarely used ones keyword-only with defaults, or split the function.

## Example
```python
def create_user(name, email, street, city, zip_code, country, admin):
    ...
```
Use instead:
```python
@dataclass
class Address:
    street: str
    city: str
    zip_code: str
    country: str

def create_user(name, email, address, *, admin=False):
    ...
```
"#,
}

pub(crate) struct TooManyParameters;

/// The parameters a caller has to pass, without receivers and variadic catch-alls.
fn counted(f: &FunctionInfo, dialect: Dialect) -> usize {
    f.parameters
        .iter()
        .enumerate()
        .filter(|(i, p)| match dialect {
            Dialect::Python => !(*i == 0 && (*p == "self" || *p == "cls")) && !p.starts_with('*'),
            Dialect::Rust => *p != "self",
            Dialect::TypeScript | Dialect::Tsx => *p != "this",
            _ => true,
        })
        .count()
}

impl Rule for TooManyParameters {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::FUNCTION
    }

    fn on_function(&self, f: &FunctionInfo, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let limit = cx.thresholds.parameters as usize;
        let n = counted(f, cx.dialect);
        if n > limit {
            let msg = format!(
                "`{}` takes {n} parameters (limit {limit}); group related ones into an object or split the function",
                f.qualified_name
            );
            report_function(cx, node, f, msg);
        }
    }
}
