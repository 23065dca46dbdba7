//! One turn: a question asked of the orchestrator on the user's behalf (with a session
//! token of theirs), its streamed steps stored and published as events, and its answer
//! stored as the assistant's message. While it runs, `turn:<conversation>` in Redis says
//! so (refreshed); a turn whose process died stops refreshing it, and the conversation
//! reports the turn as interrupted when it is next opened.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Stored, emit, publish, store_event};
use crate::auth::{Caller, issue_token, revoke_token};
use crate::metrics::OutcomeLabels;
use crate::{AppState, ServiceKind};

/// How long the running mark lasts without a refresh.
pub const LIVENESS: Duration = Duration::from_secs(30);
const REFRESH: Duration = Duration::from_secs(10);

pub struct Question {
    pub text: String,
    pub path: Option<String>,
    pub analysis_id: Option<i64>,
    pub specialists: Option<Vec<String>>,
    pub mode: Option<String>,
}

/// The turn's marks: the conversation's (one turn at a time) and the user's slot (a few
/// turns per user), both holding the turn's nonce so only it releases them.
pub struct Mark {
    key: String,
    slot: String,
    nonce: String,
}

impl Mark {
    pub fn new(key: String, slot: String, nonce: String) -> Mark {
        Mark { key, slot, nonce }
    }

    async fn release(&self, state: &AppState) {
        for key in [&self.key, &self.slot] {
            let _ = state.cache.delete_if(key, self.nonce.as_bytes()).await;
        }
    }
}

pub async fn run(
    state: AppState,
    caller: Caller,
    conversation_id: i64,
    q: Question,
    mark: Mark,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let outcome = tokio::select! {
        outcome = ask(&state, &caller, conversation_id, q, &mark, stop) => outcome,
        // Keeps the marks fresh for as long as the turn runs (never recreates one that
        // was released: `touch` only extends).
        _ = async {
            loop {
                tokio::time::sleep(REFRESH).await;
                let _ = state.cache.touch(&mark.key, LIVENESS).await;
                let _ = state.cache.touch(&mark.slot, LIVENESS).await;
            }
        } => unreachable!(),
    };
    // Released already with the last event; this is for paths that stored none.
    mark.release(&state).await;
    state
        .metrics
        .conversation
        .turns
        .get_or_create(&OutcomeLabels {
            outcome: outcome.into(),
        })
        .inc();
}

/// Stores the turn's last event, releases the mark, then publishes: a client that has
/// the event can ask its next question at once.
async fn finish(
    state: &AppState,
    conversation_id: i64,
    mark: &Mark,
    kind: &str,
    payload: Value,
    message: Option<(&str, &str)>,
) -> bool {
    let stored: Option<Stored> = store_event(state, conversation_id, None, kind, payload, message)
        .await
        .ok()
        .flatten();
    mark.release(state).await;
    match stored {
        Some(s) => {
            publish(state, &s).await;
            true
        }
        None => false,
    }
}

async fn failed(
    state: &AppState,
    conversation_id: i64,
    mark: &Mark,
    detail: String,
) -> &'static str {
    finish(
        state,
        conversation_id,
        mark,
        "error",
        json!({ "code": "failed", "detail": detail }),
        None,
    )
    .await;
    "failed"
}

/// Asks and streams until answered or `stop`; the turn's outcome. The session token lives
/// as long as the turn.
async fn ask(
    state: &AppState,
    caller: &Caller,
    conversation_id: i64,
    q: Question,
    mark: &Mark,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> &'static str {
    let budget = Duration::from_secs(state.config.reasoning_timeout_secs + 60);
    let token = match issue_token(state, caller, budget).await {
        Ok(t) => t,
        Err(e) => return failed(state, conversation_id, mark, e.detail).await,
    };
    let task = std::sync::OnceLock::new();
    let outcome = tokio::select! {
        outcome = stream(state, conversation_id, q, mark, &token, budget, &task) => outcome,
        Ok(()) = stop => {
            // Closing the stream would leave the orchestrator reasoning for nobody.
            if let Some(id) = task.get() {
                stop_reasoning(state, &token, *id).await;
            }
            let cancelled = json!({ "code": "cancelled", "detail": "the question was cancelled" });
            finish(state, conversation_id, mark, "error", cancelled, None).await;
            "cancelled"
        }
    };
    revoke_token(state, &token).await;
    outcome
}

/// Asks the orchestrator to stop task `id` (best effort: a reasoning on another replica
/// of the orchestrator, or one that just finished, runs out by itself).
async fn stop_reasoning(state: &AppState, token: &str, id: i64) {
    let base = state
        .peers
        .get(ServiceKind::Orchestrator)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let stopped = state
        .http
        .post(format!("{base}/api/v1/agent/tasks/{id}/cancel"))
        .bearer_auth(token)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    if let Err(e) = stopped {
        tracing::debug!(task = id, error = %e, "cannot stop the orchestrator's reasoning");
    }
}

async fn stream(
    state: &AppState,
    conversation_id: i64,
    q: Question,
    mark: &Mark,
    token: &str,
    budget: Duration,
    task: &std::sync::OnceLock<i64>,
) -> &'static str {
    let mut body = json!({ "question": q.text });
    if let Some(p) = q.path {
        body["path"] = p.into();
    }
    if let Some(id) = q.analysis_id {
        body["analysis_id"] = id.into();
    }
    if let Some(s) = q.specialists {
        body["specialists"] = json!(s);
    }
    if let Some(m) = q.mode {
        body["mode"] = m.into();
    }
    let base = state
        .peers
        .get(ServiceKind::Orchestrator)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let mut headers = crate::telemetry::trace_headers();
    if let Ok(v) = format!("Bearer {token}").parse() {
        headers.insert(axum::http::header::AUTHORIZATION, v);
    }
    let response = state
        .http
        .post(format!("{base}/api/v1/agent/tasks?stream=ndjson"))
        .headers(headers)
        .json(&body)
        .timeout(budget)
        .send()
        .await;
    let mut response = match response {
        Ok(r) => r,
        Err(e) => {
            let why = format!(
                "the orchestrator cannot be reached ({}); ask again shortly",
                crate::health::root_cause(&e)
            );
            return failed(state, conversation_id, mark, why).await;
        }
    };
    if !response.status().is_success() {
        let status = response.status();
        let problem: Value = response.json().await.unwrap_or_default();
        let detail = problem["detail"].as_str().map_or_else(
            || format!("the orchestrator answered {status}"),
            str::to_string,
        );
        return failed(state, conversation_id, mark, detail).await;
    }
    let mut buffer = Vec::new();
    let mut task_id = Value::Null;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                let why = format!("the answer stream broke off ({e})");
                return failed(state, conversation_id, mark, why).await;
            }
        };
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let Ok(mut event) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            let kind = event["type"].as_str().unwrap_or_default().to_string();
            match kind.as_str() {
                "task" => {
                    task_id = event["id"].clone();
                    if let Some(id) = task_id.as_i64() {
                        let _ = task.set(id);
                    }
                }
                "step" if event.is_object() => {
                    if let Some(o) = event.as_object_mut() {
                        o.remove("type");
                    }
                    event["task_id"] = task_id.clone();
                    if emit(state, conversation_id, "step", event, None)
                        .await
                        .is_err()
                    {
                        return failed(
                            state,
                            conversation_id,
                            mark,
                            "a step could not be stored".into(),
                        )
                        .await;
                    }
                }
                "answer" => {
                    let mut answer = event["answer"].take();
                    if !answer.is_object() {
                        let why = "the orchestrator's answer is malformed".to_string();
                        return failed(state, conversation_id, mark, why).await;
                    }
                    let text = answer["text"].as_str().unwrap_or_default().to_string();
                    // The steps were sent one by one already.
                    if let Some(o) = answer.as_object_mut() {
                        o.remove("steps");
                    }
                    answer["task_id"] = task_id.clone();
                    let done = finish(
                        state,
                        conversation_id,
                        mark,
                        "answer",
                        answer,
                        Some(("assistant", &text)),
                    )
                    .await;
                    return if done { "answered" } else { "failed" };
                }
                "error" => {
                    let detail = event["detail"]
                        .as_str()
                        .unwrap_or("the question could not be answered")
                        .to_string();
                    return failed(state, conversation_id, mark, detail).await;
                }
                _ => {}
            }
        }
    }
    failed(
        state,
        conversation_id,
        mark,
        "the orchestrator stopped before answering".into(),
    )
    .await
}
