//! `qa-agent.toml`: per-repository settings for the analysis.
//!
//! ```toml
//! [analysis]
//! include = ["src/**"]          # only these paths (globs relative to the root); default: all
//! exclude = ["**/migrations/**"] # never these
//! max_file_size = 1048576       # bytes; larger files are skipped with a diagnostic
//! parse_timeout_ms = 5000       # per-file parse bound
//! skip_vendored = true          # node_modules/, vendor/, third_party/, virtualenvs
//! skip_generated = true         # *.min.js, *_pb2.py, "Code generated ... DO NOT EDIT"
//!
//! [rules]
//! disable = ["MNT010"]          # rule ids or families ("performance")
//! enable = ["MNT014"]           # rules that are off by default
//! severity = { SEC013 = "critical" }
//!
//! [thresholds]
//! cyclomatic = 10
//! cognitive = 15
//! function_nloc = 80
//! parameters = 6
//! nesting = 4
//! file_nloc = 1000
//! class_methods = 30
//! ```
//! Unknown keys are errors, so a typo never silently does nothing.

use std::{collections::BTreeMap, path::Path};

use globset::{Glob, GlobSet, GlobSetBuilder};
use qa_core::Severity;
use serde::Deserialize;

/// The file name looked for at the root of an analysed tree.
pub const CONFIG_FILE: &str = "qa-agent.toml";

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectConfig {
    pub analysis: AnalysisSection,
    pub rules: RulesSection,
    pub thresholds: Thresholds,
    /// The services' settings (`qa-agent serve`), read and validated by `qa-server`;
    /// accepted here so one `qa-agent.toml` can hold both.
    pub server: toml::Table,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisSection {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub max_file_size: u64,
    pub parse_timeout_ms: u64,
    pub skip_vendored: bool,
    pub skip_generated: bool,
}

impl Default for AnalysisSection {
    fn default() -> Self {
        AnalysisSection {
            include: Vec::new(),
            exclude: Vec::new(),
            max_file_size: 1024 * 1024,
            parse_timeout_ms: 5_000,
            skip_vendored: true,
            skip_generated: true,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RulesSection {
    pub disable: Vec<String>,
    pub enable: Vec<String>,
    pub severity: BTreeMap<String, Severity>,
}

/// Limits used by the maintainability threshold rules. A function is reported when its
/// value is strictly greater than the threshold.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    pub cyclomatic: u32,
    pub cognitive: u32,
    pub function_nloc: u32,
    pub parameters: u32,
    pub nesting: u32,
    pub file_nloc: u32,
    pub class_methods: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        // CC 10 is McCabe's own limit (and radon's "B" grade ceiling); cognitive 15 is
        // SonarQube's default; the rest follow common linter defaults (pylint, Sonar).
        Thresholds {
            cyclomatic: 10,
            cognitive: 15,
            function_nloc: 80,
            parameters: 6,
            nesting: 4,
            file_nloc: 1000,
            class_methods: 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid {path}: {message}")]
    Invalid { path: String, message: String },
}

impl ProjectConfig {
    /// Reads `qa-agent.toml` from `root` if it exists; defaults otherwise.
    pub fn discover(root: &Path) -> Result<ProjectConfig, ConfigError> {
        let path = root.join(CONFIG_FILE);
        if !path.is_file() {
            return Ok(ProjectConfig::default());
        }
        ProjectConfig::load(&path)
    }

    pub fn load(path: &Path) -> Result<ProjectConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        ProjectConfig::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses and validates the TOML text; the error names the offending key.
    pub fn parse(text: &str) -> Result<ProjectConfig, String> {
        let config: ProjectConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.path_filter()?;
        Ok(config)
    }

    /// Compiles the include/exclude globs.
    pub fn path_filter(&self) -> Result<PathFilter, String> {
        Ok(PathFilter {
            include: build_globs(&self.analysis.include, "analysis.include")?,
            exclude: build_globs(&self.analysis.exclude, "analysis.exclude")?,
        })
    }
}

fn build_globs(patterns: &[String], key: &str) -> Result<Option<GlobSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|e| format!("{key}: bad glob `{p}`: {e}"))?;
        builder.add(glob);
        // `dir/**` should also match when written as `dir` or `dir/`.
        let trimmed = p.trim_end_matches('/');
        if !trimmed.contains('*') {
            let glob = Glob::new(&format!("{trimmed}/**"))
                .map_err(|e| format!("{key}: bad glob `{p}`: {e}"))?;
            builder.add(glob);
        }
    }
    builder.build().map(Some).map_err(|e| format!("{key}: {e}"))
}

/// Include/exclude decisions on root-relative paths with `/` separators.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl PathFilter {
    pub fn accepts(&self, rel_path: &str) -> bool {
        if self.exclude.as_ref().is_some_and(|g| g.is_match(rel_path)) {
            return false;
        }
        self.include.as_ref().is_none_or(|g| g.is_match(rel_path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_config() {
        let c = ProjectConfig::parse(
            r#"
            [analysis]
            include = ["src/**"]
            exclude = ["src/gen"]
            max_file_size = 10
            [rules]
            disable = ["MNT010"]
            severity = { SEC013 = "critical" }
            [thresholds]
            cyclomatic = 5
            "#,
        )
        .unwrap();
        assert_eq!(c.analysis.max_file_size, 10);
        assert_eq!(c.thresholds.cyclomatic, 5);
        assert_eq!(c.thresholds.cognitive, 15);
        assert_eq!(c.rules.severity["SEC013"], Severity::Critical);
        let f = c.path_filter().unwrap();
        assert!(f.accepts("src/a.py"));
        assert!(!f.accepts("src/gen/a.py"));
        assert!(!f.accepts("lib/a.py"));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let err = ProjectConfig::parse("[thresholds]\ncyclomatc = 3\n").unwrap_err();
        assert!(err.contains("cyclomatc"), "{err}");
        let err = ProjectConfig::parse("[rules]\nseverity = { X = \"huge\" }\n").unwrap_err();
        assert!(err.contains("huge"), "{err}");
        let err = ProjectConfig::parse("[analysis]\ninclude = [\"a/{b\"]\n").unwrap_err();
        assert!(err.contains("analysis.include"), "{err}");
    }
}
