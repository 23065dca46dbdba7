//! Scoring a real test suite: pytest against each mutant, in a private copy of the project.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use qa_sandbox::{Command, Limits, Sandbox, Status};
use serde::Serialize;

use super::Mutant;
use crate::GenerateError;
use crate::python::project::{ModuleLocation, project_root};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Killed,
    /// Killed by exceeding the time limit (an infinite loop the mutant caused).
    TimedOut,
    Survived,
    /// No test executes the mutated line.
    NotCovered,
}

#[derive(Debug, Clone, Serialize)]
pub struct MutantResult {
    #[serde(flatten)]
    pub mutant: Mutant,
    pub function: Option<String>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionScore {
    pub function: String,
    pub killed: usize,
    pub total: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct MutationReport {
    pub module: String,
    pub file: PathBuf,
    pub total: usize,
    pub killed: usize,
    pub survived: usize,
    pub not_covered: usize,
    /// Mutants not run because the budget ran out (not counted in the score).
    pub skipped: usize,
    /// killed / (total - skipped); absent when nothing was run.
    pub score: Option<f64>,
    pub per_function: Vec<FunctionScore>,
    pub results: Vec<MutantResult>,
    pub wall_seconds: f64,
    pub sandbox: qa_sandbox::Mode,
}

pub struct MutateOptions<'a> {
    pub file: &'a Path,
    /// Test files or directories (host paths, inside the project).
    pub tests: &'a [PathBuf],
    /// `(qualified name, first line, last line)` of the functions to mutate; all when empty.
    pub functions: &'a [(String, u32, u32)],
    pub budget: Option<Duration>,
    pub jobs: usize,
}

const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    "dist",
    "build",
    ".nox",
    "target",
];
const MAX_COPY_BYTES: u64 = 256 << 20;

/// Runs every mutant of `options.file` against `options.tests`.
pub fn run(sandbox: &Sandbox, options: &MutateOptions) -> Result<MutationReport, GenerateError> {
    let started = Instant::now();
    let location = ModuleLocation::of(options.file).map_err(GenerateError::Io)?;
    let root = project_root(&location);
    let source =
        std::fs::read_to_string(&location.file).map_err(|e| GenerateError::Unreadable {
            path: location.file.clone(),
            reason: e.to_string(),
        })?;
    let ranges: Vec<(u32, u32)> = options.functions.iter().map(|(_, a, b)| (*a, *b)).collect();
    let mutants = super::python::mutants(&source, &ranges);
    let function_of = |line: u32| {
        options
            .functions
            .iter()
            .filter(|(_, a, b)| (*a..=*b).contains(&line))
            .min_by_key(|(_, a, b)| b - a)
            .map(|(name, _, _)| name.clone())
    };

    let jobs = options.jobs.clamp(1, 4);
    let copies: Vec<tempfile::TempDir> = (0..jobs)
        .map(|_| snapshot(&root))
        .collect::<Result<_, _>>()?;
    let rel_module = location
        .file
        .strip_prefix(&root)
        .unwrap_or(&location.file)
        .to_path_buf();
    // Test files outside the project (a generated file not written yet) are copied into
    // each copy of it; test directories must be inside.
    let mut rel_tests: Vec<PathBuf> = Vec::new();
    for t in options.tests {
        let t = t.canonicalize().map_err(|e| GenerateError::Unreadable {
            path: t.clone(),
            reason: e.to_string(),
        })?;
        match t.strip_prefix(&root) {
            Ok(rel) => rel_tests.push(rel.to_path_buf()),
            Err(_) if t.is_file() => {
                let rel = Path::new("qa_agent_tests").join(t.file_name().unwrap_or_default());
                for copy in &copies {
                    std::fs::create_dir_all(copy.path().join("qa_agent_tests"))
                        .map_err(GenerateError::Io)?;
                    std::fs::copy(&t, copy.path().join(&rel)).map_err(GenerateError::Io)?;
                }
                rel_tests.push(rel);
            }
            Err(_) => {
                return Err(GenerateError::TestsOutsideProject {
                    tests: t.clone(),
                    root: root.clone(),
                });
            }
        }
    }
    let rel_import_root = location
        .import_root
        .strip_prefix(&root)
        .unwrap_or(Path::new(""))
        .to_path_buf();

    // Baseline: the suite must pass on the original code, and line coverage says which
    // mutants no test can see.
    let first = copies[0].path();
    let baseline = pytest(
        sandbox,
        first,
        &rel_import_root,
        &rel_tests,
        true,
        Duration::from_secs(300),
    )?;
    if !baseline.success() {
        return Err(GenerateError::SuiteFailsBeforeMutation(tail(
            &baseline.stdout_text(),
            15,
        )));
    }
    let covered = covered_lines(first, &rel_module);
    let per_mutant_wall = baseline.wall * 3 + Duration::from_secs(5);

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Verdict>>> = Mutex::new(vec![None; mutants.len()]);
    let deadline = options.budget.map(|b| started + b);
    std::thread::scope(|scope| {
        for copy in &copies {
            let (mutants, results, next, source) = (&mutants, &results, &next, &source);
            let (rel_module, rel_tests, rel_import_root, covered) =
                (&rel_module, &rel_tests, &rel_import_root, &covered);
            scope.spawn(move || {
                let file = copy.path().join(rel_module);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(mutant) = mutants.get(i) else { break };
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    let verdict = if covered.as_ref().is_some_and(|c| !c.contains(&mutant.line)) {
                        Verdict::NotCovered
                    } else {
                        if std::fs::write(&file, mutant.apply(source)).is_err() {
                            continue;
                        }
                        let run = pytest(
                            sandbox,
                            copy.path(),
                            rel_import_root,
                            rel_tests,
                            false,
                            per_mutant_wall,
                        );
                        let _ = std::fs::write(&file, source);
                        match run {
                            Ok(o) if o.status == Status::TimedOut => Verdict::TimedOut,
                            Ok(o) if o.success() => Verdict::Survived,
                            // 5: no tests ran.
                            Ok(o) if o.status == Status::Exited(5) => Verdict::NotCovered,
                            Ok(_) => Verdict::Killed,
                            Err(_) => continue,
                        }
                    };
                    results.lock().unwrap()[i] = Some(verdict);
                }
            });
        }
    });

    let verdicts = results.into_inner().unwrap();
    let mut report = MutationReport {
        module: location.module.clone(),
        file: location.file.clone(),
        total: mutants.len(),
        killed: 0,
        survived: 0,
        not_covered: 0,
        skipped: 0,
        score: None,
        per_function: Vec::new(),
        results: Vec::new(),
        wall_seconds: 0.0,
        sandbox: sandbox.mode(),
    };
    let mut per_function: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for (mutant, verdict) in mutants.into_iter().zip(verdicts) {
        let Some(verdict) = verdict else {
            report.skipped += 1;
            continue;
        };
        let function = function_of(mutant.line);
        let entry = per_function
            .entry(function.clone().unwrap_or_else(|| "<module>".into()))
            .or_default();
        entry.1 += 1;
        match verdict {
            Verdict::Killed | Verdict::TimedOut => {
                report.killed += 1;
                entry.0 += 1;
            }
            Verdict::Survived => report.survived += 1,
            Verdict::NotCovered => report.not_covered += 1,
        }
        report.results.push(MutantResult {
            mutant,
            function,
            verdict,
        });
    }
    let run = report.total - report.skipped;
    report.score = (run > 0).then(|| report.killed as f64 / run as f64);
    report.per_function = per_function
        .into_iter()
        .map(|(function, (killed, total))| FunctionScore {
            function,
            killed,
            total,
        })
        .collect();
    report.wall_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Runs pytest in `dir` (optionally under coverage.py, writing `.qa-coverage.json`).
fn pytest(
    sandbox: &Sandbox,
    dir: &Path,
    import_root: &Path,
    tests: &[PathBuf],
    coverage: bool,
    wall: Duration,
) -> Result<qa_sandbox::Outcome, GenerateError> {
    let python = crate::python_interpreter();
    let mut args: Vec<String> = vec!["-X".into(), "utf8".into()];
    if coverage {
        args.extend(["-m", "coverage", "run", "--data-file=.qa-coverage", "-m"].map(String::from));
    } else {
        args.push("-m".into());
    }
    args.extend(crate::python::pytest::PYTEST.map(String::from));
    // The first failing test is enough to call a mutant killed.
    args.push("-x".into());
    args.extend(tests.iter().map(|t| t.display().to_string()));
    let inner_root = sandbox.path_inside(dir, &dir.join(import_root));
    let limits = Limits {
        wall,
        cpu: wall + Duration::from_secs(1),
        ..Limits::default()
    };
    let command = Command::new(python.clone(), dir)
        .args(args)
        .env("PYTHONPATH", inner_root.display().to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .limits(limits);
    let outcome = sandbox.run(&command)?;
    if coverage && outcome.success() {
        let report = Command::new(python, dir)
            .args([
                "-m",
                "coverage",
                "json",
                "--data-file=.qa-coverage",
                "-o",
                ".qa-coverage.json",
                "-q",
            ])
            .limits(Limits {
                wall: Duration::from_secs(60),
                ..Limits::default()
            });
        sandbox.run(&report)?;
    }
    Ok(outcome)
}

/// Lines of the module executed by the baseline run; `None` when coverage is unavailable.
fn covered_lines(dir: &Path, rel_module: &Path) -> Option<std::collections::HashSet<u32>> {
    let text = std::fs::read_to_string(dir.join(".qa-coverage.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let files = json.get("files")?.as_object()?;
    let wanted = rel_module.to_string_lossy();
    let (_, file) = files
        .iter()
        .find(|(name, _)| name.ends_with(wanted.as_ref()))?;
    Some(
        file.get("executed_lines")?
            .as_array()?
            .iter()
            .filter_map(|l| l.as_u64().map(|l| l as u32))
            .collect(),
    )
}

/// A copy of the project to mutate, without VCS data, caches and virtual environments.
pub(crate) fn snapshot(root: &Path) -> Result<tempfile::TempDir, GenerateError> {
    let dir = tempfile::Builder::new()
        .prefix("qa-mutate-")
        .tempdir()
        .map_err(GenerateError::Io)?;
    let mut copied = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let rel = path.strip_prefix(root).unwrap_or(Path::new(""));
        let target = dir.path().join(rel);
        let meta = std::fs::symlink_metadata(&path).map_err(GenerateError::Io)?;
        if meta.is_dir() {
            std::fs::create_dir_all(&target).map_err(GenerateError::Io)?;
            for entry in std::fs::read_dir(&path).map_err(GenerateError::Io)? {
                let entry = entry.map_err(GenerateError::Io)?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if SKIP_DIRS.contains(&name.as_ref()) || name.ends_with(".egg-info") {
                    continue;
                }
                stack.push(entry.path());
            }
        } else if meta.is_file() {
            copied += meta.len();
            if copied > MAX_COPY_BYTES {
                return Err(GenerateError::ProjectTooLarge(root.to_path_buf()));
            }
            std::fs::copy(&path, &target).map_err(GenerateError::Io)?;
        }
    }
    Ok(dir)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
