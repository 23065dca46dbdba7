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
    /// In-source suppression, or a user's dismissal.
    pub suppressed: bool,
    /// The dismissal in force, when listed with `include_dismissed=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dismissed: Option<DismissedBy>,
    /// What users' feedback says about its rule here (docs/learning.md).
    pub learned: Learned,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DismissedBy {
    /// Undo it with `DELETE /api/v1/feedback/{feedback_id}` on the learning engine.
    pub feedback_id: i64,
    /// `false_positive`, `wont_fix` or `test_code`.
    pub reason: String,
}

/// A rule's learned precision where the finding is shown, and its effect.
#[derive(Debug, Serialize, ToSchema)]
pub struct Learned {
    /// Estimated P(a finding of this rule is real) here (0.667 with no feedback).
    pub precision: f64,
    /// Where the evidence is from: `repository`, `tenant`, `global` or `prior`.
    #[schema(value_type = String)]
    pub level: qa_learning::EstimateLevel,
    pub confirmed: u32,
    pub dismissed: u32,
    pub users: usize,
    /// The newest feedback ids behind it.
    pub evidence: Vec<i64>,
    /// The reported severity, when the rule's noise demoted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demoted_from: Option<String>,
    /// The feedback that confirmed this very finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<i64>,
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

/// An agent task: the question, its status and, once done, the answer with its steps.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub id: i64,
    /// `running`, `done`, `failed`, or `interrupted` (its process died mid-answer).
    pub status: String,
    pub question: Option<String>,
    pub answer: Option<qa_agents::Answer>,
    /// Why a failed task failed.
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    pub created_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl TaskView {
    pub fn from_answer(id: i64, status: &str, answer: qa_agents::Answer) -> TaskView {
        TaskView {
            id,
            status: status.into(),
            question: None,
            answer: Some(answer),
            error: None,
            duration_ms: None,
            created_at: None,
            finished_at: None,
        }
    }

    pub fn from_record(
        t: qa_store::TraceRecord,
        interrupted_after: std::time::Duration,
    ) -> TaskView {
        let stale = qa_store::now_ms() - t.created_at > interrupted_after.as_millis() as i64;
        let status = if t.status == "running" && stale {
            "interrupted".to_string()
        } else {
            t.status
        };
        let stored: Option<Value> = t
            .answer
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok());
        let error = stored
            .as_ref()
            .and_then(|v| v["error"].as_str().map(str::to_string));
        let answer = stored.filter(|_| error.is_none()).and_then(|mut v| {
            v["steps"] = serde_json::from_str(&t.steps).unwrap_or(Value::Array(Vec::new()));
            serde_json::from_value(v).ok()
        });
        TaskView {
            id: t.id,
            status,
            question: Some(t.question),
            answer,
            error,
            duration_ms: t.duration_ms,
            created_at: Some(t.created_at),
            finished_at: t.finished_at,
        }
    }

    /// Without the steps and evidence, for listings.
    pub fn summary(mut self) -> TaskView {
        if let Some(a) = &mut self.answer {
            a.steps.clear();
            a.evidence.clear();
        }
        self
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskList {
    pub tasks: Vec<TaskView>,
    /// Pass as `before` for the next page.
    pub next: Option<i64>,
}
