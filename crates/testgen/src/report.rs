//! What a generation run reports: per module, the kept tests and the dropped ones with the
//! reason, coverage and mutation score; as JSON (the API), text (the CLI) and JUnit XML.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::mutation::runner::MutationReport;
use crate::python::pytest::Coverage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleStatus {
    Generated,
    /// No public function or method to test.
    NoTargets,
    /// Candidates were written but none passed validation.
    NothingKept,
    /// The module could not be used: it does not import, has a syntax error, is binary, ...
    Failed,
    /// The language's interpreter or test runner is not installed; nothing was written.
    NoToolchain,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DropReason {
    /// Failed in every run.
    Failed { message: String },
    /// Passed only some of the runs.
    Flaky { passed: u32, runs: u32 },
    /// Asserts nothing the code under test produced.
    NoOracle,
    /// Adds no line, branch or killed mutant beyond the tests kept before it.
    NoGain,
    /// pytest did not report it (a collection problem).
    NotRun,
}

impl DropReason {
    pub fn describe(&self) -> String {
        match self {
            DropReason::Failed { message } => format!("failed: {message}"),
            DropReason::Flaky { passed, runs } => format!("flaky: passed {passed} of {runs} runs"),
            DropReason::NoOracle => "no oracle: asserts nothing the code produced".into(),
            DropReason::NoGain => {
                "adds no coverage and kills no mutant beyond the kept tests".into()
            }
            DropReason::NotRun => "not run: the test runner reported no result for it".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub name: String,
    pub target: String,
    /// `qa-agent`, or the model that wrote it (LLM mode).
    pub written_by: String,
    pub new_arcs: usize,
    pub new_mutants_killed: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub name: String,
    pub target: String,
    pub reason: DropReason,
    #[serde(skip)]
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    pub model: String,
    pub rounds: u32,
    pub kept: usize,
    pub dropped: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModuleReport {
    pub module: String,
    /// `python` or `javascript`.
    pub language: String,
    /// The test framework the file is written for: `pytest`, `vitest`, `jest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// Why the user's preferred framework was not used, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework_note: Option<String>,
    pub file: PathBuf,
    pub status: ModuleStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    pub targets: Vec<String>,
    pub skipped_targets: Vec<(String, String)>,
    /// Calls tried while exploring.
    pub candidates: usize,
    pub mutants_in_harness: usize,
    pub kept: Vec<Kept>,
    pub dropped: Vec<Dropped>,
    /// Runs of each test in fresh processes, each with its own `PYTHONHASHSEED`.
    pub validation_runs: u32,
    /// Line and branch coverage of the module by the kept tests (coverage.py).
    pub coverage_after: Option<Coverage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutation: Option<MutationReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mutation_problem: Option<String>,
    /// LLM mode: the model, its rounds and why it stopped early, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelSummary>,
    pub test_file: Option<PathBuf>,
    /// The name the test file has (or would have, with `--dry-run`).
    pub test_file_name: Option<String>,
    pub test_source: String,
    pub wall_seconds: f64,
    #[serde(skip)]
    pub junit: Vec<String>,
}

impl ModuleReport {
    pub fn new(file: &Path) -> ModuleReport {
        ModuleReport {
            module: String::new(),
            language: "python".into(),
            framework: None,
            framework_note: None,
            file: file.to_path_buf(),
            status: ModuleStatus::Failed,
            problem: None,
            targets: Vec::new(),
            skipped_targets: Vec::new(),
            candidates: 0,
            mutants_in_harness: 0,
            kept: Vec::new(),
            dropped: Vec::new(),
            validation_runs: crate::python::generate::RERUNS,
            coverage_after: None,
            mutation: None,
            mutation_problem: None,
            model: None,
            test_file: None,
            test_file_name: None,
            test_source: String::new(),
            wall_seconds: 0.0,
            junit: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GenerationReport {
    pub sandbox: qa_sandbox::SandboxInfo,
    pub modules: Vec<ModuleReport>,
    pub wall_seconds: f64,
}

impl GenerationReport {
    pub fn kept(&self) -> usize {
        self.modules.iter().map(|m| m.kept.len()).sum()
    }

    /// The text summary the CLI prints.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for m in &self.modules {
            let name = if m.module.is_empty() {
                m.file.display().to_string()
            } else {
                m.module.clone()
            };
            match m.status {
                ModuleStatus::Failed => {
                    let _ = writeln!(
                        out,
                        "{name}: not generated: {}",
                        m.problem.as_deref().unwrap_or("unknown error")
                    );
                    continue;
                }
                ModuleStatus::NoToolchain => {
                    let _ = writeln!(
                        out,
                        "{name}: not generated, {}",
                        m.problem.as_deref().unwrap_or("toolchain missing")
                    );
                    continue;
                }
                ModuleStatus::NoTargets => {
                    let _ = writeln!(out, "{name}: no public function or method to test");
                    continue;
                }
                _ => {}
            }
            let _ = writeln!(
                out,
                "{name}: {} tests kept, {} dropped ({} calls tried, {:.1} s)",
                m.kept.len(),
                m.dropped.len(),
                m.candidates,
                m.wall_seconds
            );
            if let Some(note) = &m.framework_note {
                let _ = writeln!(
                    out,
                    "  framework: {}: {note}",
                    m.framework.as_deref().unwrap_or("?")
                );
            }
            if let Some(c) = &m.coverage_after {
                let branch = c
                    .branch_percent
                    .map(|b| format!(", branches {b:.0}%"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  coverage: lines {:.0}% ({}/{}){branch}",
                    c.line_percent, c.lines_covered, c.lines_total
                );
            }
            if let Some(mu) = &m.mutation {
                match mu.score {
                    Some(s) => {
                        let _ = writeln!(
                            out,
                            "  mutation score: {:.0}% ({} of {} mutants killed{})",
                            s * 100.0,
                            mu.killed,
                            mu.total - mu.skipped,
                            if mu.skipped > 0 {
                                format!(", {} not run in the budget", mu.skipped)
                            } else {
                                String::new()
                            }
                        );
                    }
                    None => {
                        let _ = writeln!(out, "  mutation score: not measured (no mutant run)");
                    }
                }
            } else if let Some(p) = &m.mutation_problem {
                let _ = writeln!(out, "  mutation score: not measured: {p}");
            }
            if let Some(model) = &m.model {
                let _ = writeln!(
                    out,
                    "  model {}: {} kept, {} dropped in {} round(s){}",
                    model.model,
                    model.kept,
                    model.dropped,
                    model.rounds,
                    model
                        .problem
                        .as_ref()
                        .map(|p| format!(" ({p})"))
                        .unwrap_or_default()
                );
            }
            if let Some(f) = &m.test_file {
                let _ = writeln!(out, "  written: {}", f.display());
            }
            for d in &m.dropped {
                let _ = writeln!(out, "  dropped {}: {}", d.name, d.reason.describe());
            }
            for (t, why) in &m.skipped_targets {
                let _ = writeln!(out, "  skipped {t}: {why}");
            }
        }
        out
    }

    /// JUnit XML of the validation: a suite per module, a case per candidate test; dropped
    /// tests are failures (when they failed) or skipped with the reason.
    pub fn junit(&self) -> String {
        let mut out = String::from(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites name=\"qa-agent generate\">\n",
        );
        for m in &self.modules {
            let failures = m
                .dropped
                .iter()
                .filter(|d| {
                    matches!(
                        d.reason,
                        DropReason::Failed { .. } | DropReason::Flaky { .. }
                    )
                })
                .count();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{}\" time=\"{:.3}\">",
                xml_escape(&m.module),
                m.kept.len() + m.dropped.len(),
                m.dropped.len() - failures,
                m.wall_seconds
            );
            let _ = writeln!(
                out,
                "    <properties><property name=\"runs\" value=\"{}\"/></properties>",
                m.validation_runs
            );
            for k in &m.kept {
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{}\"/>",
                    xml_escape(&m.module),
                    xml_escape(&k.name)
                );
            }
            for d in &m.dropped {
                let body = match &d.reason {
                    DropReason::Failed { .. } | DropReason::Flaky { .. } => format!(
                        "<failure message=\"{}\">{}</failure>",
                        xml_escape(&d.reason.describe()),
                        xml_escape(&d.source)
                    ),
                    other => format!("<skipped message=\"{}\"/>", xml_escape(&other.describe())),
                };
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{}\">{body}</testcase>",
                    xml_escape(&m.module),
                    xml_escape(&d.name)
                );
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}
