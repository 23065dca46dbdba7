//! Running `harness.mjs` in the sandbox and reading what it observed.

use std::collections::BTreeMap;
use std::time::Duration;

use qa_sandbox::{Command, Limits, Sandbox};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::project::JsModule;
use crate::GenerateError;

const HARNESS: &str = include_str!("harness.mjs");
const TS_HOOKS: &str = include_str!("ts-hooks.mjs");

/// One call for the harness: a function (by its path from the module namespace, e.g.
/// `["default"]`, `["parse"]`, `["default", "parse"]`) or a method on a new instance.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallSpec {
    pub id: u32,
    pub path: Vec<String>,
    pub args: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctor: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Methods called on the new instance first, to reach other states.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<SetupCall>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SetupCall {
    pub method: String,
    pub args: Vec<Value>,
}

impl CallSpec {
    /// `default`, `parse`, `Stack.push`: what the report calls the target.
    pub fn target(&self) -> String {
        let mut t = self.path.join(".");
        if let Some(m) = &self.method {
            t = format!("{t}.{m}");
        }
        t
    }

    pub fn size(&self) -> usize {
        let len = |v: &[Value]| v.iter().map(|a| a.to_string().len()).sum::<usize>();
        len(&self.args)
            + self.ctor.as_deref().map_or(0, len)
            + self.setup.iter().map(|s| 8 + len(&s.args)).sum::<usize>()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Thrown {
    #[serde(rename = "type")]
    pub kind: String,
    pub msg: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Observed {
    pub id: u32,
    /// What the call returned; `Some(Null)` for `null` (absent when it threw).
    #[serde(default, deserialize_with = "present")]
    pub value: Option<Value>,
    /// The call returned a promise, and `value` is what it resolved to.
    #[serde(default)]
    pub awaited: bool,
    #[serde(default)]
    pub exc: Option<Thrown>,
    #[serde(default)]
    pub args_after: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub state: Option<Value>,
    #[serde(default)]
    pub timeout: bool,
    #[serde(default)]
    pub setup_error: Option<Thrown>,
    #[serde(default)]
    pub lines: Vec<u32>,
    #[serde(default)]
    pub skips: Vec<String>,
}

impl Observed {
    pub fn same_as(&self, other: &Observed) -> bool {
        self.value == other.value
            && self.exc == other.exc
            && self.args_after == other.args_after
            && self.state == other.state
            && self.timeout == other.timeout
            && self.awaited == other.awaited
    }
}

/// A field that is there, even as `null`, is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A callable the module exports.
#[derive(Debug, Clone, Deserialize)]
pub struct Export {
    pub path: Vec<String>,
    #[serde(default)]
    pub params: Vec<String>,
    #[serde(default, rename = "async")]
    pub is_async: bool,
    #[serde(default, rename = "class")]
    pub is_class: bool,
    #[serde(default)]
    pub methods: Vec<Method>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Method {
    pub name: String,
    #[serde(default)]
    pub params: Vec<String>,
}

#[derive(Debug, Default)]
pub struct HarnessRun {
    pub exports: Vec<Export>,
    pub calls: Vec<Observed>,
    /// Lines run by importing the module.
    pub import_lines: Vec<u32>,
    pub import_error: Option<String>,
    pub imported: bool,
    pub aborted: Option<String>,
    /// TypeScript: the JavaScript esbuild made of the module (what coverage lines refer to).
    pub transformed: Option<String>,
}

pub fn run(
    sandbox: &Sandbox,
    module: &JsModule,
    calls: &[CallSpec],
    discover: bool,
    wall: Duration,
) -> Result<HarnessRun, GenerateError> {
    let work = tempfile::Builder::new()
        .prefix("qa-jsharness-")
        .tempdir()
        .map_err(GenerateError::Io)?;
    let hooks = sandbox.path_inside(work.path(), &work.path().join("ts-hooks.mjs"));
    let plan = json!({
        "module": module.file,
        "timeout_ms": 500,
        "discover": discover,
        "calls": calls,
        "esbuild": module.esbuild,
        "hooks": hooks,
    });
    std::fs::write(work.path().join("harness.mjs"), HARNESS).map_err(GenerateError::Io)?;
    std::fs::write(work.path().join("ts-hooks.mjs"), TS_HOOKS).map_err(GenerateError::Io)?;
    std::fs::write(work.path().join("plan.json"), plan.to_string()).map_err(GenerateError::Io)?;
    let limits = Limits {
        wall,
        cpu: wall + Duration::from_secs(1),
        memory: super::runner::NODE_ADDRESS_SPACE,
        ..Limits::default()
    };
    let mut command = Command::new(super::project::node(), work.path())
        .args([
            "--max-old-space-size=512",
            "harness.mjs",
            "plan.json",
            "result.jsonl",
        ])
        .read_only(&module.root)
        .limits(limits.clone());
    // TypeScript: esbuild's `node_modules`, with its platform binary.
    if let Some(modules) = module.esbuild.as_deref().and_then(std::path::Path::parent) {
        command = command.read_only(modules);
    }
    let outcome = sandbox.run(&command)?;
    let text = std::fs::read_to_string(work.path().join("result.jsonl")).unwrap_or_default();
    let mut run = parse(&text);
    if run.import_error.is_none()
        && let Some(why) = crate::abnormal_end(&outcome, &limits)
    {
        if !run.imported {
            run.import_error = Some(format!("importing it did not finish ({why})"));
        }
        run.aborted = Some(why);
    }
    Ok(run)
}

fn parse(text: &str) -> HarnessRun {
    #[derive(Deserialize)]
    struct Line {
        call: Option<Observed>,
        exports: Option<Vec<Export>>,
        import_error: Option<Thrown>,
        #[serde(default)]
        imported: bool,
        #[serde(default)]
        lines: Vec<u32>,
        transformed: Option<String>,
    }
    let mut run = HarnessRun::default();
    for line in text.lines() {
        let Ok(line) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        if let Some(call) = line.call {
            run.calls.push(call);
        }
        if line.imported {
            run.imported = true;
            run.import_lines = line.lines;
        }
        if line.transformed.is_some() {
            run.transformed = line.transformed;
        }
        if let Some(e) = line.exports {
            run.exports = e;
        }
        if let Some(e) = line.import_error {
            run.import_error = Some(format!("{}: {}", e.kind, e.msg));
        }
    }
    run
}
