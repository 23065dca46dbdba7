//! SEC016: temporary file names from `tempfile.mktemp`, `os.tempnam` or `os.tmpnam`.

use qa_core::Language;

use crate::lang::Call;
use crate::rules::security::common::{anchor, imported_from};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC016",
    name: "insecure-temp-file",
    family: Security,
    severity: Medium,
    languages: &[Language::Python],
    title: "Temporary file name is created without creating the file (race condition)",
    applies_to_tests: false,
    docs: r#"## What it does
Finds `tempfile.mktemp()` (also imported as `mktemp`), `os.tempnam()` and `os.tmpnam()`,
which return a name for a temporary file without creating the file.

## Why is this bad?
Between the moment the name is chosen and the moment the program opens it, another
process can create a file or a symbolic link with that name in the shared temporary
directory. The program then writes to a file the attacker controls or, through the
link, overwrites any file it can write (a classic time-of-check/time-of-use race).
`mktemp` has been deprecated since Python 2.3 for this reason.

## How to fix
Let the library create the file atomically and hand you the open file:
`tempfile.NamedTemporaryFile()`, `tempfile.mkstemp()` or `tempfile.TemporaryDirectory()`
(create files inside the private directory it makes).

## Example
```python
path = tempfile.mktemp(suffix=".json")
with open(path, "w") as f:
    json.dump(data, f)
```
Use instead:
```python
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(data, f)
```
"#,
}

pub(crate) struct InsecureTempFile;

impl Rule for InsecureTempFile {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let unsafe_call = call.is(&["tempfile.mktemp", "os.tempnam", "os.tmpnam"])
            || (call.callee == "mktemp" && imported_from(cx, "tempfile", "mktemp"));
        if unsafe_call {
            cx.report(
                anchor(call),
                format!(
                    "`{}` returns a name another process can create first; use tempfile.NamedTemporaryFile, mkstemp or TemporaryDirectory",
                    call.callee
                ),
            );
        }
    }
}
