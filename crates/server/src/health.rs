//! `/health`, `/health/live`, `/health/ready` and `/health/detailed`, the same on every
//! service, as Kubernetes probes and the runbook's checks expect.
//!
//! `live` only says the process serves. `ready` (and `/health`) fail with 503 when a
//! required dependency is down or the service is draining after SIGTERM. `detailed` has
//! one top-level object per dependency (the runbook reads `jq '.database'`), each with its
//! status and latency. Peers are reported but never required, so one service being down
//! does not take the others out of their load balancers.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::AppState;

pub async fn live() -> Json<Value> {
    Json(json!({ "status": "alive" }))
}

pub async fn ready(State(state): State<AppState>) -> Response {
    if state.draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "draining" })),
        )
            .into_response();
    }
    let (database, redis) = tokio::join!(check_database(&state), check_redis(&state));
    let failing: Vec<&str> = [("database", &database), ("redis", &redis)]
        .into_iter()
        .filter(|(_, c)| is_failing(c))
        .map(|(name, _)| name)
        .collect();
    if !failing.is_empty() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "failing": failing, "database": database, "redis": redis })),
        )
            .into_response();
    }
    (StatusCode::OK, Json(json!({ "status": "ready" }))).into_response()
}

pub async fn health(State(state): State<AppState>) -> Response {
    let (code, status) = if state.draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else if required_down(&state).await {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    } else {
        (StatusCode::OK, "ok")
    };
    let body = json!({
        "status": status,
        "service": state.kind.name(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    (code, Json(body)).into_response()
}

/// The database, required by every service: reachable within the peer timeout, and
/// migrated to this release's schema.
async fn check_database(state: &AppState) -> Value {
    let db = &state.db.db;
    let pool = db.pool_status();
    let (latency_ms, error) = timed(state.peer_timeout, db.ping()).await;
    let mut check = json!({
        "status": "up",
        "required": true,
        "backend": db.backend(),
        "latency_ms": latency_ms,
        "pool": { "size": pool.size, "idle": pool.idle, "max": pool.max },
    });
    let error = error.or_else(|| {
        (!state.db.migrated())
            .then(|| "schema not migrated yet (retrying; or run `qa-agent migrate`)".to_string())
    });
    if let Some(error) = error {
        check["status"] = "down".into();
        check["error"] = error.into();
    }
    check
}

/// Runs a ping within `timeout`: its latency (ms) and, if it failed, why.
async fn timed(
    timeout: Duration,
    ping: impl std::future::Future<Output = Result<(), qa_store::StoreError>>,
) -> (f64, Option<String>) {
    let start = Instant::now();
    let outcome = tokio::time::timeout(timeout, ping).await;
    let latency_ms = round3(start.elapsed().as_secs_f64() * 1000.0);
    let error = match outcome {
        Err(_) => Some(format!("no answer within {} ms", timeout.as_millis())),
        Ok(Err(e)) => Some(e.to_string()),
        Ok(Ok(())) => None,
    };
    (latency_ms, error)
}

/// Whether the database or a configured Redis is down.
async fn required_down(state: &AppState) -> bool {
    let (database, redis) = tokio::join!(check_database(state), check_redis(state));
    is_failing(&database) || is_failing(&redis)
}

/// A required dependency that is not up.
fn is_failing(check: &Value) -> bool {
    check["required"] == true && check["status"] != "up"
}

/// Redis, required when `REDIS_URL` is set; the in-process store is always up.
async fn check_redis(state: &AppState) -> Value {
    let cache = &state.cache;
    let required = cache.backend() == "redis";
    let (latency_ms, error) = timed(state.peer_timeout, cache.ping()).await;
    let mut check = json!({
        "status": "up",
        "required": required,
        "backend": cache.backend(),
        "latency_ms": latency_ms,
    });
    if let Some(error) = error {
        check["status"] = "down".into();
        check["error"] = error.into();
    }
    check
}

/// The learning engine's feedback pipeline, from the feedback table: how much waits,
/// since when (the lag), when feedback was last processed and the newest learning
/// event (null until there was one), failures, and the learned state in use.
async fn check_feedback(state: &AppState) -> Value {
    let (backlog, counts) = tokio::join!(
        state.db.db.feedback_backlog(),
        state.db.db.learning_counts()
    );
    match (backlog, counts) {
        (Ok(b), Ok(c)) => {
            let now = qa_store::now_ms();
            let (processed, failed) = state.learning.totals();
            json!({
                "status": "up",
                "pending": b.pending,
                "oldest_pending_age_seconds": b.oldest_pending_at.map(|t| round3((now - t) as f64 / 1000.0)),
                "lag_seconds": round3(b.oldest_pending_at.map_or(0.0, |t| (now - t) as f64 / 1000.0)),
                "last_processed_at_ms": b.last_processed_at,
                "last_learning_event_at_ms": c.last_event_at,
                "failures": c.failed,
                "processed_by_this_replica": processed,
                "failed_on_this_replica": failed,
                "learned_state": {
                    "snapshot_id": state.learned.snapshot_id(),
                    "at_start": state.learning.start_status(),
                },
            })
        }
        (Err(e), _) | (_, Err(e)) => json!({ "status": "down", "error": e.to_string() }),
    }
}

/// Each tool's circuit (`closed`, `open`, `half_open`) and whether an admin disabled it.
async fn tool_states(state: &AppState) -> Value {
    let off = crate::api::tools::disabled_tools(state).await.ok();
    let mut tools = Map::new();
    for name in state.tools.names() {
        let disabled = off.as_ref().map(|off| off.contains(name));
        tools.insert(
            name.into(),
            json!({ "circuit": state.tools.circuit(name).as_str(), "disabled": disabled }),
        );
    }
    Value::Object(tools)
}

pub async fn detailed(State(state): State<AppState>) -> Response {
    let mut checks = tokio::task::JoinSet::new();
    for &peer in state.kind.peers() {
        let check = check_peer(&state, state.peers.get(peer), "/health/live");
        checks.spawn(async move { (peer, check.await) });
    }
    // Peers and the database at once: the answer waits for the slowest, not the sum.
    let (results, database, redis) = tokio::join!(
        checks.join_all(),
        check_database(&state),
        check_redis(&state)
    );
    let mut body = Map::new();
    body.insert("service".into(), state.kind.name().into());
    body.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    body.insert(
        "uptime_seconds".into(),
        json!(round3(state.started.elapsed().as_secs_f64())),
    );
    let required_up = !is_failing(&database) && !is_failing(&redis);
    body.insert("database".into(), database);
    body.insert("redis".into(), redis);
    if let Some(tls) = &state.tls {
        let now = std::time::SystemTime::now();
        body.insert(
            "tls".into(),
            json!({
                "certificate": tls.current().map(|c| json!({
                    "sha256": c.sha256,
                    "subject": c.subject,
                    "not_after": c.not_after,
                    "expires": c.expires,
                    "days_left": c.days_left(now),
                })),
                "last_reload_error": tls.last_error(),
            }),
        );
    }
    if state.kind == crate::ServiceKind::Learning {
        body.insert("feedback_processing".into(), check_feedback(&state).await);
        body.insert("knowledge".into(), state.learning.knowledge.status());
    }
    if state.kind == crate::ServiceKind::Specialists {
        body.insert("tools".into(), tool_states(&state).await);
        // Generated tests run here: say how they are contained.
        body.insert(
            "sandbox".into(),
            tokio::task::spawn_blocking(qa_agents::tools::sandbox_status)
                .await
                .unwrap_or_default(),
        );
    }
    if state.kind == crate::ServiceKind::Orchestrator {
        let r = &state.reasoning;
        body.insert(
            "reasoning".into(),
            json!({
                "planner": if r.engine.llm.is_some() { state.config.llm_provider.as_str() } else { "offline" },
                "model": r.engine.llm.as_ref().map(|c| c.config.model.clone()),
                "running": r.running(),
                "queued": r.waiting(),
                "concurrency": state.config.reasoning_concurrency,
                "queue_bound": state.config.reasoning_queue,
                "learned_state": r.learned_state().map_or_else(|| json!("built-in"), |id| json!(id)),
                "intents": r.encoder_status(),
            }),
        );
    }
    let mut degraded = false;
    for (peer, check) in results {
        degraded |= check["status"] != "up";
        body.insert(peer.health_key().into(), check);
    }
    let draining = state.draining();
    let status = if draining {
        "draining"
    } else if !required_up {
        "unavailable"
    } else if degraded {
        "degraded"
    } else {
        "ok"
    };
    body.insert("status".into(), status.into());
    let code = if draining || !required_up {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(Value::Object(body))).into_response()
}

/// `GET <base><path>` on another service within the peer timeout, carrying the current
/// trace (taken now, before the caller spawns the returned future).
pub(crate) fn check_peer(
    state: &AppState,
    base: Option<&str>,
    path: &str,
) -> impl std::future::Future<Output = Value> + Send + 'static {
    let (client, timeout) = (state.http.clone(), state.peer_timeout);
    let base = base.map(str::to_string);
    let url = base
        .as_deref()
        .map(|b| format!("{}{path}", b.trim_end_matches('/')));
    let trace = crate::telemetry::trace_headers();
    async move {
        let (Some(base), Some(url)) = (base, url) else {
            return json!({ "status": "unknown", "required": false, "error": "no address configured" });
        };
        let start = Instant::now();
        let outcome = client
            .get(&url)
            .headers(trace)
            .timeout(timeout)
            .send()
            .await;
        let latency_ms = round3(start.elapsed().as_secs_f64() * 1000.0);
        match outcome {
            Ok(r) if r.status().is_success() => {
                json!({ "status": "up", "latency_ms": latency_ms, "required": false, "url": base })
            }
            Ok(r) => json!({
                "status": "down", "latency_ms": latency_ms, "required": false, "url": base,
                "error": format!("answered {}", r.status()),
            }),
            Err(e) => json!({
                "status": "down", "latency_ms": latency_ms, "required": false, "url": base,
                "error": if e.is_timeout() {
                    format!("no answer within {} ms", timeout.as_millis())
                } else {
                    format!("cannot connect: {}", root_cause(&e))
                },
            }),
        }
    }
}

pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
