//! The learning engine's keyless operational calls from the runbook:
//! `POST /api/v1/maintenance/optimize` (weekly maintenance) and
//! `POST /api/v1/optimize/reasoning_cache` (performance tuning). Both take an API key or a
//! trusted source address, and are audited.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Operator;
use crate::error::ApiError;

/// Reasoning results cached by the orchestrator live under this key prefix.
pub const REASONING_CACHE_PREFIX: &str = "reasoning:";

pub async fn optimize(
    State(state): State<AppState>,
    operator: Operator,
) -> Result<Json<Value>, ApiError> {
    let steps = state.db.db.maintain().await?;
    let steps: Vec<Value> = steps
        .iter()
        .map(|s| json!({ "step": s.step, "rows": s.rows, "millis": s.millis }))
        .collect();
    operator
        .audit(
            &state,
            "maintenance.optimize",
            Some(Value::from(steps.clone()).to_string()),
        )
        .await;
    Ok(Json(json!({ "status": "done", "steps": steps })))
}

pub async fn clear_reasoning_cache(
    State(state): State<AppState>,
    operator: Operator,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({
        "status": "done",
        "removed": removed,
        "backend": state.cache.backend(),
    })))
}
