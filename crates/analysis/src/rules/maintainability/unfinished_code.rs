//! MNT024: `todo!()` and `unimplemented!()` left in Rust code.

use qa_core::Language;

use crate::lang::Call;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT024",
    name: "unfinished-code",
    family: Maintainability,
    severity: Medium,
    languages: &[Language::Rust],
    title: "`todo!()`/`unimplemented!()` panics when reached",
    applies_to_tests: false,
    docs: r#"## What it does
Finds `todo!()` and `unimplemented!()` macro invocations outside tests.

## Why is this bad?
Both macros compile to a panic: the code type-checks, so nothing stops it from shipping,
and the program crashes when the path is reached. They mark known unfinished work that is
easy to forget.

## How to fix
Implement the code path. If it genuinely cannot happen, use `unreachable!()` with a
message saying why; if it is unsupported, return an error the caller can handle.

## Example
```rust
fn parse(format: Format, input: &str) -> Result<Doc, Error> {
    match format {
        Format::Json => parse_json(input),
        Format::Yaml => todo!(),
    }
}
```
Use instead:
```rust
fn parse(format: Format, input: &str) -> Result<Doc, Error> {
    match format {
        Format::Json => parse_json(input),
        Format::Yaml => Err(Error::Unsupported("yaml")),
    }
}
```
"#,
}

pub(crate) struct UnfinishedCode;

impl Rule for UnfinishedCode {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if !call.callee.ends_with('!') || !matches!(call.name, "todo" | "unimplemented") {
            return;
        }
        let prefix = call.callee.trim_end_matches('!');
        let prefix = prefix.strip_suffix(call.name).unwrap_or(prefix);
        if !matches!(prefix, "" | "std::" | "core::" | "::std::" | "::core::") {
            return;
        }
        cx.report(
            call.node,
            format!("`{}!()` panics when this code runs; implement it, or return an error the caller can handle", call.name),
        );
    }
}
