//! LLM providers behind one trait: [`openai::OpenAi`] (any OpenAI-compatible endpoint:
//! OpenAI, vLLM, Ollama, LM Studio, through `base_url`) and [`anthropic::Anthropic`]
//! (the Messages API). Both speak tool calling and stream their answers; the shared
//! [`Client`] adds what every call needs: a timeout, retries with backoff on 429 and 5xx,
//! and a token and cost budget per reasoning. Tool-call arguments that are not valid JSON
//! are repaired once ([`repair`]) or rejected with the reason.
//!
//! The offline default needs none of this: it is the planner in qa-agents.

pub mod anthropic;
pub mod openai;
pub mod repair;
mod sse;

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who said a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    /// A tool's result, answering the assistant's call `tool_call_id`.
    Tool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// The calls an assistant message made.
    pub tool_calls: Vec<ToolCall>,
    /// For a tool message: the call it answers.
    pub tool_call_id: Option<String>,
}

impl Message {
    pub fn user(text: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: text.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    pub fn assistant(text: impl Into<String>, tool_calls: Vec<ToolCall>) -> Message {
        Message {
            role: Role::Assistant,
            content: text.into(),
            tool_calls,
            tool_call_id: None,
        }
    }
    pub fn tool(call_id: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: Role::Tool,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.into()),
        }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON schema of the arguments.
    pub parameters: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// Parsed (and, if need be, repaired) arguments.
    pub arguments: Value,
    /// Whether the arguments had to be repaired to parse.
    pub repaired: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
    /// The model must answer in text now: no more tool calls (the tools stay declared,
    /// as both APIs require while the history holds tool calls).
    pub no_more_tools: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    /// `stop`, `tool_calls`, `length`, ... as the provider said it.
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error("the model did not answer within {0:?}")]
    Timeout(Duration),
    #[error("cannot reach the model at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// An HTTP error that retrying did not cure (or that retrying cannot cure).
    #[error("the model's API answered {status}: {detail}")]
    Http { status: u16, detail: String },
    /// The stream or body was not what the wire format says.
    #[error("the model's answer is malformed: {0}")]
    Malformed(String),
    /// A tool call whose arguments are not JSON even after repair.
    #[error("the model called `{tool}` with arguments that are not JSON: {detail}")]
    BadToolArguments { tool: String, detail: String },
    #[error("the reasoning's budget is spent: {0}")]
    Budget(String),
}

/// Which API and how to reach it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    /// `openai` or `anthropic`.
    pub kind: String,
    /// E.g. `https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama),
    /// `https://api.anthropic.com`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
    /// Retries of a 429, a 5xx or a dropped connection, with exponential backoff.
    pub max_retries: u32,
    /// Input plus output tokens one reasoning may spend.
    pub token_budget: u64,
    /// US dollars one reasoning may spend (0: no limit), at the prices below.
    pub cost_budget_usd: f64,
    pub usd_per_million_input: f64,
    pub usd_per_million_output: f64,
}

impl std::fmt::Debug for ProviderConfig {
    // The key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("token_budget", &self.token_budget)
            .field("cost_budget_usd", &self.cost_budget_usd)
            .finish_non_exhaustive()
    }
}

impl LlmError {
    /// What a user may be told: the kind of failure, without addresses or the
    /// provider's own error text (which may echo keys); the details go to the log.
    pub fn public_reason(&self) -> String {
        match self {
            LlmError::Timeout(d) => format!("the model did not answer within {d:?}"),
            LlmError::Unreachable { .. } => "the model's API could not be reached".into(),
            LlmError::Http { status, .. } => format!("the model's API answered {status}"),
            LlmError::Malformed(_) => "the model's answer was malformed".into(),
            LlmError::BadToolArguments { tool, .. } => {
                format!("the model called `{tool}` with arguments that are not JSON")
            }
            LlmError::Budget(why) => format!("the budget is spent ({why})"),
        }
    }
}

/// A provider's wire format.
pub trait Wire: Send + Sync {
    /// The request for `req`: URL path (after `base_url`), headers, body (streaming on).
    fn build(
        &self,
        config: &ProviderConfig,
        req: &Request,
    ) -> (String, Vec<(String, String)>, Value);
    /// Folds the server-sent events of a streamed answer into a response.
    fn parse(&self, events: &[sse::Event]) -> Result<Response, LlmError>;
}

/// A provider with its timeout, retries and budget.
pub struct Client {
    pub config: ProviderConfig,
    http: reqwest::Client,
    wire: Box<dyn Wire>,
}

/// What one reasoning has spent.
#[derive(Debug, Default)]
pub struct Spend {
    usage: Mutex<Usage>,
}

impl Spend {
    pub fn usage(&self) -> Usage {
        *self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Client {
    pub fn new(config: ProviderConfig) -> Result<Client, String> {
        let wire: Box<dyn Wire> = match config.kind.as_str() {
            "openai" => Box::new(openai::OpenAi),
            "anthropic" => Box::new(anthropic::Anthropic),
            other => {
                return Err(format!(
                    "unknown LLM provider `{other}`: openai or anthropic"
                ));
            }
        };
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Client { config, http, wire })
    }

    fn cost(&self, u: Usage) -> f64 {
        (u.input_tokens as f64 * self.config.usd_per_million_input
            + u.output_tokens as f64 * self.config.usd_per_million_output)
            / 1e6
    }

    /// Refuses a call the budget cannot pay for.
    fn check_budget(&self, spend: &Spend) -> Result<(), LlmError> {
        let u = spend.usage();
        let tokens = u.input_tokens + u.output_tokens;
        if tokens >= self.config.token_budget {
            return Err(LlmError::Budget(format!(
                "{tokens} tokens used of {}",
                self.config.token_budget
            )));
        }
        if self.config.cost_budget_usd > 0.0 && self.cost(u) >= self.config.cost_budget_usd {
            return Err(LlmError::Budget(format!(
                "${:.4} spent of ${:.4}",
                self.cost(u),
                self.config.cost_budget_usd
            )));
        }
        Ok(())
    }

    /// One completion: streamed, retried on 429/5xx/dropped connections with backoff
    /// (honouring `Retry-After`), within the timeout, charged to `spend`.
    pub async fn complete(&self, req: &Request, spend: &Spend) -> Result<Response, LlmError> {
        self.check_budget(spend)?;
        let mut attempt = 0;
        loop {
            let result = tokio::time::timeout(self.config.timeout, self.once(req)).await;
            let (err, retry_after) = match result {
                Err(_) => (LlmError::Timeout(self.config.timeout), None),
                Ok(Ok(resp)) => {
                    let mut u = spend.usage.lock().unwrap_or_else(|p| p.into_inner());
                    u.input_tokens += resp.usage.input_tokens;
                    u.output_tokens += resp.usage.output_tokens;
                    return Ok(resp);
                }
                Ok(Err((e, retry_after))) => (e, retry_after),
            };
            let retryable = match &err {
                LlmError::Http { status, .. } => *status == 429 || *status >= 500,
                LlmError::Unreachable { .. } | LlmError::Timeout(_) => true,
                _ => false,
            };
            if !retryable || attempt >= self.config.max_retries {
                return Err(err);
            }
            attempt += 1;
            let backoff = retry_after
                .unwrap_or_else(|| Duration::from_millis(250 * (1 << attempt.min(6))))
                .min(Duration::from_secs(20));
            tracing::warn!(error = %err, attempt, ?backoff, "LLM call failed; retrying");
            tokio::time::sleep(backoff).await;
        }
    }

    async fn once(&self, req: &Request) -> Result<Response, (LlmError, Option<Duration>)> {
        let (path, headers, body) = self.wire.build(&self.config, req);
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let mut r = self.http.post(&url).json(&body);
        for (k, v) in headers {
            r = r.header(k, v);
        }
        let mut response = r.send().await.map_err(|e| {
            (
                LlmError::Unreachable {
                    url: url.clone(),
                    reason: e.to_string(),
                },
                None,
            )
        })?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let detail: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(500)
                .collect();
            return Err((
                LlmError::Http {
                    status: status.as_u16(),
                    detail,
                },
                retry_after,
            ));
        }
        let mut parser = sse::Parser::default();
        let mut events = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            (
                LlmError::Unreachable {
                    url: url.clone(),
                    reason: e.to_string(),
                },
                None,
            )
        })? {
            events.extend(parser.feed(&chunk));
        }
        events.extend(parser.finish());
        self.wire.parse(&events).map_err(|e| (e, None))
    }
}

impl ToolCall {
    /// A streamed call put together: its argument text parsed, and repaired once if need
    /// be (see [`tool_arguments`]).
    pub fn assemble(
        id: String,
        name: String,
        args: &str,
        truncated: bool,
    ) -> Result<ToolCall, LlmError> {
        let (arguments, repaired) = tool_arguments(&name, args, truncated)?;
        Ok(ToolCall {
            id,
            name,
            arguments,
            repaired,
        })
    }
}

/// Parses a tool call's argument text, repairing it once if need be. Arguments cut off
/// by the output limit (`truncated`) are not repaired: closing `{"id": 12` could turn a
/// cut-off 123 into a call on something else.
pub fn tool_arguments(tool: &str, text: &str, truncated: bool) -> Result<(Value, bool), LlmError> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Ok((v, false));
    }
    if truncated {
        return Err(LlmError::BadToolArguments {
            tool: tool.into(),
            detail: "cut off by the output limit".into(),
        });
    }
    match repair::repair(text).and_then(|fixed| serde_json::from_str::<Value>(&fixed).ok()) {
        Some(v) if v.is_object() => Ok((v, true)),
        _ => Err(LlmError::BadToolArguments {
            tool: tool.into(),
            detail: text.chars().take(200).collect(),
        }),
    }
}
