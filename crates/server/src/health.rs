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
    let start = Instant::now();
    let ping = tokio::time::timeout(state.peer_timeout, db.ping()).await;
    let latency_ms = round3(start.elapsed().as_secs_f64() * 1000.0);
    let mut check = json!({
        "status": "up",
        "required": true,
        "backend": db.backend(),
        "latency_ms": latency_ms,
        "pool": { "size": pool.size, "idle": pool.idle, "max": pool.max },
    });
    let error = match ping {
        Err(_) => Some(format!(
            "no answer within {} ms",
            state.peer_timeout.as_millis()
        )),
        Ok(Err(e)) => Some(e.to_string()),
        Ok(Ok(_)) if !state.db.migrated() => {
            Some("schema not migrated yet (retrying; or run `qa-agent migrate`)".into())
        }
        Ok(Ok(_)) => None,
    };
    if let Some(error) = error {
        check["status"] = "down".into();
        check["error"] = error.into();
    }
    check
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
    let start = Instant::now();
    let ping = tokio::time::timeout(state.peer_timeout, cache.ping()).await;
    let latency_ms = round3(start.elapsed().as_secs_f64() * 1000.0);
    let mut check = json!({
        "status": "up",
        "required": required,
        "backend": cache.backend(),
        "latency_ms": latency_ms,
    });
    let error = match ping {
        Err(_) => Some(format!(
            "no answer within {} ms",
            state.peer_timeout.as_millis()
        )),
        Ok(Err(e)) => Some(e.to_string()),
        Ok(Ok(())) => None,
    };
    if let Some(error) = error {
        check["status"] = "down".into();
        check["error"] = error.into();
    }
    check
}

/// The learning engine's feedback pipeline, from the feedback table: how much waits,
/// since when, and when feedback was last processed (null until it ever was).
async fn check_feedback(state: &AppState) -> Value {
    match state.db.db.feedback_backlog().await {
        Ok(b) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            json!({
                "status": "up",
                "pending": b.pending,
                "oldest_pending_age_seconds": b.oldest_pending_at.map(|t| round3((now - t) as f64 / 1000.0)),
                "last_processed_at_ms": b.last_processed_at,
            })
        }
        Err(e) => json!({ "status": "down", "error": e.to_string() }),
    }
}

/// Each tool's circuit (`closed`, `open`, `half_open`) and whether an admin disabled it.
async fn tool_states(state: &AppState) -> Value {
    let mut tools = Map::new();
    for name in state.tools.names() {
        let disabled = crate::api::tools::is_disabled(state, name).await.ok();
        tools.insert(
            name.into(),
            json!({ "circuit": state.tools.circuit(name).as_str(), "disabled": disabled }),
        );
    }
    Value::Object(tools)
}

pub async fn detailed(State(state): State<AppState>) -> Response {
    let checks = state.kind.peers().iter().map(|&peer| {
        let url = state.peers.get(peer).map(str::to_string);
        let client = state.http.clone();
        let timeout = state.peer_timeout;
        async move { (peer, check_peer(&client, url.as_deref(), timeout).await) }
    });
    // Peers and the database at once: the answer waits for the slowest, not the sum.
    let (results, database, redis) = tokio::join!(
        futures_join_all(checks),
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
    if state.kind == crate::ServiceKind::Learning {
        body.insert("feedback_processing".into(), check_feedback(&state).await);
    }
    if state.kind == crate::ServiceKind::Specialists {
        body.insert("tools".into(), tool_states(&state).await);
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

async fn check_peer(client: &reqwest::Client, base: Option<&str>, timeout: Duration) -> Value {
    let Some(base) = base else {
        return json!({ "status": "unknown", "required": false, "error": "no address configured" });
    };
    let url = format!("{}/health/live", base.trim_end_matches('/'));
    let start = Instant::now();
    let outcome = client
        .get(&url)
        .headers(crate::telemetry::trace_headers())
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

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Runs the checks concurrently (a handful of futures: no need for the futures crate).
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}
