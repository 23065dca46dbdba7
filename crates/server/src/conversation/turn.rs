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

/// Runs a turn until it is answered, fails, or is stopped: by `stop` (the connection that
/// asked) or by a cancel request published for the conversation (any connection, any
/// replica).
pub async fn run(
    state: AppState,
    caller: Caller,
    conversation: (i64, i64),
    q: Question,
    mark: Mark,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let outcome = tokio::select! {
        outcome = ask(&state, &caller, conversation, q, &mark, stop) => outcome,
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

/// Stores the turn's last event, releases the conversation's mark, then publishes: a
/// client that has the event can ask its next question at once. (The user's slot is
/// released when the turn's task ends: a cancelled turn holds it until the orchestrator
/// stopped.)
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
    let _ = state
        .cache
        .delete_if(&mark.key, mark.nonce.as_bytes())
        .await;
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

/// Asks and streams; the turn's outcome. The session token lives as long as the turn.
async fn ask(
    state: &AppState,
    caller: &Caller,
    conversation: (i64, i64),
    q: Question,
    mark: &Mark,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> &'static str {
    let budget = Duration::from_secs(state.config.reasoning_timeout_secs + 60);
    let token = match issue_token(state, caller, budget).await {
        Ok(t) => t,
        Err(e) => return failed(state, conversation.0, mark, e.detail).await,
    };
    let outcome = stream(state, conversation, q, mark, &token, budget, stop).await;
    revoke_token(state, &token).await;
    outcome
}

/// The envelope asking whichever replica runs `conversation`'s turn to stop it.
pub fn cancel_request(conversation_id: i64, created_at: i64) -> Value {
    json!({ "cancel": conversation_id, "created_at": created_at })
}

/// The orchestrator's base URL.
fn orchestrator(state: &AppState) -> String {
    state
        .peers
        .get(ServiceKind::Orchestrator)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string()
}

/// Asks the orchestrator to stop task `id`. When it does not (the task runs on another
/// replica of the orchestrator, or just finished), the turn reads the stream to its end
/// all the same, so nothing depends on the answer.
async fn stop_reasoning(state: &AppState, token: &str, id: i64) {
    let stopped = state
        .http
        .post(format!(
            "{}/api/v1/agent/tasks/{id}/cancel",
            orchestrator(state)
        ))
        .bearer_auth(token)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    match stopped {
        Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED => {}
        Ok(r) => {
            tracing::debug!(task = id, status = %r.status(), "the orchestrator did not stop the reasoning")
        }
        Err(e) => {
            tracing::debug!(task = id, error = %e, "cannot stop the orchestrator's reasoning")
        }
    }
}

/// What stops a turn: the asking connection's signal, or a cancel request on the bus.
struct Stop {
    signal: Option<tokio::sync::oneshot::Receiver<()>>,
    bus: tokio::sync::broadcast::Receiver<qa_store::Event>,
    request: Value,
}

impl Stop {
    /// Resolves when the turn is to stop; never, once neither can say so any more.
    async fn requested(&mut self) {
        loop {
            tokio::select! {
                r = async { self.signal.as_mut().expect("guarded").await }, if self.signal.is_some() => {
                    self.signal = None;
                    // The connection went away without cancelling: the turn goes on.
                    if r.is_ok() {
                        return;
                    }
                }
                e = self.bus.recv() => match e {
                    Ok(e) if serde_json::from_slice::<Value>(&e.payload).is_ok_and(|v| v == self.request) => return,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => std::future::pending::<()>().await,
                },
            }
        }
    }
}

/// Streams the orchestrator's answer into events. Once stopped, the orchestrator is
/// asked to stop (as soon as the task id is known), `cancelled` is stored, and the rest
/// of the stream is read and dropped, so the user's slot is held until the reasoning
/// really ended.
async fn stream(
    state: &AppState,
    (conversation_id, created_at): (i64, i64),
    q: Question,
    mark: &Mark,
    token: &str,
    budget: Duration,
    signal: tokio::sync::oneshot::Receiver<()>,
) -> &'static str {
    let mut stop = Stop {
        signal: Some(signal),
        bus: state.cache.listen(),
        request: cancel_request(conversation_id, created_at),
    };
    let mut stopping = false;
    let mut cancelled = false;
    let cancel = async |task_id: &Value| {
        if let Some(id) = task_id.as_i64() {
            stop_reasoning(state, token, id).await;
        }
        let payload = json!({ "code": "cancelled", "detail": "the question was cancelled" });
        finish(state, conversation_id, mark, "error", payload, None).await;
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
    let base = orchestrator(state);
    let mut headers = crate::telemetry::trace_headers();
    if let Ok(v) = format!("Bearer {token}").parse() {
        headers.insert(axum::http::header::AUTHORIZATION, v);
    }
    let request = state
        .http
        .post(format!("{base}/api/v1/agent/tasks?stream=ndjson"))
        .headers(headers)
        .json(&body)
        .timeout(budget)
        .send();
    // Stopped while waiting for admission: dropping the request stops it before any
    // reasoning starts.
    let response = tokio::select! {
        r = request => r,
        () = stop.requested() => {
            cancel(&Value::Null).await;
            return "cancelled";
        }
    };
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
        let next = tokio::select! {
            c = response.chunk() => c,
            () = stop.requested(), if !stopping => {
                stopping = true;
                // The task id comes first in the stream; without it, wait for it.
                if !task_id.is_null() {
                    cancel(&task_id).await;
                    cancelled = true;
                }
                continue;
            }
        };
        let chunk = match next {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(_) if cancelled => return "cancelled",
            Err(e) => {
                let why = format!("the answer stream broke off ({e})");
                return failed(state, conversation_id, mark, why).await;
            }
        };
        if cancelled {
            // Read to the end, dropped: the reasoning stops (or ends) by itself.
            continue;
        }
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
                    if stopping {
                        cancel(&task_id).await;
                        cancelled = true;
                        break;
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
    if stopping {
        if !cancelled {
            cancel(&task_id).await;
        }
        return "cancelled";
    }
    failed(
        state,
        conversation_id,
        mark,
        "the orchestrator stopped before answering".into(),
    )
    .await
}
