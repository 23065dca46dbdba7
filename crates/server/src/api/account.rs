//! Who am I, and the tenant's audit log.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};

/// `GET /api/v1/me`: the caller's tenant, user and role (the UI's login check).
pub async fn me(caller: Caller) -> Json<Value> {
    let p = &caller.0;
    Json(json!({
        "tenant": p.tenant,
        "email": p.email,
        "role": p.role.as_str(),
        "key_prefix": p.key_prefix,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<i64>,
}

/// `GET /api/v1/audit?limit=N`: the newest entries of the caller's tenant (admins only).
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require_admin()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("`limit` must be between 1 and 1000"));
    }
    let entries = state
        .db
        .db
        .audit_log(Some(caller.0.tenant_id), limit)
        .await?;
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "at_ms": r.created_at,
                "actor": r.entry.actor,
                "action": r.entry.action,
                "target": r.entry.target,
                "detail": r.entry.detail,
            })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })))
}
