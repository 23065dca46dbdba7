//! The learning engine's keyless operational calls from the runbook:
//! `POST /api/v1/maintenance/optimize` (weekly maintenance) and
//! `POST /api/v1/optimize/reasoning_cache` (performance tuning). Both take an API key or a
//! trusted source address, and are audited.

use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::api::views::{CacheCleared, Maintenance, MaintenanceStep, Problem};
use crate::auth::Operator;
use crate::error::ApiError;

/// Weekly maintenance: prune finished jobs and superseded snapshots, refresh statistics,
/// compact the knowledge index.
#[utoipa::path(post, path = "/api/v1/maintenance/optimize", tag = "operations",
    security((), ("api_key" = [])),
    responses((status = 200, body = Maintenance), (status = 401, body = Problem), (status = 503, body = Problem)))]
pub async fn optimize(
    State(state): State<AppState>,
    operator: Operator,
) -> Result<Json<Maintenance>, ApiError> {
    let mut steps: Vec<MaintenanceStep> = state
        .db
        .db
        .maintain()
        .await?
        .into_iter()
        .map(|s| MaintenanceStep {
            step: s.step,
            rows: s.rows,
            millis: s.millis,
        })
        .collect();
    // The knowledge index: its segments merged into one, unused files deleted.
    if let Some(kb) = state.learning.knowledge.base() {
        let t = std::time::Instant::now();
        let merged = tokio::task::spawn_blocking(move || kb.optimize())
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| ApiError::internal(format!("compacting the knowledge index: {e}")))?;
        steps.push(MaintenanceStep {
            step: format!(
                "knowledge index: {} segment(s) merged into {}",
                merged.0, merged.1
            ),
            rows: merged.0 as u64,
            millis: t.elapsed().as_secs_f64() * 1e3,
        });
    }
    let detail = steps
        .iter()
        .map(|s| format!("{}: {} rows in {} ms", s.step, s.rows, s.millis))
        .collect::<Vec<_>>()
        .join("; ");
    operator
        .audit(&state, "maintenance.optimize", Some(detail))
        .await;
    Ok(Json(Maintenance {
        status: "done".into(),
        steps,
    }))
}

/// Clears the cached reasoning results, through the orchestrator that keeps them.
#[utoipa::path(post, path = "/api/v1/optimize/reasoning_cache", tag = "operations",
    security((), ("api_key" = [])),
    responses((status = 200, body = CacheCleared), (status = 401, body = Problem), (status = 503, body = Problem)))]
pub async fn clear_reasoning_cache(
    State(state): State<AppState>,
    operator: Operator,
    headers: axum::http::HeaderMap,
) -> Result<Json<CacheCleared>, ApiError> {
    let base = state
        .peers
        .get(crate::ServiceKind::Orchestrator)
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    let mut forward = crate::telemetry::trace_headers();
    if let Some(auth) = headers.get(axum::http::header::AUTHORIZATION) {
        forward.insert(axum::http::header::AUTHORIZATION, auth.clone());
    }
    let unavailable = |why: String| {
        ApiError::unavailable(
            "orchestrator-unavailable",
            format!(
                "the orchestrator at {base} keeps the reasoning cache and {why}; try again shortly"
            ),
        )
    };
    let response = state
        .http
        .post(format!("{base}/api/v1/agent/reasoning_cache/clear"))
        .headers(forward)
        .timeout(state.peer_timeout * 5)
        .send()
        .await
        .map_err(|e| {
            unavailable(format!(
                "cannot be reached ({})",
                crate::health::root_cause(&e)
            ))
        })?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        let detail = body["detail"].as_str().unwrap_or("no detail").to_string();
        return Err(if body["type"] == "/problems/redis-unavailable" {
            // The cache itself is down, not the orchestrator: say so as it did.
            ApiError::unavailable("redis-unavailable", detail)
        } else if status.is_server_error() {
            unavailable(format!("answered {status}: {detail}"))
        } else {
            ApiError::new(
                status,
                "orchestrator-refused",
                format!("the orchestrator refused: {detail}"),
            )
        });
    }
    operator
        .audit(
            &state,
            "optimize.reasoning_cache",
            body["removed"]
                .as_u64()
                .map(|n| format!("removed {n} entries")),
        )
        .await;
    Ok(Json(CacheCleared {
        status: "done".into(),
        removed: body["removed"].as_u64().unwrap_or(0),
        backend: body["backend"].as_str().unwrap_or_default().into(),
    }))
}
