//! Test generation that runs what it writes.
//!
//! For a Python module: propose calls from the signatures and bodies, execute them in the
//! sandbox through a small harness to observe values, state and exceptions, keep calls that
//! add branch coverage or notice a mutant, write pytest tests with exact assertions, and keep
//! each test only if it passes 5 times in fresh processes, has an oracle and adds coverage or a
//! killed mutant. [`mutation`] scores any test suite the same way (`qa-agent mutate`).

pub mod javascript;
pub mod mutation;
pub mod python;
pub mod report;
pub mod rust;
pub mod select;

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
    /// The language's toolchain (interpreter, test runner) is not installed: nothing is
    /// written, since nothing could be validated.
    #[error("toolchain missing: {0}")]
    Toolchain(String),
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
    /// The framework the user prefers (`pytest`, `vitest`, `jest`): used where the
    /// project has it and the module allows it; the report says when it could not be.
    pub framework: Option<String>,
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
            framework: None,
        }
    }
}

/// Why a harness process ended abnormally (its limit, and the last line it printed), or
/// `None` when it exited cleanly: what ran before is kept either way.
pub(crate) fn abnormal_end(
    outcome: &qa_sandbox::Outcome,
    limits: &qa_sandbox::Limits,
) -> Option<String> {
    if outcome.success() {
        return None;
    }
    let stderr = outcome.stderr_text();
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Some(format!(
        "{}{}{last}",
        outcome.describe(limits),
        if last.is_empty() { "" } else { ": " }
    ))
}

/// A module's text; binary or non-UTF-8 files are refused with the reason (`hint` says
/// what such a file usually is in the language).
pub(crate) fn read_source(file: &Path, hint: &str) -> Result<String, GenerateError> {
    let bytes = std::fs::read(file).map_err(|e| GenerateError::Unreadable {
        path: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|_| GenerateError::Unreadable {
        path: file.to_path_buf(),
        reason: format!("not UTF-8 text{hint}"),
    })
}

/// Runs one module's generation; an error becomes the report's status (`no_toolchain`
/// for a missing toolchain, else `failed`) and problem, so one bad module never stops
/// the others.
pub(crate) fn run_module(
    file: &Path,
    language: &str,
    generate: impl FnOnce(&mut ModuleReport, Instant) -> Result<(), GenerateError>,
) -> ModuleReport {
    let started = Instant::now();
    let mut report = ModuleReport::new(file);
    report.language = language.into();
    if let Err(e) = generate(&mut report, started) {
        report.status = match e {
            GenerateError::Toolchain(_) => ModuleStatus::NoToolchain,
            _ => ModuleStatus::Failed,
        };
        report.problem = Some(e.to_string());
    }
    report.wall_seconds = started.elapsed().as_secs_f64();
    report
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
    let files = source_modules(path);
    let modules = files
        .iter()
        .map(|f| match language_of(f) {
            Some(Language::JavaScript) => javascript::generate::module(sandbox, f, options),
            Some(Language::Python) => python::generate::module(sandbox, f, options),
            Some(Language::Rust) => rust::generate::module(sandbox, f, options),
            None => unsupported(f),
        })
        .collect();
    Ok(GenerationReport {
        sandbox: sandbox.info(),
        modules,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    Python,
    JavaScript,
    Rust,
}

fn language_of(file: &Path) -> Option<Language> {
    match file.extension().and_then(|e| e.to_str()) {
        Some("py") => Some(Language::Python),
        Some("rs") => Some(Language::Rust),
        // Declaration files hold types only.
        Some(_) if file.to_string_lossy().ends_with(".d.ts") => None,
        Some(e) if javascript::EXTENSIONS.contains(&e) => Some(Language::JavaScript),
        _ => None,
    }
}

/// A file given by name in a language generation does not cover: said plainly.
fn unsupported(file: &Path) -> ModuleReport {
    let mut report = ModuleReport::new(file);
    report.module = file.display().to_string();
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    report.problem = Some(match ext {
        "ts" => "a TypeScript declaration file holds no code to test".into(),
        _ => format!(
            "no test generator for .{ext} files (Python and JavaScript are supported); nothing was written"
        ),
    });
    report
}

/// Directories that hold dependencies or build output, never code to test.
const NOT_SOURCE: &[&str] = &[
    "node_modules",
    "dist",
    "build",
    "coverage",
    "tests",
    "test",
    "testing",
    "__tests__",
];

/// Python and JavaScript modules under `path` that are not tests, configuration, setup
/// scripts or build output.
fn source_modules(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out: Vec<PathBuf> = ignore::WalkBuilder::new(path)
        .build()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| language_of(p).is_some())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let rel = p.strip_prefix(path).unwrap_or(p);
            let in_tests = rel.components().any(|c| {
                c.as_os_str()
                    .to_str()
                    .is_some_and(|c| NOT_SOURCE.contains(&c))
            });
            let js_test_or_config = [".test.", ".spec.", ".config.", ".min."]
                .iter()
                .any(|m| name.contains(m));
            let python_test_or_setup = name.starts_with("test_")
                || name.ends_with("_test.py")
                || matches!(name, "conftest.py" | "setup.py" | "__main__.py");
            let skip = match language_of(p) {
                Some(Language::JavaScript) => js_test_or_config,
                // Binaries and build scripts are not reachable from tests.
                Some(Language::Rust) => {
                    matches!(name, "main.rs" | "build.rs")
                        || p.components()
                            .any(|c| c.as_os_str() == "bin" || c.as_os_str() == "target")
                }
                _ => python_test_or_setup,
            };
            !in_tests && !skip
        })
        .collect();
    out.sort();
    out
}
