//! `compare_analyses`: what changed between two analyses of the tenant, by finding
//! fingerprint (stable across edits that only move lines).

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::analysis::done_analysis;
use super::{Evidence, Tool, ToolContext, ToolError, ToolFuture, ToolOutput, input, schema};

pub struct CompareAnalyses;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CompareInput {
    /// The earlier analysis.
    base: i64,
    /// The later analysis.
    head: i64,
}

async fn all_findings(
    cx: &ToolContext,
    id: i64,
) -> Result<HashMap<String, qa_store::NewFinding>, ToolError> {
    let mut out = HashMap::new();
    let mut after = 0;
    loop {
        let page = cx
            .db
            .findings(
                id,
                &qa_store::FindingFilter {
                    after,
                    limit: 1000,
                    include_dismissed: false,
                    ..Default::default()
                },
            )
            .await?;
        let Some(last) = page.last().map(|f| f.id) else {
            break;
        };
        for f in page {
            if !f.finding.suppressed {
                out.insert(f.finding.fingerprint.clone(), f.finding);
            }
        }
        after = last;
    }
    Ok(out)
}

fn view(f: &qa_store::NewFinding) -> Value {
    json!({ "rule_id": f.rule_id, "severity": f.severity, "file": f.path, "line": f.line, "message": f.message })
}

impl Tool for CompareAnalyses {
    fn name(&self) -> &'static str {
        "compare_analyses"
    }
    fn description(&self) -> &'static str {
        "Compare two analyses: findings introduced, fixed and unchanged (by fingerprint)"
    }
    fn input_schema(&self) -> Value {
        schema::<CompareInput>()
    }
    fn run<'a>(&'a self, cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: CompareInput = input(v)?;
            if i.base == i.head {
                return Err(ToolError::Invalid(
                    "`base` and `head` are the same analysis".into(),
                ));
            }
            let base = done_analysis(cx, i.base).await?;
            let head = done_analysis(cx, i.head).await?;
            let (before, after) = (
                all_findings(cx, base.id).await?,
                all_findings(cx, head.id).await?,
            );
            let mut new: Vec<&qa_store::NewFinding> = after
                .iter()
                .filter(|(k, _)| !before.contains_key(*k))
                .map(|(_, f)| f)
                .collect();
            let mut fixed: Vec<&qa_store::NewFinding> = before
                .iter()
                .filter(|(k, _)| !after.contains_key(*k))
                .map(|(_, f)| f)
                .collect();
            let order = |f: &&qa_store::NewFinding| (f.path.clone(), f.line, f.rule_id.clone());
            new.sort_by_key(order);
            fixed.sort_by_key(order);
            let unchanged = after.len() - new.len();
            let evidence = new
                .iter()
                .map(|f| Evidence {
                    file: f.path.clone(),
                    line: Some(f.line),
                    rule_id: Some(f.rule_id.clone()),
                    metric: None,
                    symbol: None,
                    excerpt: None,
                    detail: format!("new: {}", f.message),
                })
                .collect();
            Ok(ToolOutput {
                summary: format!(
                    "{} new, {} fixed, {} unchanged finding(s) from analysis {} to {}",
                    new.len(),
                    fixed.len(),
                    unchanged,
                    base.id,
                    head.id
                ),
                data: json!({
                    "base": base.id, "head": head.id,
                    "new": new.iter().map(|f| view(f)).collect::<Vec<_>>(),
                    "fixed": fixed.iter().map(|f| view(f)).collect::<Vec<_>>(),
                    "unchanged": unchanged,
                }),
                evidence,
            })
        })
    }
}
