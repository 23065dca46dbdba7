//! Running pytest on a generated file in the sandbox: repeated runs with JUnit results, and
//! coverage.py's line and branch totals.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use qa_sandbox::{Command, Limits, Sandbox};
use serde::Serialize;

use super::project::ModuleLocation;
use crate::GenerateError;

/// One test's result in one run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunResult {
    Passed,
    /// Failed or errored, with the first line of the message.
    Failed(String),
    Skipped,
}

/// One pytest run of a generated file.
pub struct Run {
    pub results: BTreeMap<String, RunResult>,
    /// pytest's JUnit XML.
    pub junit: String,
    /// Why no test result came out (a collection error, a crash), when none did.
    pub problem: Option<String>,
}

/// pytest's options for every run: quiet, no cache written into the tree, the project's own
/// `addopts` (coverage plugins, -x, ...) left out.
pub const PYTEST: [&str; 7] = [
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "--no-header",
    "-o",
    "addopts=",
];

/// `python -X utf8 ARGS` in `work`, importing the module under test: its import root on
/// `PYTHONPATH` and visible read-only in the sandbox, no bytecode written.
pub fn python(work: &Path, location: &ModuleLocation, wall: Duration) -> Command {
    Command::new(crate::python_interpreter(), work)
        .args(["-X", "utf8"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONPATH", location.import_root.display().to_string())
        .read_only(&location.import_root)
        .limits(Limits {
            wall,
            cpu: wall,
            ..Limits::default()
        })
}

/// `coverage json` of the data file in `work` into `out` (with `extra` options), parsed.
pub fn coverage_json(
    sandbox: &Sandbox,
    work: &Path,
    location: &ModuleLocation,
    extra: &[&str],
    out: &str,
) -> Result<Option<serde_json::Value>, GenerateError> {
    let report = python(work, location, Duration::from_secs(60))
        .args(["-m", "coverage", "json", "-q", "-o", out])
        .args(extra.iter().copied());
    sandbox.run(&report)?;
    Ok(std::fs::read_to_string(work.join(out))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok()))
}

/// Runs `file` (inside `work`) once with the given hash seed.
pub fn run_once(
    sandbox: &Sandbox,
    work: &Path,
    file: &str,
    location: &ModuleLocation,
    seed: u32,
    wall: Duration,
) -> Result<Run, GenerateError> {
    let junit = format!("junit-{seed}.xml");
    let command = python(work, location, wall)
        .arg("-m")
        .args(PYTEST)
        .arg(format!("--junitxml={junit}"))
        .arg(file)
        .env("PYTHONHASHSEED", seed.to_string());
    let outcome = sandbox.run(&command)?;
    let xml = std::fs::read_to_string(work.join(&junit)).unwrap_or_default();
    let results = parse_junit(&xml);
    let problem = (results.is_empty()).then(|| {
        let out = format!("{}{}", outcome.stdout_text(), outcome.stderr_text());
        let tail: Vec<&str> = out.lines().rev().take(12).collect();
        format!(
            "{}\n{}",
            outcome.describe(&command.limits),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    });
    Ok(Run {
        results,
        junit: xml,
        problem,
    })
}

/// Every test's results over [`RERUNS`](super::generate::RERUNS) fresh processes, hash seeds
/// `first_seed + 1 ..`, and pytest's JUnit XML of each run.
pub struct Reruns {
    pub results: BTreeMap<String, Vec<RunResult>>,
    pub junit: Vec<String>,
}

pub fn run_repeatedly(
    sandbox: &Sandbox,
    work: &Path,
    file: &str,
    location: &ModuleLocation,
    first_seed: u32,
) -> Result<Reruns, GenerateError> {
    let mut out = Reruns {
        results: BTreeMap::new(),
        junit: Vec::new(),
    };
    for seed in 1..=super::generate::RERUNS {
        let run = run_once(
            sandbox,
            work,
            file,
            location,
            first_seed + seed,
            Duration::from_secs(60),
        )?;
        if let Some(problem) = run.problem {
            return Err(GenerateError::ValidationCrashed(problem));
        }
        for (name, r) in run.results {
            out.results.entry(name).or_default().push(r);
        }
        out.junit.push(run.junit);
    }
    Ok(out)
}

pub fn parse_junit(xml: &str) -> BTreeMap<String, RunResult> {
    let mut out = BTreeMap::new();
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return out;
    };
    for case in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        let Some(name) = case.attribute("name") else {
            continue;
        };
        let mut result = RunResult::Passed;
        for child in case.children().filter(|c| c.is_element()) {
            match child.tag_name().name() {
                "failure" | "error" => {
                    // A collection error's message is only "collection failure"; its
                    // text ends with the error itself.
                    let detail = child.text().and_then(|t| {
                        t.lines()
                            .rev()
                            .find(|l| l.starts_with("E "))
                            .map(|l| l.trim_start_matches('E').trim().to_owned())
                    });
                    let message = child
                        .attribute("message")
                        .filter(|m| *m != "collection failure" || detail.is_none())
                        .map(str::to_owned)
                        .or(detail)
                        .or_else(|| {
                            child
                                .text()
                                .map(|t| t.lines().last().unwrap_or("").to_owned())
                        })
                        .unwrap_or_default();
                    result = RunResult::Failed(
                        message
                            .lines()
                            .next()
                            .unwrap_or("")
                            .chars()
                            .take(300)
                            .collect(),
                    );
                }
                "skipped" => result = RunResult::Skipped,
                _ => {}
            }
        }
        out.insert(name.to_owned(), result);
    }
    out
}

/// coverage.py's totals for one module.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Coverage {
    pub lines_covered: u64,
    pub lines_total: u64,
    pub branches_covered: u64,
    pub branches_total: u64,
    pub line_percent: f64,
    pub branch_percent: Option<f64>,
}

/// Runs pytest on `tests` (paths as the sandbox sees them) under coverage.py with branch
/// measurement, restricted to the module's file.
pub fn coverage(
    sandbox: &Sandbox,
    work: &Path,
    tests: &[String],
    location: &ModuleLocation,
    extra_read_only: Option<&Path>,
    wall: Duration,
) -> Result<Option<Coverage>, GenerateError> {
    let mut command = python(work, location, wall)
        .args(["-m", "coverage", "run", "--branch", "--data-file=.qa-cov"])
        .arg(format!("--include={}", location.file.display()))
        .arg("-m")
        .args(PYTEST)
        .args(tests.iter().cloned());
    if let Some(p) = extra_read_only {
        command = command.read_only(p);
    }
    let run = sandbox.run(&command)?;
    // pytest exits 1 when some test fails: coverage is still measured.
    if !matches!(run.status, qa_sandbox::Status::Exited(0 | 1)) {
        return Ok(None);
    }
    let Some(json) = coverage_json(
        sandbox,
        work,
        location,
        &["--data-file=.qa-cov"],
        "qa-cov.json",
    )?
    else {
        return Ok(None);
    };
    let totals = &json["totals"];
    let get = |k: &str| totals[k].as_u64().unwrap_or(0);
    let (lines_covered, lines_total) = (get("covered_lines"), get("num_statements"));
    let (branches_covered, branches_total) = (get("covered_branches"), get("num_branches"));
    if lines_total == 0 {
        return Ok(None);
    }
    Ok(Some(Coverage {
        lines_covered,
        lines_total,
        branches_covered,
        branches_total,
        line_percent: 100.0 * lines_covered as f64 / lines_total as f64,
        branch_percent: (branches_total > 0)
            .then(|| 100.0 * branches_covered as f64 / branches_total as f64),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_results_are_read_per_test() {
        let xml = r#"<?xml version="1.0"?><testsuites><testsuite>
<testcase classname="t" name="test_ok" time="0.1"/>
<testcase classname="t" name="test_bad"><failure message="assert 1 == 2">trace</failure></testcase>
<testcase classname="t" name="test_skip"><skipped message="no"/></testcase>
</testsuite></testsuites>"#;
        let r = parse_junit(xml);
        assert_eq!(r["test_ok"], RunResult::Passed);
        assert_eq!(r["test_bad"], RunResult::Failed("assert 1 == 2".into()));
        assert_eq!(r["test_skip"], RunResult::Skipped);
    }
}
