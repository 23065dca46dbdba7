//! Tools over a stored analysis of the caller's tenant: `find_violations`,
//! `list_untested`, `function_metrics`. Another tenant's analysis is "not found".

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Evidence, Tool, ToolContext, ToolError, ToolFuture, ToolOutput, input, schema};

/// The analysis, if it is the tenant's and done.
pub(super) async fn done_analysis(
    cx: &ToolContext,
    id: i64,
) -> Result<qa_store::AnalysisRecord, ToolError> {
    let a = cx
        .db
        .analysis(cx.tenant_id, id)
        .await?
        .ok_or_else(|| ToolError::NotFound(format!("analysis {id} does not exist")))?;
    if a.status != "done" {
        return Err(ToolError::Invalid(format!(
            "analysis {id} is {}; its results exist once it is done",
            a.status
        )));
    }
    Ok(a)
}

fn family_prefix(family: &str) -> Result<&'static str, ToolError> {
    match family {
        "security" => Ok("SEC"),
        "performance" => Ok("PERF"),
        "maintainability" => Ok("MNT"),
        other => Err(ToolError::Invalid(format!(
            "unknown family `{other}`: security, performance or maintainability"
        ))),
    }
}

/// Findings read to rank before the best `limit` are kept.
const RANK_POOL: usize = 5000;

pub struct FindViolations;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ViolationsInput {
    analysis_id: i64,
    /// `security`, `performance` or `maintainability`.
    family: Option<String>,
    /// `info`, `low`, `medium`, `high` or `critical`.
    severity: Option<String>,
    /// A rule id, e.g. `SEC001`.
    rule: Option<String>,
    /// A file relative to the analysed root, or a directory ending in `/`.
    file: Option<String>,
    /// At most this many findings (50; 1 to 500).
    #[schemars(range(min = 1, max = 500))]
    limit: Option<u32>,
}

impl Tool for FindViolations {
    fn name(&self) -> &'static str {
        "find_violations"
    }
    fn description(&self) -> &'static str {
        "Rule violations of an analysis, by family, severity, rule or file (suppressed ones left out)"
    }
    fn input_schema(&self) -> Value {
        schema::<ViolationsInput>()
    }
    fn run<'a>(&'a self, cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: ViolationsInput = input(v)?;
            let prefix = i.family.as_deref().map(family_prefix).transpose()?;
            let a = done_analysis(cx, i.analysis_id).await?;
            let limit = i64::from(i.limit.unwrap_or(50));
            // A directory is matched here by prefix; the store matches files exactly.
            let (file, under) = match i.file.as_deref() {
                Some(d) if d.ends_with('/') => (None, Some(d.trim_start_matches("./"))),
                other => (other.map(str::to_string), None),
            };
            let mut found = Vec::new();
            let mut after = 0;
            // Pages of the stored findings, filtered by family here (the store filters
            // the rest), until enough are found.
            loop {
                let page = cx
                    .db
                    .findings(
                        a.id,
                        &qa_store::FindingFilter {
                            severity: i.severity.clone(),
                            rule: i.rule.clone(),
                            path: file.clone(),
                            after,
                            limit: 500,
                            include_dismissed: false,
                        },
                    )
                    .await?;
                let last = page.last().map(|f| f.id);
                found.extend(page.into_iter().filter(|f| {
                    !f.finding.suppressed
                        && prefix.is_none_or(|p| f.finding.rule_id.starts_with(p))
                        && under.is_none_or(|d| f.finding.path.starts_with(d))
                }));
                match last {
                    Some(id) if found.len() < RANK_POOL => after = id,
                    _ => break,
                }
            }
            // Learned order: rules users judged noisy here sink (and show demoted),
            // confirmed findings rise; with nothing learned, by severity.
            let learned = cx.learned.get(&cx.db).await;
            let view = learned.view(cx.tenant_id, &a.scope());
            let shown = crate::learned::shown(&found);
            let mut ranked = qa_learning::rank_findings(&shown, &view);
            ranked.truncate(limit as usize);
            let found: Vec<(&qa_store::FindingRecord, &qa_learning::Ranked)> =
                ranked.iter().map(|r| (&found[r.index], r)).collect();
            let evidence = found
                .iter()
                .map(|(f, _)| Evidence {
                    file: f.finding.path.clone(),
                    line: Some(f.finding.line),
                    rule_id: Some(f.finding.rule_id.clone()),
                    metric: None,
                    symbol: None,
                    excerpt: None,
                    detail: f.finding.message.clone(),
                })
                .collect();
            let items: Vec<Value> = found
                .iter()
                .map(|(f, r)| {
                    json!({
                        "rule_id": f.finding.rule_id,
                        "severity": r.severity,
                        "demoted_from": r.demoted_from,
                        "learned_precision": (r.precision.precision * 100.0).round() / 100.0,
                        "file": f.finding.path,
                        "line": f.finding.line,
                        "message": f.finding.message,
                        "fingerprint": f.finding.fingerprint,
                    })
                })
                .collect();
            Ok(ToolOutput {
                summary: format!("{} violation(s) in analysis {}", items.len(), a.id),
                data: json!({ "analysis_id": a.id, "findings": items }),
                evidence,
            })
        })
    }
}

pub struct ListUntested;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UntestedInput {
    analysis_id: i64,
    /// Only functions in this file, or under this directory (ending in `/`).
    under: Option<String>,
    /// At most this many functions, riskiest first (20; 1 to 500).
    #[schemars(range(min = 1, max = 500))]
    limit: Option<u32>,
}

impl Tool for ListUntested {
    fn name(&self) -> &'static str {
        "list_untested"
    }
    fn description(&self) -> &'static str {
        "Functions no test reaches, riskiest first (complexity, size, callers, visibility), with the test frameworks found"
    }
    fn input_schema(&self) -> Value {
        schema::<UntestedInput>()
    }
    fn run<'a>(&'a self, cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: UntestedInput = input(v)?;
            let a = done_analysis(cx, i.analysis_id).await?;
            let report = cx
                .db
                .analysis_report(cx.tenant_id, a.id)
                .await?
                .ok_or_else(|| {
                    ToolError::Fault(format!("analysis {} has no stored report", a.id))
                })?;
            let report: qa_analysis::RepoAnalysis = serde_json::from_str(&report)
                .map_err(|e| ToolError::Fault(format!("the stored report cannot be read: {e}")))?;
            let gaps = &report.test_gaps;
            let limit = i.limit.unwrap_or(20) as usize;
            let under = i.under.as_deref().map(|u| u.trim_start_matches("./"));
            let in_scope: Vec<&qa_analysis::UntestedFunction> = gaps
                .untested
                .iter()
                .filter(|f| {
                    under.is_none_or(|u| f.path == u || (u.ends_with('/') && f.path.starts_with(u)))
                })
                .collect();
            let shown = &in_scope[..in_scope.len().min(limit)];
            let evidence = shown
                .iter()
                .map(|f| Evidence {
                    file: f.path.clone(),
                    line: Some(i64::from(f.start_line)),
                    rule_id: None,
                    metric: Some(format!("risk={:.2}", f.risk)),
                    symbol: Some(f.qualified_name.clone()),
                    excerpt: None,
                    detail: format!(
                        "{} is untested (cyclomatic {}, {} lines, {} callers)",
                        f.qualified_name, f.cyclomatic, f.nloc, f.fan_in
                    ),
                })
                .collect();
            Ok(ToolOutput {
                summary: format!(
                    "{} of {} source functions untested; frameworks: {}",
                    gaps.untested.len(),
                    gaps.source_functions,
                    if gaps.frameworks.is_empty() {
                        "none found".to_string()
                    } else {
                        gaps.frameworks.join(", ")
                    }
                ),
                data: json!({
                    "analysis_id": a.id,
                    "frameworks": gaps.frameworks,
                    "source_functions": gaps.source_functions,
                    "tested_functions": gaps.tested_functions,
                    "untested_total": gaps.untested.len(),
                    "untested_in_scope": in_scope.len(),
                    "untested": shown,
                }),
                evidence,
            })
        })
    }
}

pub struct FunctionMetrics;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FunctionInput {
    analysis_id: i64,
    /// The function's name or qualified name (`Cart.total`); a bare name matches every
    /// function of that name.
    #[schemars(length(min = 1))]
    name: String,
    /// Only in this file (relative to the analysed root).
    file: Option<String>,
}

impl Tool for FunctionMetrics {
    fn name(&self) -> &'static str {
        "function_metrics"
    }
    fn description(&self) -> &'static str {
        "A function's location and metrics (NLOC, cyclomatic and cognitive complexity, nesting, parameters)"
    }
    fn input_schema(&self) -> Value {
        schema::<FunctionInput>()
    }
    fn run<'a>(&'a self, cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: FunctionInput = input(v)?;
            let a = done_analysis(cx, i.analysis_id).await?;
            let wanted = i.name.trim();
            let matches = functions_named(cx, a.id, wanted, i.file.as_deref()).await?;
            let evidence = matches
                .iter()
                .map(|c| {
                    let m: Value = serde_json::from_str(&c.component.metrics).unwrap_or_default();
                    Evidence {
                        file: c.component.path.clone(),
                        line: c.component.start_line,
                        rule_id: None,
                        metric: Some(format!("cyclomatic={}", m["cyclomatic"])),
                        symbol: Some(c.component.name.clone()),
                        excerpt: None,
                        detail: format!(
                            "{}: cyclomatic {}, cognitive {}, {} lines",
                            c.component.name, m["cyclomatic"], m["cognitive"], m["nloc"]
                        ),
                    }
                })
                .collect();
            let items: Vec<Value> = matches
                .iter()
                .map(|c| {
                    json!({
                        "name": c.component.name,
                        "file": c.component.path,
                        "start_line": c.component.start_line,
                        "end_line": c.component.end_line,
                        "metrics": serde_json::from_str::<Value>(&c.component.metrics).unwrap_or_default(),
                    })
                })
                .collect();
            Ok(ToolOutput {
                summary: format!(
                    "{} function(s) named `{wanted}` in analysis {}",
                    items.len(),
                    a.id
                ),
                data: json!({ "analysis_id": a.id, "functions": items }),
                evidence,
            })
        })
    }
}

/// The analysis' functions named `wanted` (exactly, or as the last part of a qualified
/// name), optionally in one file; not found when there is none.
pub(super) async fn functions_named(
    cx: &ToolContext,
    analysis_id: i64,
    wanted: &str,
    file: Option<&str>,
) -> Result<Vec<qa_store::ComponentRecord>, ToolError> {
    let suffix = format!(".{wanted}");
    let mut matches = Vec::new();
    let mut after = 0;
    loop {
        let page = cx
            .db
            .components(analysis_id, Some("function"), file, after, 1000)
            .await?;
        let Some(last) = page.last().map(|c| c.id) else {
            break;
        };
        matches.extend(
            page.into_iter()
                .filter(|c| c.component.name == wanted || c.component.name.ends_with(&suffix)),
        );
        after = last;
    }
    if matches.is_empty() {
        return Err(ToolError::NotFound(format!(
            "no function `{wanted}` in analysis {analysis_id}"
        )));
    }
    Ok(matches)
}

pub struct AnalysisSummary;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SummaryInput {
    analysis_id: i64,
}

impl Tool for AnalysisSummary {
    fn name(&self) -> &'static str {
        "analysis_summary"
    }
    fn description(&self) -> &'static str {
        "An analysis' summary: files, test files, functions, languages, findings by severity, and its complexity hotspots"
    }
    fn input_schema(&self) -> Value {
        schema::<SummaryInput>()
    }
    fn run<'a>(&'a self, cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: SummaryInput = input(v)?;
            let a = done_analysis(cx, i.analysis_id).await?;
            let summary: Value = a
                .summary
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .ok_or_else(|| {
                    ToolError::Fault(format!("analysis {} has no stored summary", a.id))
                })?;
            let evidence = summary["hotspots"]
                .as_array()
                .into_iter()
                .flatten()
                .map(Evidence::hotspot)
                .collect();
            Ok(ToolOutput {
                summary: format!(
                    "analysis {}: {} files ({} test files), {} functions, findings by severity {}",
                    a.id,
                    summary["files"],
                    summary["test_files"],
                    summary["functions"],
                    summary["findings_by_severity"]
                ),
                data: json!({ "analysis_id": a.id, "summary": summary }),
                evidence,
            })
        })
    }
}
