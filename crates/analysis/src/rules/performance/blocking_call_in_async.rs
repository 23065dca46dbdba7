//! PERF007: a blocking call (sleep, synchronous IO or HTTP, subprocess) in an async function.

use qa_core::Language;
use tree_sitter::Node;

use super::common::is_awaited;
use crate::lang::{Call, Dialect, Role};
use crate::rules::helpers::kind;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "PERF007",
    name: "blocking-call-in-async",
    family: Performance,
    severity: Medium,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Rust],
    title: "Blocking call inside an async function stalls the event loop",
    applies_to_tests: false,
    docs: r#"## What it does
Finds calls that block the thread, made directly in an `async` function:

- Python: `time.sleep`, `requests.*`, `httpx.get/post/...`, `urllib.request.urlopen`,
  `subprocess.run/call/check_call/check_output`, `os.system`.
- JavaScript, TypeScript: the synchronous `fs` functions (`readFileSync`,
  `writeFileSync`, `existsSync`, `readdirSync`, `statSync`, `mkdirSync`, ...) and
  `child_process.execSync/execFileSync/spawnSync`.
- Rust: `std::thread::sleep`, `std::fs` functions and `std::fs::File::open/create`,
  `reqwest::blocking`.

Calls inside a nested non-async function or lambda, inside closures handed to
`spawn_blocking`/`block_in_place`/`thread::spawn`, and awaited calls (which are the async
versions) are not reported.

## Why is this bad?
An async runtime runs many tasks on one thread (Python's asyncio, Node's event loop) or a
few worker threads (Tokio). A blocking call holds the thread until it returns, so every
other task, request and timer waits too: one `time.sleep(1)` freezes a whole server for a
second, and latency spikes that are hard to trace follow.

## How to fix
Use the async equivalent and `await` it: `asyncio.sleep`, httpx.AsyncClient or aiohttp,
`asyncio.create_subprocess_exec`, `fs.promises` (`await fs.promises.readFile(...)`),
`util.promisify(child_process.execFile)`, `tokio::time::sleep`, `tokio::fs`, reqwest's
async client. When no async version exists, move the call to a thread:
`asyncio.to_thread(...)`/`loop.run_in_executor(...)` or `tokio::task::spawn_blocking`.

## Example
```python
async def refresh(client):
    while True:
        await client.refresh()
        time.sleep(30)
```
Use instead:
```python
async def refresh(client):
    while True:
        await client.refresh()
        await asyncio.sleep(30)
```
"#,
}

pub(crate) struct BlockingCallInAsync;

const FS_SYNC: &[&str] = &[
    "readFileSync",
    "writeFileSync",
    "appendFileSync",
    "existsSync",
    "readdirSync",
    "statSync",
    "lstatSync",
    "fstatSync",
    "mkdirSync",
    "mkdtempSync",
    "rmSync",
    "rmdirSync",
    "unlinkSync",
    "copyFileSync",
    "cpSync",
    "renameSync",
    "accessSync",
    "openSync",
    "closeSync",
    "readSync",
    "writeSync",
    "realpathSync",
    "readlinkSync",
    "symlinkSync",
    "chmodSync",
    "chownSync",
    "truncateSync",
    "utimesSync",
    "opendirSync",
];
const CHILD_SYNC: &[&str] = &["execSync", "execFileSync", "spawnSync"];

impl Rule for BlockingCallInAsync {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        if !cx.in_async_function() || is_awaited(cx, call.node) || deferred(cx, call.node) {
            return;
        }
        let Some(fix) = blocking(call, cx) else {
            return;
        };
        cx.report(
            call.node,
            format!(
                "`{}` blocks the thread, stalling every other task of this async runtime; {fix}",
                call.callee
            ),
        );
    }
}

/// The async replacement for a blocking call, if `call` is one.
fn blocking(call: &Call<'_>, cx: &Cx<'_, '_>) -> Option<&'static str> {
    let callee = call.callee.as_str();
    match cx.dialect {
        Dialect::Python => {
            if callee == "time.sleep"
                || (callee == "sleep"
                    && cx.imports("time")
                    && !cx.imports("asyncio")
                    && !cx.imports("trio"))
            {
                return Some("use `await asyncio.sleep(...)`");
            }
            let http_method = matches!(
                call.name,
                "get" | "post" | "put" | "patch" | "delete" | "head" | "options" | "request"
            );
            if (callee.starts_with("requests.") || callee.starts_with("httpx.")) && http_method
                || matches!(callee, "urllib.request.urlopen" | "request.urlopen")
                || (callee == "urlopen" && cx.imports("urllib"))
            {
                return Some(
                    "use an async client (`httpx.AsyncClient`, aiohttp) or `await asyncio.to_thread(...)`",
                );
            }
            if matches!(
                callee,
                "subprocess.run"
                    | "subprocess.call"
                    | "subprocess.check_call"
                    | "subprocess.check_output"
                    | "os.system"
            ) {
                return Some(
                    "use `await asyncio.create_subprocess_exec(...)` or `await asyncio.to_thread(...)`",
                );
            }
            None
        }
        Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
            let receiver = call.receiver().unwrap_or("");
            let fs_receiver =
                matches!(receiver, "fs" | "fse" | "fsExtra" | "nodeFs" | "gracefulFs");
            let fs_imported =
                cx.imports("fs") || cx.imports("fs-extra") || cx.imports("graceful-fs");
            if FS_SYNC.contains(&call.name) && (fs_receiver || (receiver.is_empty() && fs_imported))
            {
                return Some("use the `fs.promises` version and `await` it");
            }
            let cp_receiver = matches!(receiver, "child_process" | "childProcess" | "cp");
            if CHILD_SYNC.contains(&call.name)
                && (cp_receiver || (receiver.is_empty() && cx.imports("child_process")))
            {
                return Some(
                    "use the asynchronous `execFile`/`spawn` (e.g. `util.promisify(execFile)`) and `await` it",
                );
            }
            None
        }
        Dialect::Rust => {
            let std_fs = cx
                .imports
                .iter()
                .any(|i| i.starts_with("std::fs") || (i.starts_with("std::{") && i.contains("fs")));
            let std_thread = cx.imports.iter().any(|i| {
                i.starts_with("std::thread") || (i.starts_with("std::{") && i.contains("thread"))
            });
            if callee == "std::thread::sleep"
                || (callee == "thread::sleep" && std_thread)
                || (callee == "sleep" && cx.imports.iter().any(|i| i == "std::thread::sleep"))
            {
                return Some("use `tokio::time::sleep(...).await`");
            }
            // IO functions, not builders such as `std::fs::DirBuilder::new`.
            let io = matches!(
                call.name,
                "read"
                    | "read_to_string"
                    | "write"
                    | "read_dir"
                    | "create_dir"
                    | "create_dir_all"
                    | "remove_file"
                    | "remove_dir"
                    | "remove_dir_all"
                    | "copy"
                    | "rename"
                    | "metadata"
                    | "symlink_metadata"
                    | "canonicalize"
                    | "hard_link"
                    | "read_link"
                    | "set_permissions"
            );
            let file = callee.ends_with("File::open") || callee.ends_with("File::create");
            let fs_call = (callee.starts_with("std::fs::") && (io || file))
                || (std_fs
                    && ((callee.starts_with("fs::") && io)
                        || callee == "File::open"
                        || callee == "File::create"));
            if fs_call {
                return Some("use `tokio::fs` (or move the work into `spawn_blocking`)");
            }
            if callee.starts_with("reqwest::blocking::") {
                return Some("use reqwest's async client and `.await` it");
            }
            None
        }
        _ => None,
    }
}

/// Whether `node` runs later or elsewhere: in a Python lambda, or in a Rust closure handed
/// to `spawn_blocking`, `block_in_place` or a thread.
fn deferred(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    let d = cx.dialect;
    let mut cur = node;
    while let Some(p) = cx.parent_of(cur) {
        if cx.lang.role(p) == Role::Function {
            return false;
        }
        if d == Dialect::Python && p.kind_id() == kind!(d, "lambda") {
            return true;
        }
        if d == Dialect::Rust
            && p.kind_id() == kind!(d, "closure_expression")
            && let Some(call) = cx
                .parent_of(p)
                .and_then(|args| cx.parent_of(args))
                .and_then(|c| cx.lang.call(c, cx.src))
            && matches!(
                call.name,
                "spawn_blocking" | "block_in_place" | "spawn" | "unblock" | "asyncify"
            )
        {
            return true;
        }
        cur = p;
    }
    false
}
