//! PERF002: a regular expression compiled on every iteration of a loop.

use qa_core::Language;

use crate::lang::Call;
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "PERF002",
    name: "regex-compile-in-loop",
    family: Performance,
    severity: Low,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Go, Language::Java, Language::Rust],
    title: "Regular expression compiled inside a loop",
    applies_to_tests: false,
    docs: r#"## What it does
Finds regular expressions compiled inside a loop body (including callbacks passed to
`forEach`, `map` and similar): `re.compile` (Python), `new RegExp` (JavaScript,
TypeScript), `regexp.Compile`/`MustCompile` (Go), `Pattern.compile` (Java) and
`Regex::new` (Rust).

## Why is this bad?
Compiling a pattern costs far more than matching with it; in a loop the cost is paid on
every iteration. Python's `re` module caches a few hundred patterns, but Go, Java and Rust
do not cache at all.

## How to fix
Compile once, outside the loop (a module-level constant, a `static` with `LazyLock`, a
field), and reuse the compiled pattern.

## Example
```go
for _, line := range lines {
    re := regexp.MustCompile(`^\d+$`)
    if re.MatchString(line) { ... }
}
```
Use instead:
```go
var digits = regexp.MustCompile(`^\d+$`)

for _, line := range lines {
    if digits.MatchString(line) { ... }
}
```
"#,
}

pub(crate) struct RegexCompileInLoop;

/// `cache[key] = new RegExp(...)`, `self.patterns[name] = re.compile(...)`: one pattern per
/// key, compiled once and kept, which is the fix rather than the problem.
fn stored_for_reuse(cx: &Cx<'_, '_>) -> bool {
    let d = cx.dialect;
    cx.parent().is_some_and(|p| {
        let assignment = p.kind_id() == kind!(d, "assignment_expression")
            || p.kind_id() == kind!(d, "assignment")
            || p.kind_id() == kind!(d, "assignment_statement");
        let target = p.child_by_field_id(field!(d, "left")).map(|l| l.kind_id());
        assignment
            && target.is_some_and(|t| {
                t == kind!(d, "subscript_expression")
                    || t == kind!(d, "subscript")
                    || t == kind!(d, "member_expression")
                    || t == kind!(d, "attribute")
                    || t == kind!(d, "index_expression")
                    || t == kind!(d, "field_access")
                    || t == kind!(d, "array_access")
            })
    })
}

const COMPILERS: &[&str] = &[
    "re.compile",
    "regex.compile",
    "new RegExp",
    "RegExp",
    "regexp.Compile",
    "regexp.MustCompile",
    "regexp.CompilePOSIX",
    "regexp.MustCompilePOSIX",
    "Pattern.compile",
    "Regex::new",
    "regex::Regex::new",
    "RegexBuilder::new",
];

impl Rule for RegexCompileInLoop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if cx.in_loop() && call.is(COMPILERS) && !stored_for_reuse(cx) {
            cx.report(
                call.node,
                format!("`{}` compiles the pattern on every iteration; compile it once outside the loop", call.callee),
            );
        }
    }
}
