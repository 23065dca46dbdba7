//! SEC001: code built at run time is evaluated (`eval`, `exec`, `new Function`, string
//! timers).

use qa_core::Language;

use crate::lang::{Call, Dialect, ValueKind};
use crate::rules::helpers::is_dynamic;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC001",
    name: "code-injection-eval",
    family: Security,
    severity: High,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript],
    title: "Code built at run time is evaluated with eval, exec or new Function",
    applies_to_tests: false,
    docs: r#"## What it does
Finds code evaluated from a value that is not fixed in the source:

- Python: the builtins `eval(x)` and `exec(x)` when `x` is not a literal;
- JavaScript and TypeScript: `eval(x)` when `x` is not a literal, `new Function(...)` and
  `Function(...)` whose body (last argument) is not a literal, and `setTimeout`/
  `setInterval` given a string instead of a function.

Calls with literal code, methods that happen to be called `eval` (`model.eval()`) and
timers given a function are not reported; neither is Python's `exec(code, module.__dict__)`,
which is how import hooks and runners execute a module's own source in its namespace
(the module's code, not data).

## Why is this bad?
Whatever reaches the evaluated string runs with the full rights of the program. If any
part of it comes from a request, a file, a database or a message, an attacker who controls
that part can run arbitrary code (read secrets, call the shell, pivot to other systems).
Even with trusted input, evaluated code defeats linters, type checkers and bundlers, and a
Content Security Policy has to allow `unsafe-eval` for it to work.

## How to fix
Parse data with a parser instead of evaluating it (`json.loads`, `ast.literal_eval`,
`JSON.parse`, `Number(x)`); look operations up in a dictionary of allowed functions
instead of building their names; pass functions, not strings, to timers.

## Example
```python
def compute(expr):
    return eval(expr)
```
Use instead:
```python
import ast

def compute(expr):
    return ast.literal_eval(expr)
```
"#,
}

pub(crate) struct CodeInjectionEval;

impl Rule for CodeInjectionEval {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if cx.dialect == Dialect::Python {
            python(call, cx);
        } else {
            javascript(call, cx);
        }
    }
}

fn python(call: &Call<'_>, cx: &mut Cx<'_, '_>) {
    if !call.is(&["eval", "exec"]) {
        return;
    }
    let Some(code) = call.positional(0).or_else(|| call.keyword("source")) else {
        return;
    };
    // `exec(co, module.__dict__)`: a loader running a module's own code.
    let module_namespace = call.callee == "exec"
        && call
            .positional(1)
            .or_else(|| call.keyword("globals"))
            .is_some_and(|g| cx.text(g).ends_with(".__dict__"));
    if is_dynamic(cx, code) && !module_namespace {
        cx.report(
            code,
            format!(
                "`{}` runs code built at run time; parse the data instead (`ast.literal_eval`, `json.loads`) or dispatch through a dict of allowed functions",
                call.callee
            ),
        );
    }
}

fn javascript(call: &Call<'_>, cx: &mut Cx<'_, '_>) {
    let callee = call.callee.as_str();
    match callee {
        "eval" | "window.eval" | "globalThis.eval" => {
            if let Some(code) = call.positional(0).filter(|c| is_dynamic(cx, *c)) {
                cx.report(
                    code,
                    "`eval` runs code built at run time; parse data with `JSON.parse` or look functions up in an object of allowed handlers",
                );
            }
        }
        "Function" | "new Function" | "window.Function" | "new window.Function" => {
            if let Some(body) = call
                .args
                .last()
                .map(|a| a.value)
                .filter(|b| is_dynamic(cx, *b))
            {
                cx.report(
                    body,
                    format!(
                        "`{callee}(...)` compiles a function body built at run time; write the function in the source instead"
                    ),
                );
            }
        }
        "setTimeout"
        | "setInterval"
        | "window.setTimeout"
        | "window.setInterval"
        | "globalThis.setTimeout"
        | "globalThis.setInterval" => {
            if let Some(code) = call.positional(0)
                && matches!(
                    cx.value(code),
                    ValueKind::StaticString(_) | ValueKind::DynamicString
                )
            {
                cx.report(
                    code,
                    format!(
                        "`{}` with a string evaluates it like `eval`; pass a function instead",
                        call.name
                    ),
                );
            }
        }
        _ => {}
    }
}
