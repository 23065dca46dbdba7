//! The results of an analysis. These types are the JSON report's schema
//! (`docs/json-schema.md`, version [`SCHEMA_VERSION`]): change them only additively, and bump
//! the version when a change is not.

use std::collections::BTreeMap;

use qa_core::{Finding, Language, Severity};
use serde::{Deserialize, Serialize};

/// Version of the JSON report format. Minor bumps add fields; a major bump breaks readers.
pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FunctionKind {
    /// A free function (`def` at module level, `function f`, Go `func f`, Rust `fn`).
    Function,
    /// A function defined inside a class, impl block, trait or interface.
    Method,
    /// A constructor (`__init__`, Java/JS `constructor`).
    Constructor,
    /// A named function defined inside another function.
    Nested,
    /// An anonymous function: lambda, arrow function, closure, function literal.
    Anonymous,
}

/// Metrics of one function or method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FunctionInfo {
    pub name: String,
    /// `Class.method`, `outer.inner`, `Type::method` (Rust, Go receivers written `Type.method`).
    pub qualified_name: String,
    pub kind: FunctionKind,
    pub start_line: u32,
    pub end_line: u32,
    pub parameters: Vec<String>,
    /// Lines of code: lines in the function that hold something other than comments/blanks.
    pub nloc: u32,
    pub cyclomatic: u32,
    pub cognitive: u32,
    pub max_nesting: u32,
    /// Its cognitive complexity is also counted in the enclosing function's (a nested
    /// function whose parent has structure of its own, or any nested Python function).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cognitive_in_parent: bool,
    /// Whether this function is a test (by its framework's conventions).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_test: bool,
    /// Whether the function is part of its module's public surface.
    pub is_public: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClassInfo {
    pub name: String,
    pub qualified_name: String,
    pub start_line: u32,
    pub end_line: u32,
    /// Qualified names of the methods defined directly in this class.
    pub methods: Vec<String>,
    pub nloc: u32,
    pub total_cyclomatic: u32,
    pub total_cognitive: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticKind {
    SyntaxError,
    ParseTimeout,
    TooLarge,
    Binary,
    InvalidUtf8,
    Io,
    SymlinkLoop,
    Skipped,
    /// qa-agent itself failed on this file (a bug): the file is left out, the rest of
    /// the tree is analysed.
    InternalError,
}

/// Something about the input that the user should know: a file not analysed, or analysed
/// only in part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Diagnostic {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub kind: DiagnosticKind,
    pub message: String,
}

/// Everything learned about one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileAnalysis {
    pub path: String,
    pub language: Language,
    pub lines: u32,
    pub nloc: u32,
    pub is_test: bool,
    pub imports: Vec<String>,
    pub functions: Vec<FunctionInfo>,
    pub classes: Vec<ClassInfo>,
    pub findings: Vec<Finding>,
    /// 128-bit XXH3 of the file's bytes, 32 lowercase hex digits: changes whenever the
    /// content does.
    pub content_hash: String,
    #[serde(skip)]
    pub(crate) refs: crate::testmap::FileRefs,
}

/// Per-language totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LanguageStats {
    pub files: u32,
    pub nloc: u64,
    pub functions: u32,
    pub classes: u32,
}

/// A function worth looking at first, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Hotspot {
    pub path: String,
    pub qualified_name: String,
    pub start_line: u32,
    pub cyclomatic: u32,
    pub cognitive: u32,
    pub nloc: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub files: u32,
    pub test_files: u32,
    pub lines: u64,
    pub nloc: u64,
    pub functions: u32,
    pub classes: u32,
    pub average_cyclomatic: f64,
    pub max_cyclomatic: u32,
    pub languages: BTreeMap<Language, LanguageStats>,
    /// Unsuppressed findings by severity.
    pub findings_by_severity: BTreeMap<Severity, u32>,
    pub suppressed_findings: u32,
    /// The most complex functions, worst first.
    pub hotspots: Vec<Hotspot>,
}

/// A test that references a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TestRef {
    pub path: String,
    pub test: String,
    pub line: u32,
}

/// A source function and the tests that exercise it (by reference).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TestedFunction {
    pub path: String,
    pub qualified_name: String,
    pub start_line: u32,
    /// How many tests reference it.
    pub test_count: u32,
    /// The first of them (at most ten), tests before helpers.
    pub tests: Vec<TestRef>,
}

/// A source function no test references, ranked by risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UntestedFunction {
    pub path: String,
    pub qualified_name: String,
    pub start_line: u32,
    pub cyclomatic: u32,
    pub cognitive: u32,
    pub nloc: u32,
    /// Call sites in non-test code that reference this function's name.
    pub fan_in: u32,
    pub is_public: bool,
    /// See `docs/analysis.md#risk-score`.
    pub risk: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TestGaps {
    /// Test frameworks detected from imports and conventions (`pytest`, `jest`, ...).
    pub frameworks: Vec<String>,
    pub test_functions: u32,
    pub source_functions: u32,
    pub tested_functions: u32,
    /// `tested_functions / source_functions`, absent when there are no source functions.
    pub tested_ratio: Option<f64>,
    /// Untested functions, riskiest first.
    pub untested: Vec<UntestedFunction>,
    pub tested: Vec<TestedFunction>,
}

/// The result of analysing a tree or a set of files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RepoAnalysis {
    pub schema_version: String,
    pub tool: ToolInfo,
    pub root: String,
    pub summary: Summary,
    pub files: Vec<FileAnalysis>,
    pub test_gaps: TestGaps,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl RepoAnalysis {
    /// All findings, in file order then line order.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.files.iter().flat_map(|f| f.findings.iter())
    }

    /// Unsuppressed findings at or above `min`.
    pub fn failing_findings(&self, min: Severity) -> impl Iterator<Item = &Finding> {
        self.findings()
            .filter(move |f| !f.is_suppressed() && f.severity >= min)
    }
}
