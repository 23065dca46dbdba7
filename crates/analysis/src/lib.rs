//! qa-agent's analysis engine: parses Python, JavaScript, TypeScript, Rust, Go and Java
//! with tree-sitter and reports per-function metrics, rule findings and test gaps.
//!
//! Entry points: [`Analyzer::analyze_path`] for a directory on disk and
//! [`Analyzer::analyze_files`] for files held in memory (what the services use). Results
//! are cached by content hash, so re-analysing a tree only parses what changed.
//!
//! The engine does no network or database IO, never panics on bad input (binary files,
//! invalid UTF-8, syntax errors, huge or pathological files become [`Diagnostic`]s), and
//! bounds the time spent parsing any one file.

mod analyzer;
pub mod config;
mod discover;
mod fingerprint;
pub mod lang;
mod metrics;
pub mod model;
mod parse;
pub mod rules;
mod source;
pub mod suppress;
mod testmap;
mod walk;

/// How every metric is counted, per language (the same text as `docs/metrics.md`).
#[doc = include_str!("../../../docs/metrics.md")]
pub mod counting_rules {}

pub use analyzer::{
    AnalyzeError, Analyzer, CacheStats, NoProgress, Progress, SourceFile, apply_suppressions,
};
pub use config::{ProjectConfig, Thresholds};
pub use lang::Dialect;
pub use model::*;
pub use parse::{ParseError, parse as parse_tree};
pub use rules::RuleMeta;
pub use rules::registry::{RuleSelection, rule, rules};
pub use suppress::{Baseline, Dismissals, SuppressionSource};
pub use testmap::risk;

/// Parses `text` and drops the tree: the baseline benchmarks compare analysis against.
#[doc(hidden)]
pub fn bench_parse(dialect: Dialect, text: &[u8]) -> bool {
    parse::parse(dialect, text, std::time::Duration::from_secs(60)).is_ok()
}

/// The JSON Schema (draft 2020-12) of the JSON report, [`RepoAnalysis`] serialised.
pub fn report_schema() -> serde_json::Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(RepoAnalysis)).expect("schemas serialise");
    schema["$id"] = serde_json::json!(format!(
        "https://github.com/qa-agent/qa-agent/docs/schema/analysis-report-v{}.json",
        SCHEMA_VERSION.split('.').next().unwrap_or("1")
    ));
    schema["title"] = serde_json::json!("qa-agent analysis report");
    schema
}
