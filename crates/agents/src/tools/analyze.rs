//! `analyze_repository`: queues the analysis of a directory under the workspace roots on
//! the durable job queue (the specialist service's workers run it) and waits for it, up
//! to a budget; a slow analysis is returned as still running, with its id, not as a
//! failure.

use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Evidence, Tool, ToolContext, ToolError, ToolFuture, ToolOutput, input, schema};
use crate::workspace::{PathError, allowed_path};

pub struct AnalyzeRepository;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Input {
    /// A directory (or file) on the server, under QA_AGENT_WORKSPACE_ROOTS.
    #[schemars(length(min = 1))]
    path: String,
    /// The repository name to file it under (default: the directory's name).
    repository: Option<String>,
    /// How long to wait for the result, in seconds (60; 0 to 300).
    #[schemars(range(max = 300))]
    wait_seconds: Option<u32>,
}

const POLL: Duration = Duration::from_millis(200);

impl Tool for AnalyzeRepository {
    fn name(&self) -> &'static str {
        "analyze_repository"
    }
    fn description(&self) -> &'static str {
        "Analyse a repository on the server (metrics, findings, untested code) and return its summary and analysis id"
    }
    fn input_schema(&self) -> Value {
        schema::<Input>()
    }
    fn timeout(&self) -> Duration {
        Duration::from_secs(310)
    }
    fn run<'a>(&'a self, cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: Input = input(v)?;
            let root = allowed_path(&cx.workspace_roots, &i.path).map_err(|e| match e {
                PathError::Missing(_) => ToolError::NotFound(e.to_string()),
                _ => ToolError::Invalid(e.to_string()),
            })?;
            let name = i
                .repository
                .unwrap_or_else(|| crate::workspace::repository_name(&root));
            let location = root.display().to_string();
            let (id, _job) = cx
                .db
                .queue_repository_analysis(cx.tenant_id, &name, "path", &location, json!({}))
                .await?;
            let deadline =
                Instant::now() + Duration::from_secs(u64::from(i.wait_seconds.unwrap_or(60)));
            let record = loop {
                let a = cx
                    .db
                    .analysis(cx.tenant_id, id)
                    .await?
                    .ok_or_else(|| ToolError::Fault(format!("analysis {id} vanished")))?;
                if a.status == "done" || a.status == "failed" || Instant::now() >= deadline {
                    break a;
                }
                tokio::time::sleep(POLL).await;
            };
            if record.status == "failed" {
                return Err(ToolError::Fault(format!(
                    "analysis {id} failed: {}",
                    record.error.unwrap_or_default()
                )));
            }
            let summary: Value = record
                .summary
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(Value::Null);
            let hotspots = summary["hotspots"].as_array().cloned().unwrap_or_default();
            let evidence = hotspots.iter().take(5).map(Evidence::hotspot).collect();
            let line = if record.status == "done" {
                format!(
                    "analysis {id} of `{name}`: {} files, {} functions, findings by severity {}",
                    summary["files"], summary["functions"], summary["findings_by_severity"]
                )
            } else {
                format!(
                    "analysis {id} of `{name}` is still {} (poll it later)",
                    record.status
                )
            };
            Ok(ToolOutput {
                summary: line,
                data: json!({ "analysis_id": id, "status": record.status, "repository": name, "content_hash": record.content_hash, "summary": summary }),
                evidence,
            })
        })
    }
}
