//! PERF002: a regular expression compiled on every iteration of a loop.

use qa_core::Language;

use super::common::{loop_names, loops, mentions};
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

/// Whether the pattern may differ from one iteration to the next, so it cannot be compiled
/// once before the loop: it is not a constant and it names a loop variable, a callback's
/// parameter, or a variable assigned in the loop (`new RegExp(escape(word))` for each
/// word).
fn varies_per_iteration(cx: &Cx<'_, '_>, call: &Call<'_>) -> bool {
    let Some(pattern) = call.positional(0) else {
        return false;
    };
    if cx.value(pattern).is_literal() || cx.is_literal_name(cx.text(pattern)) {
        return false;
    }
    let code = cx.text(pattern);
    let loops = loops(cx, call.node);
    let Some(inner) = loops.last() else {
        return false;
    };
    let names = loops.iter().flat_map(|l| {
        let mut names = loop_names(cx, l);
        // A callback's parameters are its loop variables.
        if l.call.is_some() {
            names.extend(callback_params(cx, l.node));
        }
        names
    });
    if names.into_iter().any(|n| mentions(code, n)) {
        return true;
    }
    // Names assigned in the loop before the call.
    let before = cx
        .src
        .get(inner.node.start_byte()..call.node.start_byte())
        .unwrap_or("");
    code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        .any(|w| assigns(before, w))
}

/// Whether `code` assigns or declares `name` (`name =`, `name :=`, `name +=`,
/// `let name`, `const name`, `var name`).
fn assigns(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(i, _)| {
        let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
        let pre = &code[..i];
        let post = &code[i + name.len()..];
        if pre.chars().next_back().is_some_and(ident) || post.chars().next().is_some_and(ident) {
            return false;
        }
        let post = post.trim_start();
        let declared = ["let", "const", "var", "mut"]
            .iter()
            .any(|kw| pre.trim_end().ends_with(kw));
        declared
            || post.starts_with(":=")
            || post.starts_with("+=")
            || (post.starts_with('=') && !post.starts_with("=="))
    })
}

/// Parameter names of a callback literal (`(word, i) => ...`, `func(w string) {...}`).
fn callback_params<'t>(cx: &Cx<'_, 't>, callback: tree_sitter::Node<'_>) -> Vec<&'t str> {
    let d = cx.dialect;
    let params = callback
        .child_by_field_id(field!(d, "parameters"))
        .or_else(|| callback.child_by_field_id(field!(d, "parameter")));
    let Some(params) = params else {
        return Vec::new();
    };
    let text = cx.text(params);
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        .collect()
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
        if cx.in_loop()
            && call.is(COMPILERS)
            && !stored_for_reuse(cx)
            && !varies_per_iteration(cx, call)
        {
            cx.report(
                call.node,
                format!("`{}` compiles the pattern on every iteration; compile it once outside the loop", call.callee),
            );
        }
    }
}
