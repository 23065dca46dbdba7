//! Test generation that runs what it writes.
//!
//! For a Python module: propose calls from the signatures and bodies, execute them in the
//! sandbox through a small harness to observe values, state and exceptions, keep calls that
//! add branch coverage or notice a mutant, write pytest tests with exact assertions, and keep
//! each test only if it passes 5 times in fresh processes, has an oracle and adds coverage or a
//! killed mutant. [`mutation`] scores any test suite the same way (`qa-agent mutate`).

pub mod mutation;
pub mod python;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use report::{GenerationReport, ModuleReport, ModuleStatus};

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{0} does not exist (give a Python file or a directory)")]
    Missing(PathBuf),
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("syntax error {0}; fix it before generating tests")]
    Syntax(String),
    #[error("the module does not import: {0}")]
    Import(String),
    #[error("analysis failed: {0}")]
    Analysis(String),
    #[error("the generated tests could not be run: {0}")]
    ValidationCrashed(String),
    #[error(
        "the test suite fails before any mutation, so a mutation score would mean nothing:\n{0}"
    )]
    SuiteFailsBeforeMutation(String),
    #[error("the tests {tests} are outside the project {root}")]
    TestsOutsideProject { tests: PathBuf, root: PathBuf },
    #[error(
        "{0} is larger than 256 MiB without caches and virtual environments; point at a smaller project"
    )]
    ProjectTooLarge(PathBuf),
    #[error(transparent)]
    Sandbox(#[from] qa_sandbox::SandboxError),
    #[error("I/O error: {0}")]
    Io(std::io::Error),
}

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Only this function (`f`, `Class.method`), class or module.
    pub target: Option<String>,
    /// Wall-clock budget per module, mutation scoring included.
    pub budget: Duration,
    /// Where to write the test files; default: the project's `tests/` directory.
    pub out_dir: Option<PathBuf>,
    /// Write the files (false: report only).
    pub write: bool,
    /// Score the kept tests against mutants with pytest.
    pub mutation_score: bool,
    pub seed: u64,
    pub jobs: usize,
    /// A language model that proposes more tests (LLM mode); the same validation applies.
    pub writer: Option<python::llm::Writer>,
    /// Rounds in which the model may repair its failing tests.
    pub repair_rounds: u32,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            target: None,
            budget: Duration::from_secs(60),
            out_dir: None,
            write: true,
            mutation_score: true,
            seed: 0x5eed,
            jobs: 2,
            writer: None,
            repair_rounds: 2,
        }
    }
}

/// The Python interpreter the sandbox runs (`QA_AGENT_PYTHON`, default `python3`).
pub fn python_interpreter() -> String {
    std::env::var("QA_AGENT_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Generates tests for a Python file, or every non-test Python module under a directory.
pub fn generate(
    sandbox: &qa_sandbox::Sandbox,
    path: &Path,
    options: &GenerateOptions,
) -> Result<GenerationReport, GenerateError> {
    let started = Instant::now();
    if !path.exists() {
        return Err(GenerateError::Missing(path.to_path_buf()));
    }
    let files = python_modules(path);
    let modules = files
        .iter()
        .map(|f| python::generate::module(sandbox, f, options))
        .collect();
    Ok(GenerationReport {
        sandbox: sandbox.info(),
        modules,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Python modules under `path` that are not tests, setup scripts or private.
fn python_modules(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out: Vec<PathBuf> = ignore::WalkBuilder::new(path)
        .build()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let in_tests = p
                .components()
                .any(|c| matches!(c.as_os_str().to_str(), Some("tests" | "test" | "testing")));
            !in_tests
                && !name.starts_with("test_")
                && !name.ends_with("_test.py")
                && name != "conftest.py"
                && name != "setup.py"
                && name != "__main__.py"
        })
        .collect();
    out.sort();
    out
}
