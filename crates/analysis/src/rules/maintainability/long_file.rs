//! MNT006: a source file with too many lines of code.

use super::common::line_span;
use crate::rules::{ALL_LANGUAGES, Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT006",
    name: "long-file",
    family: Maintainability,
    severity: Low,
    languages: ALL_LANGUAGES,
    title: "File has too many lines of code",
    applies_to_tests: false,
    docs: r#"## What it does
Reports files with more lines of code than `thresholds.file_nloc` in `qa-agent.toml`
(default 1000). Blank lines and comments do not count.

## Why is this bad?
A very long file usually holds several loosely related parts. It is hard to navigate,
attracts merge conflicts, and hides the structure of the code behind one name.

## How to fix
Split the file into modules by responsibility, and keep the original as a small facade
that re-exports the public names if callers depend on it.

## Example
```python
# utils.py: 2,400 lines of string helpers, date helpers, HTTP helpers...
```
Use instead:
```python
# utils/strings.py, utils/dates.py, utils/http.py
# utils/__init__.py re-exports what callers import
```
"#,
}

pub(crate) struct LongFile;

impl Rule for LongFile {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::FILE
    }

    fn on_file(&self, nloc: u32, cx: &mut Cx<'_, '_>) {
        let limit = cx.thresholds.file_nloc;
        if nloc > limit {
            let span = line_span(cx.src, 1);
            cx.report_span(
                span,
                format!("file has {nloc} lines of code (limit {limit}); split it into modules by responsibility"),
            );
        }
    }
}
