//! SEC002: a shell command built from data and run with `shell=True`.

use qa_core::Language;

use crate::lang::Call;
use crate::rules::helpers::{arg, is_dynamic, text_is};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC002",
    name: "subprocess-shell-true",
    family: Security,
    severity: High,
    languages: &[Language::Python],
    title: "Command built at run time is run through the shell (shell=True)",
    applies_to_tests: false,
    docs: r#"## What it does
Finds `subprocess` calls (`run`, `call`, `check_call`, `check_output`, `Popen`) and
`asyncio.create_subprocess_shell` whose command is not a fixed string and which run it
through a shell (`shell=True`).

## Why is this bad?
The shell interprets the whole string: quotes, `;`, `&&`, `$(...)` and backticks in any
value that reaches the command run as extra commands. A file name such as
`x; rm -rf ~` is enough. Commands that are constant strings are not reported.

## How to fix
Pass the program and its arguments as a list and drop `shell=True`; no shell is involved
and each argument reaches the program verbatim. If you really need shell features, quote
every interpolated value with `shlex.quote`.

## Example
```python
subprocess.run(f"convert {name} out.png", shell=True)
```
Use instead:
```python
subprocess.run(["convert", name, "out.png"], check=True)
```
"#,
}

pub(crate) struct SubprocessShellTrue;

const SUBPROCESS: &[&str] = &[
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
];

impl Rule for SubprocessShellTrue {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if call.is(&["asyncio.create_subprocess_shell"]) {
            if let Some(cmd) = arg(call, 0, "cmd").filter(|c| is_dynamic(cx, *c)) {
                cx.report(cmd, "shell command built at run time; pass an argument list to asyncio.create_subprocess_exec instead");
            }
            return;
        }
        if !call.is(SUBPROCESS) {
            return;
        }
        let shell = call.keyword("shell");
        if shell.is_none_or(|s| text_is(cx, s, &["False", "None", "0"])) {
            return;
        }
        if let Some(cmd) = arg(call, 0, "args").filter(|c| is_dynamic(cx, *c)) {
            cx.report(
                cmd,
                format!(
                    "`{}` runs a command built at run time through the shell; pass a list of arguments without shell=True",
                    call.callee
                ),
            );
        }
    }
}
