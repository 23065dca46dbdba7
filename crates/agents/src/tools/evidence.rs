//! `verify_evidence`: checks cited file:line pairs against the tree an analysis was made
//! from. The engine runs it before answering, so the quality score counts only claims
//! whose evidence holds, and the answer can say which did not.

use std::collections::{HashMap, HashSet};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::analysis::done_analysis;
use super::source::{inside, read, root_of};
use super::{Tool, ToolContext, ToolFuture, ToolOutput, input, schema};

pub struct VerifyEvidence;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Input {
    analysis_id: i64,
    #[schemars(length(max = 500))]
    items: Vec<Cited>,
}

#[derive(Deserialize, JsonSchema)]
struct Cited {
    file: String,
    line: Option<i64>,
    /// The line starts this function or class (it, or a decorator above it).
    symbol: Option<String>,
    /// The analysis reported this rule on this line.
    rule_id: Option<String>,
    /// The line contains this text.
    excerpt: Option<String>,
}

/// Lines before the cited one returned as its context.
const CONTEXT: usize = 3;

/// Lines after the cited one where a symbol's definition may start (after decorators).
const SYMBOL_WINDOW: usize = 6;

/// The name a symbol's definition line contains: the last part of a qualified name that
/// is not an anonymous placeholder.
pub fn symbol_stem(symbol: &str) -> &str {
    symbol
        .rsplit('.')
        .find(|p| !p.is_empty() && !p.starts_with('<'))
        .unwrap_or(symbol)
}

impl Tool for VerifyEvidence {
    fn name(&self) -> &'static str {
        "verify_evidence"
    }
    fn description(&self) -> &'static str {
        "Checks cited evidence against an analysis: the file and line exist, and the line holds the cited symbol, text or finding"
    }
    fn input_schema(&self) -> Value {
        schema::<Input>()
    }
    fn run<'a>(&'a self, cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: Input = input(v)?;
            let a = done_analysis(cx, i.analysis_id).await?;
            let root = root_of(cx, a.id).await?;
            // Only the files the analysis read: a citation of anything else (`.env`, a
            // file it skipped) is not evidence, and is not read.
            let analysed: HashSet<String> = cx
                .db
                .components(a.id, Some("file"), None, 0, 100_000)
                .await?
                .into_iter()
                .map(|c| c.component.path)
                .collect();
            let mut files: HashMap<String, Option<Vec<String>>> = HashMap::new();
            let mut findings: HashMap<(String, String), HashSet<i64>> = HashMap::new();
            let mut results = Vec::with_capacity(i.items.len());
            for item in &i.items {
                if !files.contains_key(&item.file) {
                    let text = if analysed.contains(&item.file) {
                        match inside(&root, &item.file) {
                            Ok(path) => read(path).await.ok(),
                            Err(_) => None,
                        }
                    } else {
                        None
                    };
                    files.insert(
                        item.file.clone(),
                        text.map(|t| t.lines().map(str::to_string).collect()),
                    );
                }
                if let Some(rule) = &item.rule_id {
                    let key = (rule.clone(), item.file.clone());
                    if !findings.contains_key(&key) && analysed.contains(&item.file) {
                        let lines = rule_lines(cx, a.id, rule, &item.file).await?;
                        findings.insert(key, lines);
                    }
                }
                let lines = files[&item.file].as_deref();
                let problem = check(item, lines, &findings);
                let text = item.line.and_then(|n| {
                    lines.and_then(|l| l.get((n - 1).max(0) as usize).map(|s| s.trim().to_string()))
                });
                // The lines leading up to it: where the data on the line came from.
                let context = item.line.and_then(|n| {
                    let at = (n - 1).max(0) as usize;
                    lines
                        .filter(|l| at < l.len())
                        .map(|l| l[at.saturating_sub(CONTEXT)..=at].join("\n"))
                });
                results.push(json!({
                    "file": item.file,
                    "line": item.line,
                    "verified": problem.is_none(),
                    "problem": problem,
                    "text": text,
                    "context": context,
                }));
            }
            let verified = results.iter().filter(|r| r["verified"] == true).count();
            Ok(ToolOutput {
                summary: format!("{verified} of {} cited location(s) verified", results.len()),
                data: json!({ "analysis_id": a.id, "verified": verified, "total": results.len(), "items": results }),
                evidence: Vec::new(),
            })
        })
    }
}

/// The lines where the analysis reported `rule` in `file`.
async fn rule_lines(
    cx: &ToolContext,
    analysis_id: i64,
    rule: &str,
    file: &str,
) -> Result<HashSet<i64>, super::ToolError> {
    Ok(cx
        .db
        .findings(
            analysis_id,
            &qa_store::FindingFilter {
                severity: None,
                rule: Some(rule.to_string()),
                path: Some(file.to_string()),
                after: 0,
                limit: 10_000,
                include_dismissed: false,
            },
        )
        .await?
        .into_iter()
        .map(|f| f.finding.line)
        .collect())
}

fn check(
    item: &Cited,
    lines: Option<&[String]>,
    findings: &HashMap<(String, String), HashSet<i64>>,
) -> Option<String> {
    let Some(lines) = lines else {
        return Some("the file is not one the analysis read".into());
    };
    let n = item.line?;
    if n < 1 || n as usize > lines.len() {
        return Some(format!("the file has {} lines", lines.len()));
    }
    let at = (n - 1) as usize;
    if let Some(symbol) = &item.symbol {
        // The definition is the first line that is not a decorator, attribute, comment
        // or blank (a function's first line may be its decorator).
        let stem = symbol_stem(symbol);
        let definition = lines[at..(at + SYMBOL_WINDOW).min(lines.len())]
            .iter()
            .map(|l| l.trim())
            .find(|l| {
                !(l.is_empty()
                    || l.starts_with('@')
                    || l.starts_with("#[")
                    || l.starts_with('#')
                    || l.starts_with("//")
                    || l.starts_with("/*")
                    || l.starts_with('*'))
            });
        if !definition.is_some_and(|l| l.contains(stem)) {
            return Some(format!("`{stem}` is not defined there"));
        }
    }
    if let Some(excerpt) = &item.excerpt
        && !lines[at].contains(excerpt.trim())
    {
        return Some("the line does not contain the quoted text".into());
    }
    if let Some(rule) = &item.rule_id
        && !findings
            .get(&(rule.clone(), item.file.clone()))
            .is_some_and(|l| l.contains(&n))
    {
        return Some(format!("the analysis reported no {rule} there"));
    }
    None
}
