//! Running a generated file with the package's Vitest or Jest in the sandbox: each run a
//! fresh Node process with the tests in a different random order (`--sequence.seed` /
//! `--seed`), results read from the runner's JSON report.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use qa_sandbox::{Command, Limits, Sandbox};

use super::project::{JsModule, Runner, RunnerKind};
use crate::GenerateError;
use crate::python::pytest::RunResult;

/// Per test name, its result in each run; and why a run produced no results, when one did not.
pub struct Reruns {
    pub results: BTreeMap<String, Vec<RunResult>>,
    pub problem: Option<String>,
    /// A JUnit-like summary per run, for `--junit`.
    pub reports: Vec<String>,
}

fn command(
    sandbox: &Sandbox,
    runner: &Runner,
    work: &Path,
    module: &JsModule,
    file: &str,
    seed: u32,
    out: &str,
) -> Command {
    let inside = |p: &str| {
        sandbox
            .path_inside(work, &work.join(p))
            .display()
            .to_string()
    };
    let script = runner.script.display().to_string();
    let args: Vec<String> = match runner.kind {
        RunnerKind::Vitest => vec![
            script,
            "run".into(),
            file.into(),
            "--reporter=json".into(),
            format!("--outputFile={}", inside(out)),
            "--sequence.shuffle".into(),
            format!("--sequence.seed={seed}"),
            "--no-color".into(),
            "--watch=false".into(),
        ],
        RunnerKind::Jest => vec![
            script,
            "--ci".into(),
            "--json".into(),
            format!("--outputFile={}", inside(out)),
            "--randomize".into(),
            format!("--seed={seed}"),
            "--watchman=false".into(),
            format!("--cacheDirectory={}", inside(".jest-cache")),
            "--runTestsByPath".into(),
            file.into(),
        ],
    };
    Command::new(super::project::node(), work)
        .args(args)
        .env("CI", "1")
        .env("NODE_OPTIONS", "--max-old-space-size=1024")
        .read_only(&module.root)
        .read_only(
            runner
                .node_modules
                .canonicalize()
                .unwrap_or_else(|_| runner.node_modules.clone()),
        )
        .limits(limits())
}

/// Node reserves address space far beyond what it uses (each WebAssembly instance, which
/// the runners' parsers use, reserves about 10 GiB of guard pages), so the address-space
/// limit is wide and V8's own heap limit (`--max-old-space-size`) bounds the heap.
pub const NODE_ADDRESS_SPACE: u64 = 64 << 30;

pub fn limits() -> Limits {
    Limits {
        wall: Duration::from_secs(90),
        cpu: Duration::from_secs(90),
        memory: NODE_ADDRESS_SPACE,
        processes: 128,
        ..Limits::default()
    }
}

pub fn run_repeatedly(
    sandbox: &Sandbox,
    runner: &Runner,
    work: &Path,
    module: &JsModule,
    file: &str,
    runs: u32,
) -> Result<Reruns, GenerateError> {
    let mut results: BTreeMap<String, Vec<RunResult>> = BTreeMap::new();
    let mut problem = None;
    let mut reports = Vec::new();
    for seed in 1..=runs {
        let out = format!("results-{seed}.json");
        let cmd = command(sandbox, runner, work, module, file, seed, &out);
        let outcome = sandbox.run(&cmd)?;
        let report = std::fs::read_to_string(work.join(&out)).unwrap_or_default();
        let parsed = parse(&report);
        if parsed.is_empty() {
            let text = format!("{}{}", outcome.stdout_text(), outcome.stderr_text());
            let tail: Vec<&str> = text
                .lines()
                .rev()
                .filter(|l| !l.trim().is_empty())
                .take(12)
                .collect();
            problem.get_or_insert_with(|| {
                format!(
                    "{} ({}): {}",
                    runner.kind.name(),
                    outcome.describe(&cmd.limits),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            });
        }
        for (name, r) in parsed {
            results.entry(name).or_default().push(r);
        }
        reports.push(report);
    }
    Ok(Reruns {
        results,
        problem,
        reports,
    })
}

/// Jest's JSON report format, which Vitest's `json` reporter also writes.
pub fn parse(report: &str) -> BTreeMap<String, RunResult> {
    let mut out = BTreeMap::new();
    let Ok(v) = serde_json::from_str::<serde_json::Value>(report) else {
        return out;
    };
    for file in v["testResults"].as_array().into_iter().flatten() {
        for t in file["assertionResults"].as_array().into_iter().flatten() {
            let name = t["fullName"]
                .as_str()
                .or(t["title"].as_str())
                .unwrap_or("")
                .trim()
                .to_owned();
            let result = match t["status"].as_str() {
                Some("passed") => RunResult::Passed,
                Some("failed") => RunResult::Failed(
                    t["failureMessages"][0]
                        .as_str()
                        .unwrap_or("failed")
                        .lines()
                        .next()
                        .unwrap_or("failed")
                        .to_owned(),
                ),
                _ => RunResult::Skipped,
            };
            out.insert(name, result);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reports_are_read_per_test() {
        let report = r#"{"testResults":[{"assertionResults":[
            {"fullName":"ms(\"1d\") returns 86400000","status":"passed","failureMessages":[]},
            {"fullName":"flaky","status":"failed","failureMessages":["AssertionError: expected false to be true\n  at x"]},
            {"title":"later","status":"skipped"}]}]}"#;
        let r = parse(report);
        assert_eq!(r["ms(\"1d\") returns 86400000"], RunResult::Passed);
        assert_eq!(
            r["flaky"],
            RunResult::Failed("AssertionError: expected false to be true".into())
        );
        assert_eq!(r["later"], RunResult::Skipped);
        assert!(parse("not json").is_empty());
    }
}
