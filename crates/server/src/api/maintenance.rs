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

/// Reasoning results cached by the orchestrator live under this key prefix.
pub const REASONING_CACHE_PREFIX: &str = "reasoning:";

/// Weekly maintenance: prune finished jobs and superseded snapshots, refresh statistics.
#[utoipa::path(post, path = "/api/v1/maintenance/optimize", tag = "operations",
    security((), ("api_key" = [])),
    responses((status = 200, body = Maintenance), (status = 401, body = Problem), (status = 503, body = Problem)))]
pub async fn optimize(
    State(state): State<AppState>,
    operator: Operator,
) -> Result<Json<Maintenance>, ApiError> {
    let steps: Vec<MaintenanceStep> = state
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

/// Clears the cached reasoning results.
#[utoipa::path(post, path = "/api/v1/optimize/reasoning_cache", tag = "operations",
    security((), ("api_key" = [])),
    responses((status = 200, body = CacheCleared), (status = 401, body = Problem), (status = 503, body = Problem)))]
pub async fn clear_reasoning_cache(
    State(state): State<AppState>,
    operator: Operator,
) -> Result<Json<CacheCleared>, ApiError> {
    let removed = state
        .cache
        .delete_prefix(REASONING_CACHE_PREFIX)
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
    Ok(Json(CacheCleared {
        status: "done".into(),
        removed,
        backend: state.cache.backend().into(),
    }))
}
