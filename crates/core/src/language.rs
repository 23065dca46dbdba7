use std::fmt;

use serde::{Deserialize, Serialize};

/// A programming language qa-agent analyses.
///
/// Dialects (JSX, TSX) are not separate languages: they share metrics and rules with their
/// base language and only pick a different grammar.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    JavaScript,
    TypeScript,
    Rust,
    Go,
    Java,
}

impl Language {
    pub const ALL: [Language; 6] = [
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Rust,
        Language::Go,
        Language::Java,
    ];

    /// The lowercase identifier used in JSON, configuration and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Rust => "rust",
            Language::Go => "go",
            Language::Java => "java",
        }
    }

    /// Parses the identifier produced by [`Language::as_str`] (case-insensitive; a few common
    /// aliases such as `js`, `ts`, `py` are accepted).
    pub fn parse(s: &str) -> Option<Language> {
        Some(match s.to_ascii_lowercase().as_str() {
            "python" | "py" => Language::Python,
            "javascript" | "js" | "jsx" => Language::JavaScript,
            "typescript" | "ts" | "tsx" => Language::TypeScript,
            "rust" | "rs" => Language::Rust,
            "go" | "golang" => Language::Go,
            "java" => Language::Java,
            _ => return None,
        })
    }

    /// The name shown to people ("JavaScript", not "javascript").
    pub fn display_name(self) -> &'static str {
        match self {
            Language::Python => "Python",
            Language::JavaScript => "JavaScript",
            Language::TypeScript => "TypeScript",
            Language::Rust => "Rust",
            Language::Go => "Go",
            Language::Java => "Java",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}
