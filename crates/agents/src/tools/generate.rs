//! `generate_tests`: unit tests for a function of an analysed repository, generated and run in
//! the sandbox before they are shown. Only tests that passed 5 runs, check a value the code
//! produced and add coverage or a killed mutant are returned; each generation is stored
//! (`generated_tests`, `test_runs`) with its coverage and mutation score.

use std::sync::OnceLock;
use std::time::Duration;

use qa_sandbox::Sandbox;
use qa_testgen::{GenerateOptions, ModuleStatus};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::analysis::done_analysis;
use super::source::{inside, root_of};
use super::{Tool, ToolContext, ToolError, ToolFuture, ToolOutput, input, schema};

pub struct GenerateTests;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Input {
    analysis_id: i64,
    /// The module's path as the analysis lists it (e.g. `shop/pricing.py`).
    #[schemars(length(min = 1))]
    file: String,
    /// A function (`name`, `Class.method`) or class; the whole module when absent.
    target: Option<String>,
    /// Wall-clock budget in seconds, mutation scoring included (60; 10 to 120).
    #[schemars(range(min = 10, max = 120))]
    budget_seconds: Option<u32>,
}

/// The sandbox is probed once per process; its mode shows in the tool's result.
fn sandbox() -> Result<&'static Sandbox, ToolError> {
    static SANDBOX: OnceLock<Result<Sandbox, String>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| Sandbox::from_env().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| ToolError::Fault(format!("no sandbox to run generated tests in: {e}")))
}

/// What the sandbox protects against here, for `/health/detailed` (probed once).
pub fn sandbox_status() -> Value {
    match sandbox() {
        Ok(s) => serde_json::to_value(s.info()).unwrap_or_default(),
        Err(e) => json!({ "mode": "unavailable", "error": e.to_string() }),
    }
}

impl Tool for GenerateTests {
    fn name(&self) -> &'static str {
        "generate_tests"
    }
    fn description(&self) -> &'static str {
        "Generate pytest unit tests for a Python function or module of an analysed repository; they are run 5 times in a sandbox and kept only if they pass, assert on produced values and add coverage or kill a mutant"
    }
    fn input_schema(&self) -> Value {
        schema::<Input>()
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(150)
    }
    fn run<'a>(&'a self, cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: Input = input(v)?;
            done_analysis(cx, i.analysis_id).await?;
            let supported = [".py", ".js", ".mjs", ".cjs", ".rs"];
            if !supported.iter().any(|ext| i.file.ends_with(ext)) {
                return Err(ToolError::Invalid(format!(
                    "`{}` is not a Python, JavaScript or Rust file: test generation covers Python (pytest), JavaScript (Vitest, Jest) and Rust (cargo test) in this build",
                    i.file
                )));
            }
            let root = root_of(cx, i.analysis_id).await?;
            let path = inside(&root, &i.file)?;
            let sandbox = sandbox()?;
            let writer = match &cx.llm {
                Some(config) => Some(qa_testgen::python::llm::Writer(std::sync::Arc::new(
                    crate::test_writer::LlmTestWriter::new(
                        qa_llm::Client::new(config.clone()).map_err(ToolError::Fault)?,
                        tokio::runtime::Handle::current(),
                    ),
                ))),
                None => None,
            };
            let options = GenerateOptions {
                target: i.target.clone(),
                budget: Duration::from_secs(u64::from(i.budget_seconds.unwrap_or(60))),
                // Shown, not written into the user's tree: they decide where it goes.
                write: false,
                writer,
                framework: cx.test_framework.clone(),
                ..GenerateOptions::default()
            };
            let report =
                tokio::task::spawn_blocking(move || qa_testgen::generate(sandbox, &path, &options))
                    .await
                    .map_err(|e| ToolError::Fault(format!("the generator stopped: {e}")))?
                    .map_err(|e| ToolError::Invalid(e.to_string()))?;
            let Some(m) = report.modules.into_iter().next() else {
                return Err(ToolError::NotFound(format!(
                    "nothing to generate for `{}`",
                    i.file
                )));
            };
            let target = i.target.clone().unwrap_or_else(|| m.module.clone());
            if m.status == ModuleStatus::NoTargets {
                return Err(ToolError::NotFound(format!(
                    "no public function or method named `{target}` in `{}`",
                    i.file
                )));
            }
            let status = match m.status {
                ModuleStatus::Generated => "validated",
                ModuleStatus::NothingKept => "nothing_kept",
                _ => "failed",
            };
            let framework = m.framework.clone().unwrap_or_else(|| "pytest".into());
            let coverage = m.coverage_after.as_ref().map(|c| c.line_percent);
            let mutation = m.mutation.as_ref().and_then(|mu| mu.score);
            let runs: Vec<qa_store::TestRun> = m.junit.iter().map(|xml| junit_run(xml)).collect();
            let id = cx
                .db
                .record_generated_tests(
                    &qa_store::NewGeneratedTests {
                        tenant_id: cx.tenant_id,
                        analysis_id: Some(i.analysis_id),
                        target: &target,
                        framework: &framework,
                        code: &m.test_source,
                        status,
                        coverage,
                        mutation_score: mutation,
                    },
                    &runs,
                )
                .await?;
            if matches!(m.status, ModuleStatus::Failed | ModuleStatus::NoToolchain) {
                return Err(ToolError::Invalid(
                    m.problem.unwrap_or_else(|| "generation failed".into()),
                ));
            }
            let summary = format!(
                "{} validated {framework} test(s) for `{target}` ({} dropped){}{}{}",
                m.kept.len(),
                m.dropped.len(),
                coverage
                    .map(|c| format!(", line coverage {c:.0}%"))
                    .unwrap_or_default(),
                mutation
                    .map(|s| format!(", mutation score {:.0}%", s * 100.0))
                    .unwrap_or_default(),
                m.framework_note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
            );
            Ok(ToolOutput {
                summary,
                data: json!({
                    "generated_tests_id": id,
                    "module": m.module,
                    "file": i.file,
                    "framework": framework,
                    "framework_note": m.framework_note,
                    "file_name": m.test_file_name.clone().unwrap_or_else(|| format!("test_{}_qa.py", m.module.rsplit('.').next().unwrap_or("module"))),
                    "test_source": m.test_source,
                    "kept": m.kept,
                    "dropped": m.dropped.iter().map(|d| json!({"name": d.name, "target": d.target, "reason": d.reason.describe()})).collect::<Vec<_>>(),
                    "validation_runs": m.validation_runs,
                    "coverage": m.coverage_after,
                    "mutation": m.mutation.as_ref().map(|mu| json!({"score": mu.score, "killed": mu.killed, "run": mu.total - mu.skipped, "per_function": mu.per_function})),
                    "sandbox": report.sandbox,
                    "wall_seconds": m.wall_seconds,
                }),
                evidence: Vec::new(),
            })
        })
    }
}

/// A validation run of the candidate file, from pytest's JUnit XML. The kept tests passed it
/// by definition; candidates that failed are counted in the output (they were dropped).
fn junit_run(xml: &str) -> qa_store::TestRun {
    let cases = xml.matches("<testcase").count();
    let failed = xml.matches("<failure").count() + xml.matches("<error").count();
    let seconds = xml
        .split("time=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or(0.0);
    qa_store::TestRun {
        outcome: "passed".into(),
        duration_ms: (seconds * 1000.0) as i64,
        output: Some(format!(
            "{cases} candidate tests, {failed} failed (dropped)"
        )),
    }
}
