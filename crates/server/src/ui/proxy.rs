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
/// The largest answer relayed (a page of 1,000 findings is a few hundred KiB).
const MAX_ANSWER: usize = 16 << 20;

/// The path and query to ask the orchestrator for, if `uri` is an analyses route: no dot
/// segment and no encoded `.` or `/`, which the HTTP client would resolve into another
/// route of the orchestrator.
fn relayed(uri: &axum::http::Uri) -> Option<&str> {
    let path = uri.path();
    let lower = path.to_ascii_lowercase();
    let under = path == "/api/v1/analyses" || path.starts_with("/api/v1/analyses/");
    let dotted = path.split('/').any(|s| s == "." || s == "..");
    let encoded = lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c");
    (under && !dotted && !encoded && !path.contains('\\'))
        .then(|| uri.path_and_query().map_or(path, |p| p.as_str()))
}

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
    let Some(route) = relayed(&uri) else {
        return Err(ApiError::not_found(format!("route {}", uri.path())));
    };
    let target = format!("{}{route}", base.trim_end_matches('/'));
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
    let mut upstream = request.body(body).send().await.map_err(|e| {
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
    let mut bytes = Vec::new();
    while let Some(chunk) = upstream.chunk().await.map_err(|e| {
        ApiError::unavailable(
            "orchestrator",
            format!("the orchestrator's answer broke off ({e})"),
        )
    })? {
        if bytes.len() + chunk.len() > MAX_ANSWER {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_GATEWAY,
                "answer-too-large",
                format!(
                    "the orchestrator's answer is over {MAX_ANSWER} bytes; ask for a smaller page (`limit`)"
                ),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((status, [(header::CONTENT_TYPE, kind)], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::relayed;

    #[test]
    fn only_analyses_routes_are_relayed() {
        let ok = |u: &str| relayed(&u.parse().unwrap()).map(str::to_string);
        assert_eq!(
            ok("/api/v1/analyses?limit=5").as_deref(),
            Some("/api/v1/analyses?limit=5")
        );
        assert!(ok("/api/v1/analyses/3/findings?rule=SEC001").is_some());
        for bad in [
            "/api/v1/analyses/../../health/detailed",
            "/api/v1/analyses/3/./../../agent/tasks",
            "/api/v1/analyses/%2e%2e/%2E%2E/internal/v1/wake",
            "/api/v1/analyses/..%2f..%2fagent%2ftasks",
            "/api/v1/analysesx",
            "/api/v1/agent/tasks",
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }
}
