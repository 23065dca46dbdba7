//! Who is calling: `Authorization: Bearer <API key>` on every `/api/v1` route, or, for
//! the runbook's keyless operational calls, a source address in `trusted_networks`.
//!
//! Rejected credentials count in `auth_failures_total{reason}`; keys that cannot be
//! checked at all (the database is down) in `auth_errors_total{kind="backend"}` and
//! answer 503, since that is an outage, not a bad key.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use qa_store::{AuditEntry, KeyCheck, Principal, Role};

use crate::AppState;
use crate::error::ApiError;
use crate::metrics::{AuthErrorLabels, AuthFailureLabels};

/// A caller with a valid API key.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// How audit entries name this caller.
    pub fn actor(&self) -> String {
        format!("user:{} key:{}", self.0.email, self.0.key_prefix)
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.0.role {
            Role::Admin => Ok(()),
            Role::Member => Err(ApiError::forbidden(
                "this needs an admin of your tenant; ask one, or have one create an admin key",
            )),
        }
    }
}

/// A caller of a keyless operational call: a valid key, or a trusted source address.
#[derive(Debug, Clone)]
pub enum Operator {
    Key(Caller),
    Network(IpAddr),
}

impl Operator {
    pub fn actor(&self) -> String {
        match self {
            Operator::Key(c) => c.actor(),
            Operator::Network(ip) => format!("network:{ip}"),
        }
    }

    pub fn tenant_id(&self) -> Option<i64> {
        match self {
            Operator::Key(c) => Some(c.0.tenant_id),
            Operator::Network(_) => None,
        }
    }

    /// Records `action` in the audit log; a failure to audit is logged, not fatal, for a
    /// call that already did its work.
    pub async fn audit(&self, state: &AppState, action: &str, detail: Option<String>) {
        let entry = AuditEntry {
            tenant_id: self.tenant_id(),
            actor: self.actor(),
            action: action.into(),
            target: Some(state.kind.name().into()),
            detail,
        };
        if let Err(e) = state.db.db.audit(&entry).await {
            tracing::error!(error = %e, action, "cannot write the audit log");
        }
    }
}

/// The key of an `Authorization: Bearer` header; `Err(reason)` when the header is
/// there but is not a bearer key.
fn bearer(parts: &Parts) -> Option<Result<&str, &'static str>> {
    let value = parts.headers.get(header::AUTHORIZATION)?;
    let Ok(value) = value.to_str() else {
        return Some(Err("malformed"));
    };
    let (scheme, key) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || key.trim().is_empty() {
        return Some(Err("malformed"));
    }
    Some(Ok(key.trim()))
}

fn fail(state: &AppState, reason: &'static str, detail: &str) -> ApiError {
    state
        .metrics
        .auth_failures
        .get_or_create(&AuthFailureLabels {
            reason: reason.into(),
        })
        .inc();
    ApiError::unauthorized(detail)
}

/// Short-lived session tokens (`qat_…`): issued to a browser for the WebSocket, and by the
/// conversation manager to ask the orchestrator on a user's behalf. Only their SHA-256 is
/// kept, in Redis (or the in-process store), with the caller they stand for and a TTL.
pub const TOKEN_PREFIX: &str = "qat_";

fn token_key(deployment: &str, token: &str) -> String {
    format!("auth-token:{deployment}:{}", qa_store::hash_api_key(token))
}

/// Issues a token for `caller`, valid for `ttl`, worth no more than the key it was
/// issued from (checked on every use) and only in this installation.
pub async fn issue_token(
    state: &AppState,
    caller: &Caller,
    ttl: std::time::Duration,
) -> Result<String, ApiError> {
    let token = format!(
        "{TOKEN_PREFIX}{}",
        qa_store::generate_api_key().trim_start_matches("qak_")
    );
    let deployment = state.db.deployment().await?;
    let principal = serde_json::to_vec(&caller.0).unwrap_or_default();
    state
        .cache
        .set(&token_key(&deployment, &token), &principal, ttl)
        .await
        .map_err(|e| {
            ApiError::unavailable(
                "redis-unavailable",
                format!("cannot issue a session token: {e}"),
            )
        })?;
    Ok(token)
}

/// Ends a token before its time (a turn's, when the turn is over).
pub async fn revoke_token(state: &AppState, token: &str) {
    if let Ok(deployment) = state.db.deployment().await {
        let _ = state.cache.delete(&token_key(&deployment, token)).await;
    }
}

async fn check_token(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let deployment = state.db.deployment().await?;
    let principal = match state.cache.get(&token_key(&deployment, token)).await {
        Ok(Some(bytes)) => serde_json::from_slice::<Principal>(&bytes)
            .map_err(|_| fail(state, "invalid", "this session token is not valid"))?,
        Ok(None) => {
            return Err(fail(
                state,
                "invalid",
                "this session token is not valid or has expired; get a new one",
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot check session tokens");
            return Err(ApiError::unavailable(
                "auth-unavailable",
                "session tokens cannot be checked right now (Redis is unavailable); use an API key or try again shortly",
            ));
        }
    };
    // A token is worth what its key is worth now: revoking the key ends its tokens.
    if !state.db.db.api_key_active(principal.key_id).await? {
        return Err(fail(
            state,
            "revoked",
            "the API key this session token came from was revoked",
        ));
    }
    Ok(Caller(principal))
}

/// A key or a session token, as the caller it stands for.
pub async fn check_credential(state: &AppState, credential: &str) -> Result<Caller, ApiError> {
    if credential.starts_with(TOKEN_PREFIX) {
        check_token(state, credential).await
    } else {
        check_key(state, credential).await
    }
}

async fn check_key(state: &AppState, key: &str) -> Result<Caller, ApiError> {
    match state.db.db.check_api_key(key).await {
        Ok(KeyCheck::Valid(p)) => Ok(Caller(p)),
        Ok(KeyCheck::Revoked) => Err(fail(
            state,
            "revoked",
            "this API key was revoked; ask an admin for a new one",
        )),
        Ok(KeyCheck::Unknown) => Err(fail(
            state,
            "invalid",
            "this API key is not valid; check for a copy/paste error or ask an admin for a key",
        )),
        Err(e) => {
            state
                .metrics
                .auth_errors
                .get_or_create(&AuthErrorLabels {
                    kind: "backend".into(),
                })
                .inc();
            tracing::error!(error = %e, "cannot check API keys");
            Err(ApiError::unavailable(
                "auth-unavailable",
                "API keys cannot be checked right now (the database is unavailable); try again shortly",
            ))
        }
    }
}

/// Read-only mode (the runbook's first step on data corruption) refuses every write,
/// checked once the caller is known, so a stranger still gets 401 and costs no query.
async fn refuse_writes_when_read_only(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    use axum::http::Method;
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if state.db.db.read_only().await? {
        return Err(ApiError::unavailable(
            "read-only",
            "qa-agent is in read-only mode (an operator turned it on; `qa-agent admin read-only off` ends it); reads still work",
        ));
    }
    Ok(())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Self::authenticate(parts, state).await?;
        refuse_writes_when_read_only(parts, state).await?;
        Ok(caller)
    }
}

impl Caller {
    async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
        match bearer(parts) {
            None => Err(fail(
                state,
                "missing",
                "this call needs an API key: send `Authorization: Bearer <key>`",
            )),
            Some(Err(reason)) => Err(fail(
                state,
                reason,
                "the Authorization header is not `Bearer <key>`",
            )),
            Some(Ok(key)) => check_credential(state, key).await,
        }
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    /// A key must be an admin's: these calls act on every tenant's data.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let operator = if bearer(parts).is_some() {
            let caller = Caller::authenticate(parts, state).await?;
            caller.require_admin()?;
            Operator::Key(caller)
        } else {
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            match peer {
                Some(ip) if state.trusted_networks.iter().any(|n| n.contains(&ip)) => {
                    Operator::Network(ip)
                }
                _ => {
                    return Err(fail(
                        state,
                        "untrusted_network",
                        "this operational call needs an admin's API key, or a request from a network in QA_AGENT_TRUSTED_NETWORKS",
                    ));
                }
            }
        };
        refuse_writes_when_read_only(parts, state).await?;
        Ok(operator)
    }
}
