//! `GET /api/v1/operations`: the operations dashboard's numbers, read from each service's
//! own `/metrics` (this one's from its registry) and `/health`, so the page shows what
//! Prometheus would scrape, not a second bookkeeping. Counters are totals; the page
//! turns two polls into rates.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::scrape::{samples, server_error};
use crate::{AppState, ServiceKind};

const SERVICES: [ServiceKind; 4] = [
    ServiceKind::Orchestrator,
    ServiceKind::Specialists,
    ServiceKind::Conversation,
    ServiceKind::Learning,
];

/// Admins only: the numbers are the installation's, every tenant's traffic together.
pub async fn overview(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, crate::error::ApiError> {
    caller.require_admin()?;
    let services = futures_util::future::join_all(SERVICES.map(|kind| read(&state, kind))).await;
    Ok(Json(json!({
        "at": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
        "services": services,
    })))
}

async fn read(state: &AppState, kind: ServiceKind) -> Value {
    if kind == state.kind {
        let text = crate::metrics_text(state);
        return json!({ "service": kind.name(), "up": true, "status": "ok", "metrics": summarise(&text) });
    }
    let Some(base) = state
        .peers
        .get(kind)
        .map(|b| b.trim_end_matches('/').to_string())
    else {
        return json!({ "service": kind.name(), "up": false, "detail": "not configured here" });
    };
    let get = |path: &'static str| {
        let request = state
            .http
            .get(format!("{base}{path}"))
            .timeout(state.peer_timeout);
        async move { request.send().await?.error_for_status()?.text().await }
    };
    match tokio::join!(get("/metrics"), get("/health")) {
        (Ok(text), Ok(health)) => {
            let status = serde_json::from_str::<Value>(&health)
                .ok()
                .and_then(|v| v["status"].as_str().map(str::to_string))
                .unwrap_or_else(|| "ok".into());
            json!({ "service": kind.name(), "up": true, "status": status, "metrics": summarise(&text) })
        }
        (Err(e), _) | (_, Err(e)) => json!({
            "service": kind.name(), "up": false, "detail": crate::health::root_cause(&e),
        }),
    }
}

/// Traffic, errors, latency and saturation, plus what is particular to the service
/// (only the series it exports).
fn summarise(text: &str) -> BTreeMap<&'static str, f64> {
    let all = samples(text);
    let mut out = BTreeMap::new();
    let (mut requests, mut errors) = (0.0, 0.0);
    // Cumulative counts per upper bound (`f64::to_bits` of a non-negative bound sorts
    // like the bound), over every route that is traffic.
    let mut buckets: BTreeMap<u64, f64> = BTreeMap::new();
    for s in &all {
        // The dashboard's own polling and Prometheus's scrapes are not traffic.
        if s.label("route").is_some_and(|r| {
            r.starts_with("/health") || r == "/metrics" || r == "/api/v1/operations"
        }) {
            continue;
        }
        match s.name.as_str() {
            "http_requests_total" => {
                requests += s.value;
                if server_error(s) {
                    errors += s.value;
                }
            }
            "http_request_duration_seconds_bucket" => {
                if let Some(le) = s.label("le").and_then(|b| b.parse::<f64>().ok()) {
                    *buckets.entry(le.to_bits()).or_default() += s.value;
                }
            }
            _ => {}
        }
    }
    out.insert("requests_total", requests);
    out.insert("server_errors_total", errors);
    if let Some(p95) = quantile(&buckets, 0.95) {
        out.insert("latency_p95_seconds", p95);
    }
    let sum = |metric: &str| {
        let mut matching = all.iter().filter(|s| s.name == metric).peekable();
        matching
            .peek()
            .is_some()
            .then(|| matching.map(|s| s.value).sum::<f64>())
    };
    for (key, metric) in [
        ("cpu_seconds_total", "process_cpu_seconds_total"),
        ("resident_memory_bytes", "process_resident_memory_bytes"),
        ("websocket_connections", "websocket_connections"),
        ("conversation_turns_total", "conversation_turns_total"),
        ("tool_executions_total", "tool_execution_total"),
        ("reasoning_queue_length", "reasoning_queue_length"),
        ("learning_events_total", "learning_events_total"),
    ] {
        if let Some(v) = sum(metric) {
            out.insert(key, v);
        }
    }
    // Means of what was observed (absent until something was).
    if let (Some(total), Some(n)) = (
        sum("agent_reasoning_quality_score_sum"),
        sum("agent_reasoning_quality_score_count"),
    ) && n > 0.0
    {
        out.insert("reasoning_quality_mean", total / n);
    }
    let rates: Vec<f64> = all
        .iter()
        .filter(|s| s.name == "tool_success_rate")
        .map(|s| s.value)
        .collect();
    if !rates.is_empty() {
        out.insert(
            "tool_success_rate_mean",
            rates.iter().sum::<f64>() / rates.len() as f64,
        );
    }
    out
}

/// The upper bound of the bucket that holds quantile `q`: the estimate Prometheus's
/// `histogram_quantile` refines by interpolation. None with no observation, or when it
/// falls in the overflow bucket (no finite bound to give).
fn quantile(buckets: &BTreeMap<u64, f64>, q: f64) -> Option<f64> {
    let total = buckets.values().copied().fold(0.0, f64::max);
    if total <= 0.0 {
        return None;
    }
    buckets
        .iter()
        .find(|(_, count)| **count >= q * total)
        .map(|(bound, _)| f64::from_bits(*bound))
        .filter(|b| b.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_errors_and_p95_leave_out_health_checks() {
        let m = summarise(
            "# TYPE http_requests counter\n\
             http_requests_total{method=\"GET\",route=\"/api/v1/x/{id}\",status=\"200\"} 90\n\
             http_requests_total{method=\"GET\",route=\"/api/v1/x/{id}\",status=\"503\"} 10\n\
             http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 500\n\
             http_request_duration_seconds_bucket{route=\"/api/v1/x/{id}\",le=\"0.01\"} 50\n\
             http_request_duration_seconds_bucket{route=\"/api/v1/x/{id}\",le=\"0.1\"} 94\n\
             http_request_duration_seconds_bucket{route=\"/api/v1/x/{id}\",le=\"1.0\"} 100\n\
             http_request_duration_seconds_bucket{route=\"/api/v1/x/{id}\",le=\"+Inf\"} 100\n\
             http_request_duration_seconds_bucket{route=\"/health\",le=\"0.01\"} 500\n\
             http_request_duration_seconds_bucket{route=\"/health\",le=\"+Inf\"} 500\n",
        );
        assert_eq!(m["requests_total"], 100.0);
        assert_eq!(m["server_errors_total"], 10.0);
        assert_eq!(m["latency_p95_seconds"], 1.0);
        assert!(
            !m.contains_key("reasoning_quality_mean"),
            "no observation, no mean"
        );
    }

    #[test]
    fn a_quantile_in_the_overflow_bucket_is_not_reported() {
        let m = summarise(
            "http_request_duration_seconds_bucket{route=\"/a\",le=\"0.5\"} 1\n\
             http_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 100\n",
        );
        assert!(!m.contains_key("latency_p95_seconds"), "{m:?}");
    }
}
