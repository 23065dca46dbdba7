//! Running `harness.py` in the sandbox and reading what it observed.

use std::collections::BTreeMap;
use std::time::Duration;

use qa_sandbox::{Command, Limits, Sandbox};
use serde::Deserialize;
use serde_json::json;

use super::inputs::CallSpec;
use super::project::ModuleLocation;
use super::value::Value;
use crate::GenerateError;

const HARNESS: &str = include_str!("harness.py");

/// The hash seed of the second exploration run, which also runs in another working
/// directory with another command line (`elsewhere` in the plan).
pub const ELSEWHERE_SEED: u32 = 23;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Raised {
    #[serde(rename = "type")]
    pub kind: String,
    pub module: String,
    pub msg: String,
}

/// What one call did.
#[derive(Debug, Clone, Deserialize)]
pub struct Observed {
    pub id: u32,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub exc: Option<Raised>,
    #[serde(default)]
    pub state: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub state_before: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub args_after: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub timeout: bool,
    #[serde(default)]
    pub setup_error: Option<serde_json::Value>,
    #[serde(default)]
    pub arcs: Vec<(i64, i64)>,
    /// What the call printed: the text, or `{"len": n}` past the harness's cap.
    #[serde(default)]
    pub stdout: Option<serde_json::Value>,
    /// The clock or random source the call read (`datetime.date.today`): nothing about it
    /// can be asserted as fixed.
    #[serde(default)]
    pub nondeterministic: Option<String>,
}

impl Observed {
    /// The same behaviour: what a test would assert is equal.
    pub fn same_as(&self, other: &Observed) -> bool {
        self.value == other.value
            && self.exc == other.exc
            && self.state == other.state
            && self.args_after == other.args_after
            && self.timeout == other.timeout
            && self.stdout == other.stdout
    }

    /// The printed text when a test can assert it exactly.
    pub fn printed(&self) -> Option<&str> {
        self.stdout.as_ref().and_then(|s| s.as_str())
    }
}

/// A mutant the harness tried: which calls saw a difference.
#[derive(Debug, Clone, Deserialize)]
pub struct MutantVerdict {
    pub id: u32,
    #[serde(default)]
    pub killed_by: Vec<u32>,
    #[serde(default)]
    pub invalid: Option<String>,
}

#[derive(Debug, Default)]
pub struct HarnessRun {
    pub calls: Vec<Observed>,
    pub mutants: Vec<MutantVerdict>,
    pub import_error: Option<String>,
    /// The module finished importing.
    pub imported: bool,
    /// Set when the process ended abnormally (a hang in C code, a crash): what ran is kept.
    pub aborted: Option<String>,
}

pub struct MutantPlan<'a> {
    pub id: u32,
    pub source: &'a str,
    pub calls: Vec<u32>,
}

pub fn run(
    sandbox: &Sandbox,
    location: &ModuleLocation,
    calls: &[CallSpec],
    mutants: &[MutantPlan],
    hash_seed: u32,
    wall: Duration,
) -> Result<HarnessRun, GenerateError> {
    let work = tempfile::Builder::new()
        .prefix("qa-harness-")
        .tempdir()
        .map_err(GenerateError::Io)?;
    let plan = json!({
        "root": location.import_root,
        "module": location.module,
        "timeout": 0.5,
        "calls": calls,
        "elsewhere": hash_seed == ELSEWHERE_SEED,
        "mutants": mutants.iter().map(|m| json!({"id": m.id, "source": m.source, "calls": m.calls})).collect::<Vec<_>>(),
    });
    std::fs::write(work.path().join("harness.py"), HARNESS).map_err(GenerateError::Io)?;
    std::fs::write(work.path().join("plan.json"), plan.to_string()).map_err(GenerateError::Io)?;
    let limits = Limits {
        wall,
        cpu: wall + Duration::from_secs(1),
        memory: 2 << 30,
        ..Limits::default()
    };
    let command = Command::new(crate::python_interpreter(), work.path())
        .args(["-X", "utf8", "harness.py", "plan.json", "result.jsonl"])
        .env("PYTHONHASHSEED", hash_seed.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .read_only(&location.import_root)
        .limits(limits.clone());
    let outcome = sandbox.run(&command)?;
    let text = std::fs::read_to_string(work.path().join("result.jsonl")).unwrap_or_default();
    if let Some(dir) = std::env::var_os("QA_AGENT_DEBUG_HARNESS") {
        let dir = std::path::Path::new(&dir);
        let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let _ = std::fs::write(dir.join(format!("{n}-plan.json")), plan.to_string());
        let _ = std::fs::write(dir.join(format!("{n}-result.jsonl")), &text);
    }
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
        mutant: Option<MutantVerdict>,
        import_error: Option<serde_json::Value>,
        #[serde(default)]
        imported: bool,
    }
    let mut run = HarnessRun::default();
    for line in text.lines() {
        let Ok(line) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        if let Some(call) = line.call {
            run.calls.push(call);
        }
        run.imported |= line.imported;
        if let Some(m) = line.mutant {
            run.mutants.push(m);
        }
        if let Some(e) = line.import_error {
            run.import_error = Some(format!(
                "{}: {}",
                e["type"].as_str().unwrap_or("Error"),
                e["msg"].as_str().unwrap_or("")
            ));
        }
    }
    run
}
