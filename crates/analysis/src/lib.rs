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

pub use analyzer::{AnalyzeError, Analyzer, NoProgress, Progress, SourceFile};
pub use config::{ProjectConfig, Thresholds};
pub use lang::Dialect;
pub use model::*;
pub use rules::registry::{rule, rules, RuleSelection};
pub use rules::RuleMeta;
pub use suppress::{Baseline, SuppressionSource};
pub use testmap::risk;
