use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Severity, Span};

/// The three families every rule belongs to.
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
pub enum RuleFamily {
    Security,
    Performance,
    Maintainability,
}

impl RuleFamily {
    pub const ALL: [RuleFamily; 3] = [
        RuleFamily::Security,
        RuleFamily::Performance,
        RuleFamily::Maintainability,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleFamily::Security => "security",
            RuleFamily::Performance => "performance",
            RuleFamily::Maintainability => "maintainability",
        }
    }

    pub fn parse(s: &str) -> Option<RuleFamily> {
        RuleFamily::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for RuleFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem a rule found at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// Stable rule id, e.g. `SEC001`.
    pub rule_id: String,
    pub family: RuleFamily,
    pub severity: Severity,
    pub message: String,
    /// Path relative to the analysed root, with `/` separators.
    pub path: String,
    pub span: Span,
    /// Qualified name of the enclosing function, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Hash of rule, path and the normalised text around the finding: unaffected by edits
    /// elsewhere in the file that only shift lines.
    pub fingerprint: String,
    /// Why this finding is not reported, if it is suppressed. Suppressed findings are kept
    /// (SARIF lists them with `suppressions`) but never fail a run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
}

impl Finding {
    pub fn is_suppressed(&self) -> bool {
        !self.suppressions.is_empty()
    }
}

/// Where a suppression came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionKind {
    /// A `qa-agent: ignore[...]` or `# nosec` comment in the source.
    InSource,
    /// A baseline file or another record kept outside the source (e.g. a user's dismissal).
    External,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Suppression {
    pub kind: SuppressionKind,
    /// Which source suppressed it: `inline`, `nosec`, `baseline`, `dismissal`, ...
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}
