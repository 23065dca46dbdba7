//! The orchestrator's analyses API through the conversation manager's origin, so the
//! browser talks to one address (no CORS) with its session token. Only the analyses
//! routes are forwarded, and only for an authenticated caller: the orchestrator sees
//! this process's address, which may be trusted for keyless operational calls, so a
//! request without a credential must never be relayed.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::{AppState, ServiceKind};

/// What the orchestrator may take to answer (a findings page of a large analysis).
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `GET|POST /api/v1/analyses`, `GET /api/v1/analyses/{...}`: relayed as they are.
pub async fn forward(
    State(state): State<AppState>,
    _caller: Caller,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(base) = state.peers.get(ServiceKind::Orchestrator) else {
        return Err(ApiError::unavailable(
            "orchestrator",
            "no orchestrator is configured for this conversation manager (set QA_AGENT_ORCHESTRATOR_URL)",
        ));
    };
    let target = format!(
        "{}{}",
        base.trim_end_matches('/'),
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = state
        .http
        .request(method, target)
        .headers(crate::telemetry::trace_headers())
        .timeout(TIMEOUT);
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(v) = headers.get(&name) {
            request = request.header(name, v);
        }
    }
    let upstream = request.body(body).send().await.map_err(|e| {
        ApiError::unavailable(
            "orchestrator",
            format!(
                "the orchestrator cannot be reached ({}); try again shortly",
                crate::health::root_cause(&e)
            ),
        )
    })?;
    let status = upstream.status();
    let kind = upstream
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let bytes = upstream.bytes().await.map_err(|e| {
        ApiError::unavailable(
            "orchestrator",
            format!("the orchestrator's answer broke off ({e})"),
        )
    })?;
    Ok((status, [(header::CONTENT_TYPE, kind)], bytes).into_response())
}
