//! The tool registry: every tool has a name, a description, a JSON schema for its input
//! (checked before it runs), a timeout, and a result made of a one-line summary for the
//! reasoning trace, data, and the evidence (file:line, rule, metric) any claim built on
//! it must cite. Each tool has its own circuit breaker.

mod analysis;
mod analyze;
mod compare;
mod evidence;
mod generate;
mod rules;
mod source;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::breaker::{Breaker, BreakerState};

pub use evidence::symbol_stem;
pub use generate::sandbox_status;

/// What a tool may reach: the database, as one tenant, and the directories the server
/// may analyse.
#[derive(Clone)]
pub struct ToolContext {
    pub db: qa_store::Database,
    pub tenant_id: i64,
    pub workspace_roots: std::sync::Arc<Vec<std::path::PathBuf>>,
    /// The configured language model, for test generation's LLM mode (none: offline).
    pub llm: Option<qa_llm::ProviderConfig>,
    /// What users taught (dismissals are left out by the store; this ranks the rest).
    pub learned: std::sync::Arc<crate::LearnedCache>,
    /// The caller's preferred test framework (set or learned), for test generation.
    pub test_framework: Option<String>,
}

/// Where a claim comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    pub file: String,
    pub line: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// `name=value` of a metric, e.g. `cyclomatic=12`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The function or class the line starts, when the claim is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Text the line contains, when the claim quotes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolOutput {
    /// One line for the reasoning trace.
    pub summary: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The caller's input is wrong (does not count against the breaker).
    #[error("{0}")]
    Invalid(String),
    /// What the input names does not exist for this tenant (nor against the breaker).
    #[error("{0}")]
    NotFound(String),
    #[error("no tool named `{0}`")]
    UnknownTool(String),
    #[error("the tool `{0}` is disabled by an administrator")]
    Disabled(String),
    #[error("the tool `{tool}` is failing and paused (circuit open); retry in {} s", retry_after.as_secs().max(1))]
    CircuitOpen { tool: String, retry_after: Duration },
    #[error("the tool did not finish within {0:?}")]
    Timeout(Duration),
    /// The tool itself failed.
    #[error("the tool failed: {0}")]
    Fault(String),
}

impl ToolError {
    /// Faults trip the breaker; the caller's mistakes do not.
    pub fn is_fault(&self) -> bool {
        matches!(self, ToolError::Timeout(_) | ToolError::Fault(_))
    }
}

impl From<qa_store::StoreError> for ToolError {
    fn from(e: qa_store::StoreError) -> ToolError {
        ToolError::Fault(e.to_string())
    }
}

pub type ToolFuture<'a> = Pin<Box<dyn Future<Output = Result<ToolOutput, ToolError>> + Send + 'a>>;

pub trait Tool: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    /// JSON schema of the input (from the input type, with `schemars`).
    fn input_schema(&self) -> Value;
    fn timeout(&self) -> Duration {
        Duration::from_secs(15)
    }
    /// Runs on an input that passed the schema.
    fn run<'a>(&'a self, cx: &'a ToolContext, input: Value) -> ToolFuture<'a>;
}

/// A tool as listings show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    /// JSON schema the input must match.
    #[schema(value_type = Object)]
    pub input_schema: Value,
    pub timeout_ms: u64,
    /// `closed`, `open` (failing; calls refused until the cool-down ends) or `half_open`.
    pub circuit: String,
}

struct Entry {
    tool: Arc<dyn Tool>,
    validator: jsonschema::Validator,
}

pub struct Registry {
    tools: BTreeMap<&'static str, Entry>,
    breakers: Mutex<HashMap<&'static str, Breaker>>,
}

impl Evidence {
    /// A complexity hotspot of an analysis summary (`path`, `start_line`,
    /// `qualified_name`, `cyclomatic`, `cognitive`, `nloc`), cited by its definition.
    pub fn hotspot(h: &Value) -> Evidence {
        let name = h["qualified_name"].as_str().unwrap_or_default();
        Evidence {
            file: h["path"].as_str().unwrap_or_default().into(),
            line: h["start_line"].as_i64(),
            rule_id: None,
            metric: Some(format!("cyclomatic={}", h["cyclomatic"])),
            symbol: (!name.is_empty()).then(|| name.to_string()),
            excerpt: None,
            detail: format!(
                "hotspot {name}: cyclomatic {}, cognitive {}, {} lines",
                h["cyclomatic"], h["cognitive"], h["nloc"]
            ),
        }
    }
}

/// Deserialises a tool's input (already checked against its schema).
pub(crate) fn input<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, ToolError> {
    serde_json::from_value(v).map_err(|e| ToolError::Invalid(e.to_string()))
}

pub(crate) fn schema<T: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

impl Registry {
    pub fn new(tools: Vec<Arc<dyn Tool>>) -> Registry {
        let tools = tools
            .into_iter()
            .map(|tool| {
                let validator = jsonschema::validator_for(&tool.input_schema())
                    .unwrap_or_else(|e| panic!("tool {}: invalid input schema: {e}", tool.name()));
                (tool.name(), Entry { tool, validator })
            })
            .collect();
        Registry {
            tools,
            breakers: Mutex::new(HashMap::new()),
        }
    }

    /// The tools this build has.
    pub fn standard() -> Registry {
        Registry::new(vec![
            Arc::new(rules::ExplainRule),
            Arc::new(analysis::FindViolations),
            Arc::new(analysis::ListUntested),
            Arc::new(analysis::FunctionMetrics),
            Arc::new(source::FunctionSource),
            Arc::new(source::SearchCode),
            Arc::new(compare::CompareAnalyses),
            Arc::new(analyze::AnalyzeRepository),
            Arc::new(analysis::AnalysisSummary),
            Arc::new(evidence::VerifyEvidence),
            Arc::new(generate::GenerateTests),
        ])
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.tools.keys().copied()
    }

    pub fn circuit(&self, name: &str) -> BreakerState {
        let breakers = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        breakers
            .get(name)
            .map_or(BreakerState::Closed, |b| b.state(Instant::now()))
    }

    pub fn list(&self) -> Vec<ToolInfo> {
        self.tools
            .values()
            .map(|e| ToolInfo {
                name: e.tool.name().into(),
                description: e.tool.description().into(),
                input_schema: e.tool.input_schema(),
                timeout_ms: e.tool.timeout().as_millis() as u64,
                circuit: self.circuit(e.tool.name()).as_str().into(),
            })
            .collect()
    }

    /// Checks `input` against the tool's schema, runs it within its timeout, and keeps
    /// its breaker. `disabled` comes from the administrators' switch.
    pub async fn invoke(
        &self,
        name: &str,
        cx: &ToolContext,
        input: Value,
        disabled: bool,
    ) -> Result<ToolOutput, ToolError> {
        let entry = self
            .tools
            .get(name)
            .ok_or_else(|| ToolError::UnknownTool(name.into()))?;
        let key = entry.tool.name();
        if disabled {
            return Err(ToolError::Disabled(key.into()));
        }
        let problems: Vec<String> = entry
            .validator
            .iter_errors(&input)
            .map(|e| {
                let at = e.instance_path.to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        if !problems.is_empty() {
            return Err(ToolError::Invalid(format!(
                "input does not match the tool's schema: {}",
                problems.join("; ")
            )));
        }
        {
            let mut breakers = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
            breakers
                .entry(key)
                .or_default()
                .admit(Instant::now())
                .map_err(|retry_after| ToolError::CircuitOpen {
                    tool: key.into(),
                    retry_after,
                })?;
        }
        let timeout = entry.tool.timeout();
        let result = match tokio::time::timeout(timeout, entry.tool.run(cx, input)).await {
            Ok(r) => r,
            Err(_) => Err(ToolError::Timeout(timeout)),
        };
        let fault = result.as_ref().err().is_some_and(ToolError::is_fault);
        let mut breakers = self.breakers.lock().unwrap_or_else(|p| p.into_inner());
        breakers
            .entry(key)
            .or_default()
            .record(!fault, Instant::now());
        result
    }
}
