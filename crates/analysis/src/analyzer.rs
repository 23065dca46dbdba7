//! The analysis pipeline: discover → read → parse and walk (in parallel, cached) → map
//! tests → summarise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use quick_cache::sync::Cache;
use rayon::prelude::*;

use crate::config::{ConfigError, PathFilter, ProjectConfig};
use crate::discover::{DiscoverOptions, discover};
use crate::fingerprint::content_hash;
use crate::lang::Dialect;
use crate::model::*;
use crate::rules::registry::RuleSelection;
use crate::source::{decode, generated_reason};
use crate::suppress::SuppressionSource;
use crate::walk::{FileSettings, analyze_text};

/// Progress of an analysis, reported from worker threads.
pub trait Progress: Sync {
    fn start(&self, _total: usize) {}
    fn advance(&self, _path: &str) {}
    fn finish(&self) {}
}

/// Reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// A file held in memory, for [`Analyzer::analyze_files`].
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Relative path with `/` separators; decides the language and test conventions.
    pub path: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("{0} does not exist (give a directory or a file to analyse)")]
    MissingPath(PathBuf),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid qa-agent.toml: {0}")]
    Rules(String),
}

/// Analyses trees and file sets with one configuration. Cheap to share between threads;
/// keeps a cache of per-file results keyed by path, content hash and settings.
pub struct Analyzer {
    config: ProjectConfig,
    settings: FileSettings,
    settings_digest: String,
    filter: PathFilter,
    jobs: usize,
    cache: Cache<String, Arc<FileAnalysis>>,
    hits: AtomicU64,
    misses: AtomicU64,
    caching: bool,
    /// Worker threads, created on first use and kept: a service analyses many requests.
    pool: std::sync::OnceLock<rayon::ThreadPool>,
}

/// How often files were served from the analysis cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Files whose results came from the cache (not parsed again).
    pub hits: u64,
    /// Files parsed and analysed.
    pub misses: u64,
}

/// Files cached per analyzer (a few hundred bytes to a few KiB each).
const CACHE_FILES: usize = 100_000;

impl Analyzer {
    pub fn new(config: ProjectConfig) -> Result<Analyzer, AnalyzeError> {
        let rules = RuleSelection::from_config(&config.rules).map_err(AnalyzeError::Rules)?;
        let filter = config.path_filter().map_err(AnalyzeError::Rules)?;
        let settings = FileSettings {
            thresholds: config.thresholds,
            dispatch: Arc::new(crate::rules::registry::DispatchTables::new(&rules)),
            rules,
            parse_timeout: Duration::from_millis(config.analysis.parse_timeout_ms.max(1)),
        };
        let settings_digest = format!(
            "{:?}|{}|{}",
            settings.thresholds,
            settings.rules.digest(),
            config.analysis.skip_generated
        );
        Ok(Analyzer {
            config,
            settings,
            settings_digest,
            filter,
            jobs: 0,
            cache: Cache::new(CACHE_FILES),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            caching: true,
            pool: std::sync::OnceLock::new(),
        })
    }

    /// Uses the `qa-agent.toml` found at `root`, if any.
    pub fn for_root(root: &Path) -> Result<Analyzer, AnalyzeError> {
        let dir = if root.is_file() {
            root.parent().unwrap_or(Path::new("."))
        } else {
            root
        };
        Analyzer::new(ProjectConfig::discover(dir)?)
    }

    /// Worker threads (0: one per core).
    pub fn with_jobs(mut self, jobs: usize) -> Analyzer {
        self.jobs = jobs;
        self
    }

    /// Keeps no per-file results between calls: for one-shot runs (the CLI), where a
    /// cache would only hold a second copy of everything.
    pub fn without_cache(mut self) -> Analyzer {
        self.cache = Cache::new(1);
        self.caching = false;
        self
    }

    /// Replaces the rule selection (e.g. to run only some rules).
    pub fn with_rules(mut self, rules: RuleSelection) -> Analyzer {
        self.settings_digest = format!("{}|{}", self.settings_digest, rules.digest());
        self.settings.dispatch = Arc::new(crate::rules::registry::DispatchTables::new(&rules));
        self.settings.rules = rules;
        self
    }

    pub fn config(&self) -> &ProjectConfig {
        &self.config
    }

    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// Discovers, reads and parses the files under `root` without analysing them: the
    /// baseline the benchmarks compare a full analysis against. Returns files and bytes.
    #[doc(hidden)]
    pub fn parse_only(&self, root: &Path) -> Result<(usize, u64), AnalyzeError> {
        if !root.exists() {
            return Err(AnalyzeError::MissingPath(root.to_path_buf()));
        }
        let (candidates, _) = discover(
            root,
            &DiscoverOptions {
                filter: &self.filter,
                skip_vendored: self.config.analysis.skip_vendored,
            },
        );
        let limit = self.config.analysis.max_file_size;
        let timeout = self.settings.parse_timeout;
        let skip_generated = self.config.analysis.skip_generated;
        let parsed: Vec<u64> = self.pool().install(|| {
            candidates
                .par_iter()
                .filter_map(|c| {
                    let bytes = std::fs::read(&c.abs_path).ok()?;
                    let text = decode(bytes, limit).ok()?.text;
                    if skip_generated
                        && generated_reason(&c.rel_path, &text, c.dialect.language()).is_some()
                    {
                        return None;
                    }
                    crate::parse::parse(c.dialect, text.as_bytes(), timeout).ok()?;
                    Some(text.len() as u64)
                })
                .collect()
        });
        Ok((parsed.len(), parsed.iter().sum()))
    }

    /// Analyses a directory (or one file) on disk.
    pub fn analyze_path(
        &self,
        root: &Path,
        progress: &dyn Progress,
    ) -> Result<RepoAnalysis, AnalyzeError> {
        if !root.exists() {
            return Err(AnalyzeError::MissingPath(root.to_path_buf()));
        }
        let (candidates, mut diagnostics) = discover(
            root,
            &DiscoverOptions {
                filter: &self.filter,
                skip_vendored: self.config.analysis.skip_vendored,
            },
        );
        progress.start(candidates.len());
        let limit = self.config.analysis.max_file_size;
        let results: Vec<(Option<FileAnalysis>, Vec<Diagnostic>)> = self.pool().install(|| {
            candidates
                .par_iter()
                .map(|c| {
                    let r = self.read_and_analyze(&c.abs_path, &c.rel_path, c.dialect, limit);
                    progress.advance(&c.rel_path);
                    r
                })
                .collect()
        });
        progress.finish();
        let mut files = Vec::with_capacity(results.len());
        for (file, diags) in results {
            files.extend(file);
            diagnostics.extend(diags);
        }
        Ok(self.assemble(root.display().to_string(), files, diagnostics))
    }

    /// Analyses files held in memory. Paths decide language and test conventions;
    /// include/exclude globs from the configuration apply.
    pub fn analyze_files(&self, files: Vec<SourceFile>) -> RepoAnalysis {
        let limit = self.config.analysis.max_file_size;
        let results: Vec<(Option<FileAnalysis>, Vec<Diagnostic>)> = self.pool().install(|| {
            files
                .into_par_iter()
                .filter(|f| self.filter.accepts(&f.path))
                .filter_map(|f| {
                    let dialect = Dialect::from_path(Path::new(&f.path))?;
                    Some(self.analyze_bytes(&f.path, f.bytes, dialect, limit))
                })
                .collect()
        });
        let mut out = Vec::new();
        let mut diagnostics = Vec::new();
        for (file, diags) in results {
            out.extend(file);
            diagnostics.extend(diags);
        }
        self.assemble(String::new(), out, diagnostics)
    }

    /// Marks findings suppressed by external sources (baselines, dismissals) and updates
    /// the summary counts.
    pub fn apply_suppressions(
        &self,
        analysis: &mut RepoAnalysis,
        sources: &[&dyn SuppressionSource],
    ) {
        apply_suppressions(analysis, sources);
    }

    fn pool(&self) -> &rayon::ThreadPool {
        self.pool.get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(self.jobs)
                // Deeply nested code makes deep (bounded) recursion in the metrics.
                .stack_size(16 * 1024 * 1024)
                .build()
                .expect("thread pool with valid settings")
        })
    }

    fn read_and_analyze(
        &self,
        abs: &Path,
        rel: &str,
        dialect: Dialect,
        limit: u64,
    ) -> (Option<FileAnalysis>, Vec<Diagnostic>) {
        let diag = |kind, message: String| Diagnostic {
            path: rel.to_string(),
            line: None,
            kind,
            message,
        };
        // Check the size before reading so a huge file costs nothing.
        match std::fs::metadata(abs) {
            Ok(m) if m.len() > limit => {
                return (
                    None,
                    vec![diag(
                        DiagnosticKind::TooLarge,
                        format!(
                            "file is {} bytes, over the {limit}-byte limit (raise `analysis.max_file_size` in qa-agent.toml to analyse it)",
                            m.len()
                        ),
                    )],
                );
            }
            Ok(_) => {}
            Err(e) => {
                return (
                    None,
                    vec![diag(DiagnosticKind::Io, format!("cannot read: {e}"))],
                );
            }
        }
        if self.config.analysis.skip_generated
            && let Some(map) = crate::source::compiled_output_map(abs, dialect.language())
        {
            return (
                None,
                vec![diag(
                    DiagnosticKind::Skipped,
                    format!(
                        "compiled output file skipped: `{map}` next to it maps it to its sources (set `analysis.skip_generated = false` in qa-agent.toml to analyse it)"
                    ),
                )],
            );
        }
        match std::fs::read(abs) {
            Ok(bytes) => self.analyze_bytes(rel, bytes, dialect, limit),
            Err(e) => (
                None,
                vec![diag(DiagnosticKind::Io, format!("cannot read: {e}"))],
            ),
        }
    }

    fn analyze_bytes(
        &self,
        rel: &str,
        bytes: Vec<u8>,
        dialect: Dialect,
        limit: u64,
    ) -> (Option<FileAnalysis>, Vec<Diagnostic>) {
        let hash = content_hash(&bytes);
        let key = format!("{rel}\u{0}{hash}\u{0}{}", self.settings_digest);
        if self.caching
            && let Some(hit) = self.cache.get(&key)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return (Some((*hit).clone()), Vec::new());
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let decoded = match decode(bytes, limit) {
            Ok(d) => d,
            Err(e) => {
                let kind = match e {
                    crate::source::SourceError::TooLarge { .. } => DiagnosticKind::TooLarge,
                    crate::source::SourceError::Binary => DiagnosticKind::Binary,
                };
                return (
                    None,
                    vec![Diagnostic {
                        path: rel.to_string(),
                        line: None,
                        kind,
                        message: format!("{e}; the file was skipped"),
                    }],
                );
            }
        };
        let text = decoded.text;
        if self.config.analysis.skip_generated
            && let Some(reason) = generated_reason(rel, &text, dialect.language())
        {
            return (
                None,
                vec![Diagnostic {
                    path: rel.to_string(),
                    line: None,
                    kind: DiagnosticKind::Skipped,
                    message: format!(
                        "{reason} file skipped (set `analysis.skip_generated = false` in qa-agent.toml to analyse it)"
                    ),
                }],
            );
        }
        // A bug in one rule or metric must not take the whole run down: the file becomes
        // a diagnostic and the other files are still analysed.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            analyze_text(rel, &text, dialect, &self.settings)
        }));
        let mut outcome = match run {
            Ok(outcome) => outcome,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                return (
                    None,
                    vec![Diagnostic {
                        path: rel.to_string(),
                        line: None,
                        kind: DiagnosticKind::InternalError,
                        message: format!(
                            "qa-agent failed on this file and left it out ({what}); the rest was analysed. Please report this with the file"
                        ),
                    }],
                );
            }
        };
        if let Some((offset, line)) = decoded.invalid_utf8 {
            outcome.diagnostics.push(Diagnostic {
                path: rel.to_string(),
                line: Some(line as u32),
                kind: DiagnosticKind::InvalidUtf8,
                message: format!(
                    "file is not valid UTF-8 (first invalid byte at offset {offset}, line {line}); invalid bytes were read as U+FFFD and the rest analysed (save it as UTF-8 to silence this)"
                ),
            });
        }
        let file = FileAnalysis {
            path: rel.to_string(),
            language: dialect.language(),
            lines: outcome.lines,
            nloc: outcome.nloc,
            is_test: outcome.is_test,
            imports: outcome.imports,
            functions: outcome.functions,
            classes: outcome.classes,
            findings: outcome.findings,
            content_hash: hash,
            refs: outcome.refs,
        };
        // Files with diagnostics (syntax errors, timeouts) are not cached so the
        // diagnostic is reported again next time.
        if self.caching && outcome.diagnostics.is_empty() {
            self.cache.insert(key, Arc::new(file.clone()));
        }
        (Some(file), outcome.diagnostics)
    }

    fn assemble(
        &self,
        root: String,
        mut files: Vec<FileAnalysis>,
        mut diagnostics: Vec<Diagnostic>,
    ) -> RepoAnalysis {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        diagnostics.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        let test_gaps = crate::testmap::map_tests(&files);
        let summary = summarize(&files);
        RepoAnalysis {
            schema_version: SCHEMA_VERSION.to_string(),
            tool: ToolInfo {
                name: "qa-agent".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            root,
            summary,
            files,
            test_gaps,
            diagnostics,
        }
    }
}

/// How many hotspots the summary lists.
const HOTSPOTS: usize = 10;

fn summarize(files: &[FileAnalysis]) -> Summary {
    let mut s = Summary::default();
    let mut cc_sum = 0u64;
    let mut all: Vec<(&FileAnalysis, &FunctionInfo)> = Vec::new();
    for f in files {
        s.files += 1;
        s.test_files += u32::from(f.is_test);
        s.lines += u64::from(f.lines);
        s.nloc += u64::from(f.nloc);
        s.functions += f.functions.len() as u32;
        s.classes += f.classes.len() as u32;
        let lang = s.languages.entry(f.language).or_default();
        lang.files += 1;
        lang.nloc += u64::from(f.nloc);
        lang.functions += f.functions.len() as u32;
        lang.classes += f.classes.len() as u32;
        for func in &f.functions {
            cc_sum += u64::from(func.cyclomatic);
            s.max_cyclomatic = s.max_cyclomatic.max(func.cyclomatic);
            if !f.is_test && !func.is_test {
                all.push((f, func));
            }
        }
    }
    if s.functions > 0 {
        s.average_cyclomatic = ((cc_sum as f64 / f64::from(s.functions)) * 100.0).round() / 100.0;
    }
    all.sort_by(|a, b| {
        (b.1.cyclomatic, b.1.cognitive)
            .cmp(&(a.1.cyclomatic, a.1.cognitive))
            .then_with(|| a.0.path.cmp(&b.0.path))
            .then(a.1.start_line.cmp(&b.1.start_line))
    });
    s.hotspots = all
        .into_iter()
        .take(HOTSPOTS)
        .map(|(f, func)| Hotspot {
            path: f.path.clone(),
            qualified_name: func.qualified_name.clone(),
            start_line: func.start_line,
            cyclomatic: func.cyclomatic,
            cognitive: func.cognitive,
            nloc: func.nloc,
        })
        .collect();
    s.findings_by_severity = severity_counts(files);
    s.suppressed_findings = suppressed_count(files);
    s
}

fn severity_counts(files: &[FileAnalysis]) -> BTreeMap<qa_core::Severity, u32> {
    let mut m = BTreeMap::new();
    for f in files.iter().flat_map(|f| &f.findings) {
        if !f.is_suppressed() {
            *m.entry(f.severity).or_insert(0) += 1;
        }
    }
    m
}

fn suppressed_count(files: &[FileAnalysis]) -> u32 {
    files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|f| f.is_suppressed())
        .count() as u32
}

/// Marks findings suppressed by external sources (baselines, users' dismissals) in a
/// finished analysis, stored or fresh, and updates the summary counts.
pub fn apply_suppressions(analysis: &mut RepoAnalysis, sources: &[&dyn SuppressionSource]) {
    for file in &mut analysis.files {
        for f in &mut file.findings {
            for source in sources {
                if let Some(s) = source.check(f) {
                    f.suppressions.push(s);
                }
            }
        }
    }
    analysis.summary.findings_by_severity = severity_counts(&analysis.files);
    analysis.summary.suppressed_findings = suppressed_count(&analysis.files);
}
