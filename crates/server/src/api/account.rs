//! Who am I, and the tenant's audit log.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::AppState;
use crate::api::views::{AuditEntry, AuditLog, Me, Problem};
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};

/// The caller's tenant, user and role (the UI's login check).
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(caller: Caller) -> Json<Me> {
    let p = caller.0;
    Json(Me {
        tenant: p.tenant,
        email: p.email,
        role: p.role.as_str().into(),
        key_prefix: p.key_prefix,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries to return, 1 to 1000 (50).
    limit: Option<i64>,
}

/// The newest audit entries of the caller's tenant (admins only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "account", params(AuditQuery),
    responses((status = 200, body = AuditLog), (status = 403, body = Problem)))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditLog>, ApiError> {
    caller.require_admin()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("`limit` must be between 1 and 1000"));
    }
    let entries = state
        .db
        .db
        .audit_log(Some(caller.0.tenant_id), limit)
        .await?
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at_ms: r.created_at,
            actor: r.entry.actor,
            action: r.entry.action,
            target: r.entry.target,
            detail: r.entry.detail,
        })
        .collect();
    Ok(Json(AuditLog { entries }))
}
