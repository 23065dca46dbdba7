//! SEC008: YAML loaded with a loader that can build arbitrary Python objects.

use qa_core::Language;

use crate::lang::Call;
use crate::rules::helpers::{arg, kind};
use crate::rules::security::common::anchor;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC008",
    name: "yaml-unsafe-load",
    family: Security,
    severity: High,
    languages: &[Language::Python],
    title: "YAML is loaded with a loader that can construct arbitrary Python objects",
    applies_to_tests: false,
    docs: r#"## What it does
Finds PyYAML `yaml.load(...)` and `yaml.load_all(...)` called without a safe loader
(`Loader=yaml.SafeLoader`, `CSafeLoader` or `BaseLoader`, as keyword or second argument)
or with an unsafe one (`Loader`, `UnsafeLoader`, `FullLoader`, `CLoader`), and
`yaml.unsafe_load`/`yaml.unsafe_load_all`. A custom loader class is not reported.

## Why is this bad?
PyYAML's full and unsafe loaders honour tags such as `!!python/object/apply:os.system`,
which call arbitrary functions while the document is parsed: loading a YAML file or
request body someone else can write runs their code. (`yaml.load` without a loader used
the unsafe loader before PyYAML 5.1 and `FullLoader` until 6.0, which has had bypasses.)

## How to fix
Use `yaml.safe_load` / `yaml.safe_load_all`, or pass `Loader=yaml.SafeLoader`
(`yaml.CSafeLoader` for the C implementation). They build only plain data: dicts,
lists, strings, numbers, dates.

## Example
```python
config = yaml.load(stream)
```
Use instead:
```python
config = yaml.safe_load(stream)
```
"#,
}

pub(crate) struct YamlUnsafeLoad;

/// Loaders that only build plain data.
const SAFE: &[&str] = &["SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"];

/// Loaders that build arbitrary objects (or did until recently).
const UNSAFE: &[&str] = &[
    "Loader",
    "CLoader",
    "UnsafeLoader",
    "CUnsafeLoader",
    "FullLoader",
    "CFullLoader",
];

impl Rule for YamlUnsafeLoad {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if call.is(&["yaml.unsafe_load", "yaml.unsafe_load_all"]) {
            cx.report(
                anchor(call),
                format!(
                    "`{}` can construct arbitrary Python objects and run code; use yaml.safe_load",
                    call.callee
                ),
            );
            return;
        }
        if !call.is(&["yaml.load", "yaml.load_all"]) {
            return;
        }
        let loader = arg(call, 1, "Loader");
        let message = match loader {
            // `yaml.load(s, **options)`: the loader may be among the options.
            None if has_splat(cx, call) => return,
            None => format!(
                "`{}` without a loader can construct arbitrary Python objects; use yaml.safe_load or pass Loader=yaml.SafeLoader",
                call.callee
            ),
            Some(l) => {
                let text = cx.text(l);
                let last = text.rsplit('.').next().unwrap_or(text).trim();
                if SAFE.contains(&last) || !UNSAFE.contains(&last) {
                    return;
                }
                format!(
                    "`{}` with `{last}` can construct arbitrary Python objects; use Loader=yaml.SafeLoader (or yaml.safe_load)",
                    call.callee
                )
            }
        };
        cx.report(anchor(call), message);
    }
}

/// Whether the call passes `*args` or `**kwargs`, which may hold the loader.
fn has_splat(cx: &Cx<'_, '_>, call: &Call<'_>) -> bool {
    let Some(list) = call.node.child_by_field_name("arguments") else {
        return false;
    };
    let mut cursor = list.walk();
    list.named_children(&mut cursor).any(|a| {
        a.kind_id() == kind!(cx.dialect, "dictionary_splat")
            || a.kind_id() == kind!(cx.dialect, "list_splat")
    })
}
