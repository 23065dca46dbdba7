//! MNT023: `e.printStackTrace()` instead of logging.

use qa_core::Language;

use crate::lang::Call;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT023",
    name: "print-stack-trace",
    family: Maintainability,
    severity: Low,
    languages: &[Language::Java],
    title: "`printStackTrace()` writes to stderr instead of the log",
    applies_to_tests: false,
    docs: r#"## What it does
Finds calls of `printStackTrace()` without arguments, which print a throwable's stack
trace to the process's standard error. Calls that pass a `PrintStream` or `PrintWriter`
(to capture the trace in a string, for example) are fine, and so are calls inside an
override of `printStackTrace()` itself.

## Why is this bad?
Standard error bypasses the logging setup: the trace has no timestamp, level, thread or
request context, is not shipped to the log aggregator, and in a server is often lost or
interleaved with other output. It is usually a placeholder left from an IDE's generated
`catch` block.

## How to fix
Log the exception with your logging framework, passing the throwable as the last
argument so the stack trace is kept; or rethrow it if the caller should handle it.

## Example
```java
try {
    save(order);
} catch (IOException e) {
    e.printStackTrace();
}
```
Use instead:
```java
try {
    save(order);
} catch (IOException e) {
    log.error("could not save order {}", order.id(), e);
}
```
"#,
}

pub(crate) struct PrintStackTrace;

impl Rule for PrintStackTrace {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        // An override of `printStackTrace()` delegating to the wrapped throwables is how
        // stack traces get printed, not a stand-in for logging.
        let in_override = cx
            .function
            .is_some_and(|f| f.qualified_name.ends_with("printStackTrace"));
        if call.name == "printStackTrace" && call.args.is_empty() && !in_override {
            cx.report(
                call.node,
                "`printStackTrace()` writes to stderr, bypassing the logs; log the exception with a logger (or rethrow it)",
            );
        }
    }
}
