//! One turn: a question asked of the orchestrator on the user's behalf (with a session
//! token of theirs), its streamed steps stored and published as events, and its answer
//! stored as the assistant's message. While it runs, `turn:<conversation>` in Redis says
//! so (refreshed); a turn whose process died stops refreshing it, and the conversation
//! reports the turn as interrupted when it is next opened.

use std::time::Duration;

use serde_json::{Value, json};

use super::{emit, turn_key};
use crate::auth::{Caller, issue_token};
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

pub async fn run(state: AppState, caller: Caller, conversation_id: i64, q: Question) {
    let outcome = tokio::select! {
        outcome = ask(&state, &caller, conversation_id, q) => outcome,
        // Keeps the running mark fresh for as long as the turn runs.
        _ = async {
            loop {
                tokio::time::sleep(REFRESH).await;
                let _ = state.cache.set(&turn_key(conversation_id), b"1", LIVENESS).await;
            }
        } => unreachable!(),
    };
    let _ = state.cache.delete(&turn_key(conversation_id)).await;
    state
        .metrics
        .conversation
        .turns
        .get_or_create(&OutcomeLabels {
            outcome: outcome.into(),
        })
        .inc();
}

async fn failed(state: &AppState, conversation_id: i64, detail: String) -> &'static str {
    let _ = emit(
        state,
        conversation_id,
        "error",
        json!({ "code": "failed", "detail": detail }),
        None,
    )
    .await;
    "failed"
}

/// Asks and streams; the turn's outcome.
async fn ask(state: &AppState, caller: &Caller, conversation_id: i64, q: Question) -> &'static str {
    let budget = Duration::from_secs(state.config.reasoning_timeout_secs + 60);
    let token = match issue_token(state, caller, budget).await {
        Ok(t) => t,
        Err(e) => return failed(state, conversation_id, e.detail).await,
    };
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
            return failed(
                state,
                conversation_id,
                format!(
                    "the orchestrator cannot be reached ({}); ask again shortly",
                    crate::health::root_cause(&e)
                ),
            )
            .await;
        }
    };
    if !response.status().is_success() {
        let status = response.status();
        let problem: Value = response.json().await.unwrap_or_default();
        let detail = problem["detail"].as_str().map_or_else(
            || format!("the orchestrator answered {status}"),
            str::to_string,
        );
        return failed(state, conversation_id, detail).await;
    }
    let mut buffer = Vec::new();
    let mut task_id = Value::Null;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                return failed(
                    state,
                    conversation_id,
                    format!("the answer stream broke off ({e})"),
                )
                .await;
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
                "task" => task_id = event["id"].clone(),
                "step" => {
                    if let Some(o) = event.as_object_mut() {
                        o.remove("type");
                    }
                    event["task_id"] = task_id.clone();
                    if emit(state, conversation_id, "step", event, None)
                        .await
                        .is_err()
                    {
                        return "failed";
                    }
                }
                "answer" => {
                    let mut answer = event["answer"].take();
                    let text = answer["text"].as_str().unwrap_or_default().to_string();
                    // The steps were sent one by one already.
                    if let Some(o) = answer.as_object_mut() {
                        o.remove("steps");
                    }
                    answer["task_id"] = task_id.clone();
                    return match emit(
                        state,
                        conversation_id,
                        "answer",
                        answer,
                        Some(("assistant", &text)),
                    )
                    .await
                    {
                        Ok(_) => "answered",
                        Err(_) => "failed",
                    };
                }
                "error" => {
                    let detail = event["detail"]
                        .as_str()
                        .unwrap_or("the question could not be answered")
                        .to_string();
                    return failed(state, conversation_id, detail).await;
                }
                _ => {}
            }
        }
    }
    failed(
        state,
        conversation_id,
        "the orchestrator stopped before answering".into(),
    )
    .await
}
