//! `POST /api/v1/agent/tasks`: ask qa-agent a question. The orchestrator plans, runs the
//! specialists' actions as tool calls on the specialist service (as the caller), and
//! answers with the steps, the evidence, the specialists involved, a confidence and a
//! quality score. `?stream=ndjson` (or `Accept: application/x-ndjson`) streams each step
//! as it is taken. Every task is stored as a reasoning trace its owner can read back.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qa_agents::{Answer, EngineError, Mode, SpecialistId, Step, Task};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::views::{Problem, TaskList, TaskView};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::reasoning::{EphemeralCache, HttpTools, observe};
use crate::{AppState, ServiceKind};

/// Longest question accepted, in characters.
const MAX_QUESTION: usize = 4000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    /// The question, in plain words ("what is risky in payments/?").
    pub question: String,
    /// A directory on the server to analyse (under QA_AGENT_WORKSPACE_ROOTS).
    pub path: Option<String>,
    /// An earlier analysis to answer from, instead of `path`.
    pub analysis_id: Option<i64>,
    /// Ask these specialists (`test-architect`, `code-reviewer`, `performance-analyst`,
    /// `security-specialist`) instead of letting the planner choose.
    pub specialists: Option<Vec<String>>,
    /// How several specialists work together: `sequential`, `parallel` or `consensus`.
    pub mode: Option<Mode>,
    /// Reason afresh even if the same question about the same code was answered before
    /// (the new answer replaces the cached one).
    #[serde(default)]
    pub fresh: bool,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StreamQuery {
    /// `ndjson`: stream one JSON object per line (`task`, then each `step`, then `answer` or `error`).
    pub stream: Option<String>,
}

fn parse_specialists(names: &[String]) -> Result<Vec<SpecialistId>, ApiError> {
    names
        .iter()
        .map(|n| {
            SpecialistId::parse(n).ok_or_else(|| {
                ApiError::invalid(format!(
                    "unknown specialist `{n}`: one of {}",
                    SpecialistId::ALL.map(|s| s.name()).join(", ")
                ))
            })
        })
        .collect()
}

/// Asks a question; answers when the reasoning is done, or streams it.
#[utoipa::path(post, path = "/api/v1/agent/tasks", tag = "agents",
    params(StreamQuery),
    request_body = TaskRequest,
    responses(
        (status = 200, body = TaskView, description = "The answer, with its steps (or an NDJSON stream of `task`, `step`, `answer`/`error` lines)"),
        (status = 422, body = Problem, description = "Empty or overlong question, unknown specialist"),
        (status = 503, body = Problem, description = "The specialist service is down, or too many reasonings are queued (Retry-After)")))]
pub async fn ask(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
    ApiJson(req): ApiJson<TaskRequest>,
) -> Result<Response, ApiError> {
    let question = req.question.trim().to_string();
    if question.is_empty() {
        return Err(ApiError::invalid(
            "`question` is empty: ask something, e.g. \"what should I test first?\"",
        ));
    }
    if question.chars().count() > MAX_QUESTION {
        return Err(ApiError::invalid(format!(
            "`question` is longer than {MAX_QUESTION} characters"
        )));
    }
    if req.path.is_some() && req.analysis_id.is_some() {
        return Err(ApiError::invalid("give `path` or `analysis_id`, not both"));
    }
    let specialists = req
        .specialists
        .as_deref()
        .map(parse_specialists)
        .transpose()?;
    let stream = query.stream.as_deref() == Some("ndjson")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/x-ndjson"));
    if let Some(s) = query.stream.as_deref().filter(|s| *s != "ndjson") {
        return Err(ApiError::invalid(format!(
            "`stream={s}`: the only stream format is `ndjson`"
        )));
    }
    let mut task = Task {
        question,
        path: req.path,
        analysis_id: req.analysis_id,
        specialists,
        mode: req.mode,
        fresh: req.fresh,
        planner: state
            .reasoning
            .planner_for(&state, caller.0.tenant_id)
            .await,
        related: Vec::new(),
    };
    // Who will answer decides whether the specialist service is needed at all.
    let reasoning = state.reasoning.clone();
    let planner = task
        .planner
        .clone()
        .unwrap_or_else(|| reasoning.engine.planner());
    let understanding = planner.understand(&task.question);
    let route = planner.route(&understanding, task.specialists.clone(), task.mode);
    if !route.specialists.is_empty() {
        let base = state
            .peers
            .get(ServiceKind::Specialists)
            .map(str::to_string);
        let check = reasoning
            .specialists_ready(|| {
                crate::health::check_peer(&state, base.as_deref(), "/health/ready")
            })
            .await;
        if check["status"] != "up" {
            let names: Vec<&str> = route.specialists.iter().map(|s| s.name()).collect();
            return Err(ApiError::unavailable(
                "specialist-unavailable",
                format!(
                    "{} cannot answer: the specialist service is unavailable ({}); see /health/detailed",
                    names.join(", "),
                    check["error"].as_str().unwrap_or("not ready")
                ),
            ));
        }
    }
    let permit = reasoning
        .admit(&state.metrics.reasoning)
        .await
        .map_err(|_| {
            ApiError::unavailable(
                "overloaded",
                "too many questions are being answered; this one was shed — retry shortly",
            )
            .retry_after(5)
        })?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .cloned()
        .ok_or_else(|| ApiError::invalid("missing Authorization"))?;
    task.related = crate::reasoning::related(&state, &authorization, &task.question).await;
    let id = state
        .db
        .db
        .start_trace(caller.0.tenant_id, Some(caller.0.user_id), &task.question)
        .await?;
    let tools = HttpTools::new(&state, authorization, reasoning.budget.time);
    let (tenant_id, user_id) = (caller.0.tenant_id, caller.0.user_id);
    if !stream {
        let started = Instant::now();
        let cache = EphemeralCache {
            cache: &state.cache,
            metrics: &state.metrics.reasoning,
            tenant_id,
        };
        let result = reasoning
            .engine
            .run_cached(&task, &tools, reasoning.budget, None, Some(&cache))
            .await;
        drop(permit);
        let answer = store(&state, (id, tenant_id, user_id), &result, started.elapsed()).await?;
        return match (answer, result) {
            (Some(view), _) => Ok(Json(view).into_response()),
            (None, Err(EngineError::Unavailable(why))) => Err(ApiError::unavailable(
                "specialist-unavailable",
                format!("the specialist service became unavailable while answering: {why}"),
            )),
            (None, Ok(_)) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the answer could not be stored",
            )),
        };
    }
    // Streaming: the reasoning runs in its own task, so a client that goes away does not
    // stop it, and its trace is stored either way.
    let (lines_tx, lines_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let _ = lines_tx.send(line(&json!({ "type": "task", "id": id })));
    tokio::spawn(async move {
        let _permit = permit;
        let (steps_tx, mut steps_rx) = tokio::sync::mpsc::unbounded_channel::<Step>();
        let forward = {
            let lines_tx = lines_tx.clone();
            tokio::spawn(async move {
                while let Some(step) = steps_rx.recv().await {
                    let mut v = serde_json::to_value(&step).unwrap_or_default();
                    v["type"] = "step".into();
                    let _ = lines_tx.send(line(&v));
                }
            })
        };
        let started = Instant::now();
        // In a task of its own, so that a panic in the reasoning still ends the stream
        // with an error line and the trace as failed.
        let inner = {
            let (state, reasoning) = (state.clone(), reasoning.clone());
            tokio::spawn(async move {
                let cache = EphemeralCache {
                    cache: &state.cache,
                    metrics: &state.metrics.reasoning,
                    tenant_id,
                };
                reasoning
                    .engine
                    .run_cached(
                        &task,
                        &tools,
                        reasoning.budget,
                        Some(steps_tx),
                        Some(&cache),
                    )
                    .await
            })
        };
        reasoning.started(id, tenant_id, user_id, inner.abort_handle());
        let joined = inner.await;
        reasoning.done(id);
        let _ = forward.await;
        let end = match joined {
            Err(e) if e.is_cancelled() => {
                let cancelled = qa_store::FinishedTrace {
                    status: "cancelled".into(),
                    steps: "[]".into(),
                    duration_ms: started.elapsed().as_millis() as i64,
                    ..Default::default()
                };
                if let Err(e) = state.db.db.finish_trace(id, &cancelled).await {
                    tracing::error!(task = id, error = %e, "cannot mark the task cancelled");
                }
                json!({ "type": "error", "status": 409, "code": "cancelled", "detail": "the question was cancelled by its asker" })
            }
            Ok(result) => {
                match store(&state, (id, tenant_id, user_id), &result, started.elapsed()).await {
                    Ok(Some(view)) => {
                        let mut v = serde_json::to_value(&view).unwrap_or_default();
                        v["type"] = "answer".into();
                        v
                    }
                    Ok(None) => {
                        json!({ "type": "error", "status": 503, "detail": match &result { Err(e) => e.to_string(), Ok(_) => String::new() } })
                    }
                    Err(e) => {
                        json!({ "type": "error", "status": e.status.as_u16(), "detail": e.detail })
                    }
                }
            }
            Err(panic) => {
                tracing::error!(task = id, error = %panic, "the reasoning panicked");
                let failed = qa_store::FinishedTrace {
                    status: "failed".into(),
                    answer: Some(json!({ "error": "internal error" }).to_string()),
                    steps: "[]".into(),
                    duration_ms: started.elapsed().as_millis() as i64,
                    ..Default::default()
                };
                if let Err(e) = state.db.db.finish_trace(id, &failed).await {
                    tracing::error!(task = id, error = %e, "cannot mark the task failed");
                }
                json!({ "type": "error", "status": 500, "detail": "internal error while answering; the task is marked failed" })
            }
        };
        let _ = lines_tx.send(line(&end));
    });
    let body = futures_util::stream::unfold(lines_rx, |mut rx| async move {
        rx.recv().await.map(|l| (Ok::<_, Infallible>(l), rx))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

fn line(v: &Value) -> String {
    let mut s = v.to_string();
    s.push('\n');
    s
}

/// Completes the trace and records the metrics; the answer's view when there is one.
async fn store(
    state: &AppState,
    (id, tenant_id, user_id): (i64, i64, i64),
    result: &Result<Answer, EngineError>,
    elapsed: Duration,
) -> Result<Option<TaskView>, ApiError> {
    let duration_ms = elapsed.as_millis() as i64;
    let finished = match result {
        Ok(answer) => {
            observe(&state.metrics.reasoning, answer, elapsed);
            let mut stored = serde_json::to_value(answer).unwrap_or_default();
            stored.as_object_mut().map(|o| o.remove("steps"));
            qa_store::FinishedTrace {
                status: "done".into(),
                intent: Some(answer.intent.as_str().into()),
                specialists: Some(json!(answer.specialists).to_string()),
                answer: Some(stored.to_string()),
                steps: json!(answer.steps).to_string(),
                quality: answer.quality.score,
                confidence: Some(answer.confidence),
                analysis_id: answer.analysis_id,
                duration_ms,
            }
        }
        Err(e) => qa_store::FinishedTrace {
            status: "failed".into(),
            answer: Some(json!({ "error": e.to_string() }).to_string()),
            steps: "[]".into(),
            duration_ms,
            ..Default::default()
        },
    };
    state.db.db.finish_trace(id, &finished).await?;
    Ok(match result {
        Ok(answer) => {
            // Stored whole; shown at the asker's preferred length.
            let mut shown = answer.clone();
            match crate::learning::preferences(state, tenant_id, user_id).await {
                Ok(p) => {
                    if let Some(short) = qa_learning::prefs::shorten(
                        &shown.text,
                        p.answer_length.value,
                        &format!("`GET /api/v1/agent/tasks/{id}`"),
                    ) {
                        shown.text = short;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read preferences; the whole answer is shown")
                }
            }
            Some(TaskView::from_answer(id, "done", shown))
        }
        Err(_) => None,
    })
}

/// Stops a streamed task that is still reasoning (its asker or an admin of the tenant):
/// the reasoning ends at its next step, the stream ends with an `error` line (`code`
/// `cancelled`) and the trace is stored as cancelled.
#[utoipa::path(post, path = "/api/v1/agent/tasks/{id}/cancel", tag = "agents", params(("id" = i64, Path)),
    responses((status = 202, description = "`{cancelled: true}`"), (status = 404, body = Problem)))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let admin = caller.require_admin().is_ok();
    if state
        .reasoning
        .stop(id, caller.0.tenant_id, caller.0.user_id, admin)
    {
        Ok((StatusCode::ACCEPTED, Json(json!({ "cancelled": true }))))
    } else {
        Err(ApiError::not_found(format!(
            "task {id} reasoning on this orchestrator (it finished, or is not yours)"
        )))
    }
}

/// A stored task: question, status, steps and answer. Only its asker (or an admin of the
/// tenant) can read it.
#[utoipa::path(get, path = "/api/v1/agent/tasks/{id}", tag = "agents", params(("id" = i64, Path)),
    responses((status = 200, body = TaskView), (status = 404, body = Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TaskView>, ApiError> {
    let t = state
        .db
        .db
        .trace(caller.0.tenant_id, id)
        .await?
        .filter(|t| t.user_id == Some(caller.0.user_id) || caller.require_admin().is_ok());
    let Some(t) = t else {
        return Err(ApiError::not_found_for(
            &state,
            &caller,
            qa_store::Owned::Task,
            id,
            format!("task {id}"),
        )
        .await);
    };
    Ok(Json(TaskView::from_record(t, interrupted_after(&state))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Tasks older than this id (the previous page's `next`).
    pub before: Option<i64>,
    /// At most this many (20; 1 to 100).
    pub limit: Option<i64>,
}

/// The caller's tasks, newest first (an admin sees the tenant's).
#[utoipa::path(get, path = "/api/v1/agent/tasks", tag = "agents", params(ListQuery),
    responses((status = 200, body = TaskList)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<TaskList>, ApiError> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("`limit` is between 1 and 100"));
    }
    let admin = caller.require_admin().is_ok();
    let mine = (!admin).then_some(caller.0.user_id);
    let tasks: Vec<TaskView> = state
        .db
        .db
        .traces(caller.0.tenant_id, mine, q.before, limit)
        .await?
        .into_iter()
        .map(|t| TaskView::from_record(t, interrupted_after(&state)).summary())
        .collect();
    let next = (tasks.len() == limit as usize)
        .then(|| tasks.last().map(|t| t.id))
        .flatten();
    Ok(Json(TaskList { tasks, next }))
}

/// A trace still `running` this long after it started belongs to a process that died.
fn interrupted_after(state: &AppState) -> Duration {
    Duration::from_secs(state.config.reasoning_timeout_secs + 60)
}

/// Clears the reasoning cache (the learning engine's `POST
/// /api/v1/optimize/reasoning_cache` comes here); keyless from a trusted address, audited.
#[utoipa::path(post, path = "/api/v1/agent/reasoning_cache/clear", tag = "agents",
    security((), ("api_key" = [])),
    responses((status = 200, body = crate::api::views::CacheCleared), (status = 503, body = Problem)))]
pub async fn clear_cache(
    State(state): State<AppState>,
    operator: crate::auth::Operator,
) -> Result<Json<crate::api::views::CacheCleared>, ApiError> {
    let removed = state
        .cache
        .delete_prefix(crate::reasoning::REASONING_CACHE_PREFIX)
        .await
        .map_err(|e| {
            if e.is_unavailable() {
                ApiError::unavailable(
                    "redis-unavailable",
                    format!("Redis is unavailable ({e}); the reasoning cache cannot be cleared now, try again shortly"),
                )
            } else {
                ApiError::from(e)
            }
        })?;
    operator
        .audit(
            &state,
            "optimize.reasoning_cache",
            Some(format!("removed {removed} entries")),
        )
        .await;
    Ok(Json(crate::api::views::CacheCleared {
        status: "done".into(),
        removed,
        backend: state.cache.backend().into(),
    }))
}
