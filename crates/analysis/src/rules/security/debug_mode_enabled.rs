//! SEC017: a web framework's debug mode switched on in code.

use qa_core::Language;

use crate::lang::{Assign, Call, Dialect};
use crate::rules::helpers::{kind, text_is};
use crate::rules::security::common::anchor;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC017",
    name: "debug-mode-enabled",
    family: Security,
    severity: Medium,
    languages: &[Language::Python, Language::Go],
    title: "Web framework debug mode is enabled in code",
    applies_to_tests: false,
    docs: r#"## What it does
Finds debug mode switched on in code that may run in production:

- Python: `app.run(debug=True)` (Flask and similar), `app.debug = True`,
  `app.config["DEBUG"] = True`, and `DEBUG = True` at module level of a Django settings
  file (`settings.py`, `settings_*.py`, `settings/*.py`);
- Go: `gin.SetMode(gin.DebugMode)`.

## Why is this bad?
Debug mode shows stack traces, source code, configuration and environment variables to
whoever triggers an error. Werkzeug's debugger (Flask `debug=True`) goes further: its
in-browser console runs arbitrary Python, so a debug server reachable from the network
is remote code execution.

## How to fix
Read the setting from the environment and default to off
(`DEBUG = os.environ.get("DJANGO_DEBUG") == "1"`, `flask --debug run` only on your
machine, `GIN_MODE=release`), and keep development settings in a separate file that
production never loads.

## Example
```python
if __name__ == "__main__":
    app.run(host="0.0.0.0", debug=True)
```
Use instead:
```python
if __name__ == "__main__":
    app.run(host="0.0.0.0", debug=os.environ.get("FLASK_DEBUG") == "1")
```
"#,
}

pub(crate) struct DebugModeEnabled;

const TRUE: &[&str] = &["True", "1"];

fn is_app(receiver: &str) -> bool {
    let last = receiver.rsplit('.').next().unwrap_or(receiver);
    last == "app" || last == "application" || last.ends_with("_app")
}

/// Django settings modules: `settings.py`, `settings_dev.py`, `settings/base.py`.
fn is_settings_file(cx: &Cx<'_, '_>) -> bool {
    let name = cx.file.file_name.as_str();
    name == "settings.py"
        || (name.starts_with("settings_") && name.ends_with(".py"))
        || cx.path.replace('\\', "/").contains("/settings/")
        || cx.path.starts_with("settings/")
}

impl Rule for DebugModeEnabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL.and(Hooks::ASSIGN)
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        match cx.dialect {
            Dialect::Python => {
                if call.name != "run" {
                    return;
                }
                let Some(debug) = call.keyword("debug").filter(|d| text_is(cx, *d, TRUE)) else {
                    return;
                };
                let receiver = call.receiver().unwrap_or("");
                let app = is_app(receiver)
                    || (cx.imports("flask")
                        && receiver.chars().all(|c| c.is_alphanumeric() || c == '_'));
                if app && !receiver.is_empty() {
                    cx.report(
                        debug,
                        format!("`{}(debug=True)` exposes the interactive debugger (remote code execution); read the flag from the environment, defaulting to off", call.callee),
                    );
                }
            }
            Dialect::Go
                if call.callee == "gin.SetMode"
                    && call
                        .positional(0)
                        .is_some_and(|m| text_is(cx, m, &["gin.DebugMode", "\"debug\""])) =>
            {
                cx.report(
                    anchor(call),
                    "gin debug mode is set in code; set GIN_MODE from the environment (release in production)",
                );
            }
            _ => {}
        }
    }

    fn on_assign(&self, a: &Assign<'_>, cx: &mut Cx<'_, '_>) {
        if cx.dialect != Dialect::Python || a.operator.is_some() {
            return;
        }
        let Some(value) = a.value.filter(|v| text_is(cx, *v, &["True"])) else {
            return;
        };
        let target: String = a.target.split_whitespace().collect();
        let message = if let Some(obj) = target.strip_suffix(".debug") {
            if !is_app(obj) {
                return;
            }
            format!(
                "`{target} = True` turns on the debugger and detailed error pages; read the flag from the environment, defaulting to off"
            )
        } else if target.ends_with("config[\"DEBUG\"]") || target.ends_with("config['DEBUG']") {
            format!(
                "`{target} = True` turns on debug mode; read the flag from the environment, defaulting to off"
            )
        } else if target == "DEBUG"
            && cx.function.is_none()
            && is_settings_file(cx)
            && a.node.kind_id() == kind!(cx.dialect, "assignment")
        {
            // Only top-level statements: not `if ...: DEBUG = True` inside a function.
            "`DEBUG = True` in a settings module shows stack traces and settings to visitors; read it from the environment, defaulting to False".to_string()
        } else {
            return;
        };
        cx.report(value, message);
    }
}
