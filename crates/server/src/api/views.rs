//! What the API answers: the JSON bodies, as types, so the OpenAPI document
//! (`/api/v1/openapi.json`) is generated from the same definitions the handlers return.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// An RFC 9457 problem detail (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `/problems/<kind>`, listed in docs/api.md.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong and what to do about it.
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub tenant: String,
    pub email: String,
    /// `admin` or `member`.
    pub role: String,
    /// The first characters of the key in use.
    pub key_prefix: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    /// `user:<email> key:<prefix>`, `cli:<login>`, `network:<address>` or `system`.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnalysisLinks {
    #[serde(rename = "self")]
    pub this: String,
    pub findings: String,
    pub components: String,
    pub sarif: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Analysis {
    pub id: i64,
    pub repository: Option<String>,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// 0 to 1; moves while a worker holds the job.
    pub progress: f64,
    pub created_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    pub links: AnalysisLinks,
    /// When done: the report's summary, `cache.files_reused`/`cache.files_analysed` and
    /// the number of diagnostics.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub summary: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Present (true) when an identical upload was answered from earlier results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnalysisPage {
    pub items: Vec<Analysis>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Finding {
    pub id: i64,
    pub rule_id: String,
    pub severity: String,
    pub file: String,
    pub line: i64,
    pub message: String,
    /// Stable across edits that only shift lines.
    pub fingerprint: String,
    pub suppressed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingPage {
    pub analysis_id: i64,
    pub status: String,
    pub items: Vec<Finding>,
    pub next_cursor: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Component {
    pub id: i64,
    /// `file`, `class` or `function`.
    pub kind: String,
    pub file: String,
    pub name: String,
    pub start_line: Option<i64>,
    pub end_line: Option<i64>,
    /// Metrics of the component (NLOC, cyclomatic and cognitive complexity, ...).
    #[schema(value_type = Object)]
    pub metrics: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentPage {
    pub analysis_id: i64,
    pub status: String,
    pub items: Vec<Component>,
    pub next_cursor: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Specialist {
    pub name: String,
    pub description: String,
    pub capabilities: Vec<String>,
    pub service_url: String,
    pub available: bool,
    pub unavailable_reason: Option<String>,
    pub last_heartbeat_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpecialistList {
    pub specialists: Vec<Specialist>,
    pub total: usize,
    pub available: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MaintenanceStep {
    pub step: String,
    pub rows: u64,
    pub millis: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Maintenance {
    pub status: String,
    pub steps: Vec<MaintenanceStep>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CacheCleared {
    pub status: String,
    pub removed: u64,
    /// `redis` or `memory`.
    pub backend: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ToolView {
    #[serde(flatten)]
    pub info: qa_agents::ToolInfo,
    /// Switched off by an administrator.
    pub disabled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ToolList {
    pub tools: Vec<ToolView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ToolResult {
    pub tool: String,
    pub duration_ms: f64,
    #[serde(flatten)]
    pub output: qa_agents::ToolOutput,
}
