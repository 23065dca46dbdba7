//! Why a finding is not reported: in-source comments, baselines, and any other source
//! plugged in through [`SuppressionSource`] (the learning engine adds users' dismissals).

use std::collections::HashSet;
use std::path::Path;

use qa_core::{Finding, RuleFamily, Suppression, SuppressionKind};

/// A source of suppressions consulted for every finding after analysis.
pub trait SuppressionSource: Send + Sync {
    /// A short name shown in reports (`baseline`, `dismissal`).
    fn name(&self) -> &str;
    /// The suppression for this finding, if this source suppresses it.
    fn check(&self, finding: &Finding) -> Option<Suppression>;
}

/// `qa-agent: ignore[ID, ...]` (or a bare `qa-agent: ignore`) on the finding's line or on
/// a comment-only line just above it; `nosec` (Bandit, gosec) likewise, for security rules.
#[derive(Debug, Default)]
pub(crate) struct InlineSuppressions {
    /// (1-based line it applies to, rule ids or empty for all, is nosec)
    entries: Vec<(u32, Vec<String>, bool)>,
}

impl InlineSuppressions {
    pub fn from_comments(comments: &[(usize, &str)], src: &str) -> InlineSuppressions {
        let mut entries = Vec::new();
        let lines: Vec<&str> = if comments.is_empty() {
            Vec::new()
        } else {
            src.lines().collect()
        };
        for &(row, text) in comments {
            let parsed = parse_directive(text);
            let Some((ids, nosec)) = parsed else { continue };
            let line = row as u32 + 1;
            entries.push((line, ids.clone(), nosec));
            // A directive alone on its line covers the next line.
            let alone = lines
                .get(row)
                .is_some_and(|l| l.trim_start().starts_with(text.trim_start()));
            if alone {
                entries.push((line + 1, ids, nosec));
            }
        }
        InlineSuppressions { entries }
    }

    pub fn check(&self, f: &Finding) -> Option<Suppression> {
        let line = f.span.start_line;
        for (l, ids, nosec) in &self.entries {
            if *l != line {
                continue;
            }
            if *nosec {
                if f.family == RuleFamily::Security {
                    return Some(Suppression {
                        kind: SuppressionKind::InSource,
                        source: "nosec".into(),
                        justification: None,
                    });
                }
                continue;
            }
            if ids.is_empty() || ids.iter().any(|id| id.eq_ignore_ascii_case(&f.rule_id)) {
                return Some(Suppression {
                    kind: SuppressionKind::InSource,
                    source: "inline".into(),
                    justification: None,
                });
            }
        }
        None
    }
}

/// Parses `qa-agent: ignore[SEC001, PERF002]`, `qa-agent: ignore`, and `nosec`
/// directives out of a comment's text.
fn parse_directive(comment: &str) -> Option<(Vec<String>, bool)> {
    if let Some(at) = comment
        .find("qa-agent: ignore")
        .or_else(|| comment.find("qa-agent:ignore"))
    {
        let rest = &comment[at..];
        let rest = rest.split_once("ignore").map_or("", |(_, r)| r);
        let ids = rest
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .map(|(inner, _)| {
                inner
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        return Some((ids, false));
    }
    // `# nosec`, `// #nosec G204`, `/* nosec */`, or `nosec` after code in a comment.
    let lower = comment.to_ascii_lowercase();
    let is_nosec = lower.match_indices("nosec").any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + 5..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric())
            && after.is_none_or(|c| !c.is_alphanumeric() && c != '_')
    });
    is_nosec.then(|| (Vec::new(), true))
}

/// Findings recorded in an earlier report: `--baseline FILE` reports only new ones.
#[derive(Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("baseline {path} is neither a qa-agent JSON report nor a SARIF log: {message}")]
    Format { path: String, message: String },
}

impl Baseline {
    /// Reads a qa-agent JSON report or a SARIF log (fingerprints from
    /// `partialFingerprints`).
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Baseline::parse(&text).map_err(|message| BaselineError::Format {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Baseline, String> {
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut fingerprints = HashSet::new();
        if let Some(files) = json.get("files").and_then(|f| f.as_array()) {
            for file in files {
                for finding in file
                    .get("findings")
                    .and_then(|f| f.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(fp) = finding.get("fingerprint").and_then(|f| f.as_str()) {
                        fingerprints.insert(fp.to_string());
                    }
                }
            }
        } else if let Some(runs) = json.get("runs").and_then(|r| r.as_array()) {
            for run in runs {
                for result in run
                    .get("results")
                    .and_then(|r| r.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(fps) = result
                        .get("partialFingerprints")
                        .and_then(|p| p.as_object())
                    {
                        for fp in fps.values().filter_map(|v| v.as_str()) {
                            fingerprints.insert(fp.to_string());
                        }
                    }
                }
            }
        } else {
            return Err("expected a `files` array (JSON report) or a `runs` array (SARIF)".into());
        }
        Ok(Baseline { fingerprints })
    }

    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }
}

impl SuppressionSource for Baseline {
    fn name(&self) -> &str {
        "baseline"
    }

    fn check(&self, finding: &Finding) -> Option<Suppression> {
        self.fingerprints
            .contains(&finding.fingerprint)
            .then(|| Suppression {
                kind: SuppressionKind::External,
                source: "baseline".into(),
                justification: Some("present in the baseline".into()),
            })
    }
}

/// Findings users dismissed (the learning engine's sticky dismissals), by fingerprint,
/// each with its justification (the reason and the feedback that made it).
#[derive(Debug, Default)]
pub struct Dismissals {
    by_fingerprint: std::collections::HashMap<String, String>,
}

impl Dismissals {
    /// From (fingerprint, reason, feedback id) triples.
    pub fn new(rows: impl IntoIterator<Item = (String, String, i64)>) -> Dismissals {
        Dismissals {
            by_fingerprint: rows
                .into_iter()
                .map(|(fp, reason, id)| (fp, format!("{reason} (feedback {id})")))
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }
}

impl SuppressionSource for Dismissals {
    fn name(&self) -> &str {
        "dismissal"
    }

    fn check(&self, finding: &Finding) -> Option<Suppression> {
        self.by_fingerprint
            .get(&finding.fingerprint)
            .map(|why| Suppression {
                kind: SuppressionKind::External,
                source: "dismissal".into(),
                justification: Some(why.clone()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives() {
        assert_eq!(
            parse_directive("# qa-agent: ignore[SEC001, PERF002]"),
            Some((vec!["SEC001".into(), "PERF002".into()], false))
        );
        assert_eq!(
            parse_directive("// qa-agent: ignore"),
            Some((vec![], false))
        );
        assert_eq!(parse_directive("# nosec B602"), Some((vec![], true)));
        assert_eq!(parse_directive("// #nosec G204"), Some((vec![], true)));
        assert_eq!(parse_directive("# an ordinary comment"), None);
        assert_eq!(parse_directive("# nosecurity here"), None);
    }

    #[test]
    fn baseline_rejects_other_json() {
        assert!(Baseline::parse("{\"x\": 1}").is_err());
        assert!(Baseline::parse("not json").is_err());
        let b = Baseline::parse(r#"{"files":[{"findings":[{"fingerprint":"abc"}]}]}"#).unwrap();
        assert_eq!(b.len(), 1);
        let s = Baseline::parse(
            r#"{"runs":[{"results":[{"partialFingerprints":{"qaAgent/v1":"abc"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(s.len(), 1);
    }
}
