//! What a question names: functions or classes, files or directories, rule ids, analysis
//! ids, a severity, quoted text. Names are only *candidates* here; the engine resolves
//! them against the repository's own symbols with `search_code` before relying on them.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::intent::{IntentModel, is_stopword};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Entities {
    /// Names that look like code (`parse_order`, `Cart.total`, `slugify()`, `` `x` ``).
    pub symbols: Vec<String>,
    /// Plain words the model does not know, which may be names (`slugify`).
    pub weak_symbols: Vec<String>,
    /// Files or directories (`payments/`, `src/app.py`).
    pub paths: Vec<String>,
    pub rules: Vec<String>,
    pub analysis_ids: Vec<i64>,
    pub severity: Option<String>,
    /// Text in quotes, for a text search.
    pub quoted: Option<String>,
}

static RULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(SEC|PERF|MNT)[-_ ]?(\d{3})\b").unwrap());
static ANALYSIS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:analysis|analyses|#)\s*#?(\d+)|\band\s+#?(\d+)\b").unwrap()
});
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""([^"]{1,200})"|'([^']{2,200})'"#).unwrap());
static BACKTICK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`]{1,200})`").unwrap());
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_./\-][A-Za-z0-9_./\-]*(?:\(\))?").unwrap());

const SOURCE_EXTENSIONS: &[&str] = &[
    ".py", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".go", ".java", ".rs",
];

fn is_path(t: &str) -> bool {
    (t.contains('/') && !t.starts_with("http")) || SOURCE_EXTENSIONS.iter().any(|e| t.ends_with(e))
}

fn looks_like_code(t: &str) -> bool {
    let inner_upper =
        t.chars().skip(1).any(|c| c.is_uppercase()) && t.chars().any(|c| c.is_lowercase());
    t.ends_with("()")
        || (t.contains('_') && t.chars().any(|c| c.is_alphabetic()))
        || (t.contains('.') && t.split('.').all(|p| !p.is_empty()))
        || inner_upper
}

const SEVERITIES: &[&str] = &["critical", "high", "medium", "low"];

/// The entities of `question`, and the question with them replaced by placeholders
/// (`<fn>`, `<path>`, `<rule>`, `<id>`) for the intent model.
pub fn extract(question: &str, model: &IntentModel) -> (Entities, String) {
    let mut e = Entities::default();
    let mut masked = question.to_string();
    for c in RULE.captures_iter(question) {
        let id = format!("{}{}", c[1].to_uppercase(), &c[2]);
        if !e.rules.contains(&id) {
            e.rules.push(id);
        }
    }
    masked = RULE.replace_all(&masked, " <rule> ").into_owned();
    for c in ANALYSIS.captures_iter(&masked.clone()) {
        if let Some(n) = c.get(1).or(c.get(2)).and_then(|m| m.as_str().parse().ok()) {
            e.analysis_ids.push(n);
        }
    }
    if !e.analysis_ids.is_empty() {
        masked = Regex::new(r"#?\b\d+\b")
            .unwrap()
            .replace_all(&masked, " <id> ")
            .into_owned();
    }
    for c in BACKTICK.captures_iter(question) {
        let t = c[1].trim().trim_end_matches("()").to_string();
        if is_path(&t) {
            e.paths.push(t);
        } else if !RULE.is_match(&t) {
            e.symbols.push(t);
        }
    }
    masked = BACKTICK
        .replace_all(&masked, |c: &regex::Captures| {
            if is_path(&c[1]) { " <path> " } else { " <fn> " }.to_string()
        })
        .into_owned();
    if let Some(c) = QUOTED.captures(&masked) {
        e.quoted = c.get(1).or(c.get(2)).map(|m| m.as_str().to_string());
    }
    let mut out = String::new();
    let mut last = 0;
    for (i, m) in TOKEN.find_iter(&masked.clone()).enumerate() {
        let raw = m.as_str();
        // A trailing `/` marks a directory; other trailing punctuation ends a sentence.
        let t = if raw.ends_with('/') {
            raw
        } else {
            raw.trim_end_matches(['.', '-'])
        };
        let bare = t.trim_end_matches("()");
        let replacement = if is_path(t) && t.chars().any(|c| c.is_alphanumeric()) {
            e.paths.push(t.trim_start_matches("./").to_string());
            Some(" <path> ")
        } else if (i != 0 || t.contains(['_', '.', '('])) && looks_like_code(t) {
            e.symbols.push(bare.to_string());
            Some(" <fn> ")
        } else {
            let lower = bare.to_lowercase();
            if SEVERITIES.contains(&lower.as_str()) && e.severity.is_none() {
                e.severity = Some(lower.clone());
            }
            if bare.len() >= 3
                && !is_stopword(&lower)
                && !model.knows(&lower)
                && !SEVERITIES.contains(&lower.as_str())
                && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && bare.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && !e.weak_symbols.contains(&bare.to_string())
            {
                e.weak_symbols.push(bare.to_string());
            }
            None
        };
        if let Some(r) = replacement {
            out.push_str(&masked[last..m.start()]);
            out.push_str(r);
            last = m.end();
        }
    }
    out.push_str(&masked[last..]);
    e.symbols.dedup();
    e.paths.dedup();
    (e, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(q: &str) -> (Entities, String) {
        extract(q, &IntentModel::builtin())
    }

    #[test]
    fn names_paths_and_rules_are_found_and_masked() {
        let (e, m) = ex("why is parse_order slow in payments/orders.py?");
        assert_eq!(e.symbols, ["parse_order"]);
        assert_eq!(e.paths, ["payments/orders.py"]);
        assert!(m.contains("<fn>") && m.contains("<path>"), "{m}");

        let (e, _) = ex("what is risky in payments/?");
        assert_eq!(e.paths, ["payments/"]);

        let (e, m) = ex("What does sec003 mean?");
        assert_eq!(e.rules, ["SEC003"]);
        assert!(m.contains("<rule>"));

        let (e, _) = ex("write tests for utils.slugify");
        assert_eq!(e.symbols, ["utils.slugify"]);

        let (e, _) = ex("review `Table.insert` for security");
        assert_eq!(e.symbols, ["Table.insert"]);

        let (e, _) = ex("write tests for slugify");
        assert!(e.symbols.is_empty());
        assert_eq!(e.weak_symbols, ["slugify"]);
    }

    #[test]
    fn analysis_ids_and_severity() {
        let (e, m) = ex("compare analysis 12 and 15, only high findings");
        assert_eq!(e.analysis_ids, [12, 15]);
        assert_eq!(e.severity.as_deref(), Some("high"));
        assert!(m.contains("<id>"));
    }
}
