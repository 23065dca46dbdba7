//! SEC006: Java `Runtime.exec` with a command string built at run time, or a
//! `ProcessBuilder` running `sh -c` with such a command.

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::Call;
use crate::rules::helpers::{is_built_string, kind};
use crate::rules::security::common::{as_call, declared_type, is_identifier, shell_command_arg};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC006",
    name: "java-runtime-exec",
    family: Security,
    severity: High,
    languages: &[Language::Java],
    title: "Command built at run time is run with Runtime.exec or a shell ProcessBuilder",
    applies_to_tests: false,
    docs: r#"## What it does
Finds `Runtime.getRuntime().exec(cmd)` (or `exec` on a `Runtime` variable) where `cmd` is a
string built by concatenation or formatting, or a `String` variable; and
`new ProcessBuilder("sh", "-c", cmd)`, `Runtime.exec(new String[]{"sh", "-c", cmd})` and
`processBuilder.command("bash", "-c", cmd)` (also `cmd /c`) where `cmd` is not a fixed
string. Commands passed as a `String[]` or `List` variable are not reported.

## Why is this bad?
`exec(String)` splits the command on whitespace itself, so a value with spaces becomes
several arguments and can add options the program honours (`--output=/etc/...`); with
`sh -c` or `cmd /c` the value is parsed by a shell and `;`, `&&`, `|` and `$(...)` run
extra commands.

## How to fix
Pass the program and each argument as separate elements:
`new ProcessBuilder("convert", input, output)`. Do not wrap the command in a shell; if you
must, pass values as positional parameters (`sh -c 'grep "$1"' sh value`).

## Example
```java
Runtime.getRuntime().exec("convert " + input + " " + output);
```
Use instead:
```java
new ProcessBuilder("convert", input, output).start();
```
"#,
}

pub(crate) struct JavaRuntimeExec;

impl Rule for JavaRuntimeExec {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if call.name == "exec" && is_runtime(cx, call) {
            check_runtime_exec(call, cx);
        } else if call.callee == "new ProcessBuilder"
            || call.callee == "new java.lang.ProcessBuilder"
        {
            check_shell_args(call, cx, "new ProcessBuilder");
        } else if call.name == "command" && is_process_builder(cx, call) {
            check_shell_args(call, cx, "ProcessBuilder.command");
        }
    }
}

fn check_runtime_exec(call: &Call<'_>, cx: &mut Cx<'_, '_>) {
    let Some(cmd) = call.positional(0) else {
        return;
    };
    if cmd.kind_id() == kind!(cx.dialect, "array_creation_expression") {
        if let Some(init) = cmd.child_by_field_name("value") {
            let elems = named(init);
            if let Some(part) = shell_command_arg(cx, &elems) {
                cx.report(part, "`Runtime.exec` runs `sh -c` with a command built at run time; run the program directly with each value as a separate argument");
            }
        }
        return;
    }
    let plain_string_var = is_identifier(cx, cmd)
        && declared_type(cx, cmd, cx.text(cmd)).is_some_and(|t| t == "String");
    if is_built_string(cx, cmd) || plain_string_var {
        cx.report(
            cmd,
            "`Runtime.exec(String)` splits a command built at run time on spaces; pass the program and its arguments as separate elements to ProcessBuilder",
        );
    }
}

fn check_shell_args(call: &Call<'_>, cx: &mut Cx<'_, '_>, what: &str) {
    let mut args: Vec<Node> = call.args.iter().map(|a| a.value).collect();
    // `new ProcessBuilder(Arrays.asList("sh", "-c", cmd))`, `List.of(...)`.
    if let [only] = args.as_slice()
        && let Some(inner) = as_call(cx, *only)
        && inner.is(&["Arrays.asList", "List.of", "java.util.Arrays.asList"])
    {
        args = inner.args.iter().map(|a| a.value).collect();
    }
    if let Some(part) = shell_command_arg(cx, &args) {
        cx.report(
            part,
            format!("`{what}` runs a shell with a command built at run time; run the program directly with each value as a separate argument"),
        );
    }
}

fn named(n: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor)
        .filter(|c| !c.is_extra())
        .collect()
}

/// `Runtime.getRuntime().exec`, or `exec` on a variable or field declared `Runtime`.
fn is_runtime(cx: &Cx<'_, '_>, call: &Call<'_>) -> bool {
    let Some(recv) = call.receiver() else {
        return false;
    };
    if recv.ends_with("getRuntime()") {
        return true;
    }
    let recv = recv.strip_prefix("this.").unwrap_or(recv);
    recv.chars().all(|c| c.is_alphanumeric() || c == '_')
        && declared_type(cx, call.node, recv).is_some_and(|t| t == "Runtime")
}

fn is_process_builder(cx: &Cx<'_, '_>, call: &Call<'_>) -> bool {
    let Some(recv) = call.receiver() else {
        return false;
    };
    if recv.starts_with("new ProcessBuilder(") {
        return true;
    }
    let recv = recv.strip_prefix("this.").unwrap_or(recv);
    recv.chars().all(|c| c.is_alphanumeric() || c == '_')
        && declared_type(cx, call.node, recv).is_some_and(|t| t == "ProcessBuilder")
}
