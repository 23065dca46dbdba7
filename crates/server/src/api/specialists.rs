//! Specialist registration and `GET /api/v1/agent/specialists` (runbook: "check agent
//! availability"). Each specialist service registers the specialists it hosts in the
//! database and refreshes them every 30 s, so every orchestrator replica lists the same
//! set.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;

use crate::api::views::{Problem, Specialist, SpecialistList};
use crate::auth::Operator;
use crate::error::ApiError;
use crate::{AppState, ServiceKind};

const HEARTBEAT: Duration = Duration::from_secs(30);
/// A registration older than this (three missed heartbeats) is listed as unavailable.
const STALE_MS: i64 = 90_000;

/// The specialists this build hosts: (name, description, capabilities).
pub fn catalog() -> Vec<(String, String, Vec<String>)> {
    qa_agents::SpecialistId::ALL
        .into_iter()
        .map(|s| {
            (
                s.name().to_string(),
                s.description().to_string(),
                s.capabilities(),
            )
        })
        .collect()
}

/// Registers this service's specialists now and every [`HEARTBEAT`] while it runs.
pub fn spawn_registration(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let url = state
            .peers
            .get(ServiceKind::Specialists)
            .unwrap_or_default()
            .to_string();
        loop {
            let specialists = catalog();
            if !specialists.is_empty()
                && state.db.migrated()
                && let Err(e) = state.db.db.register_specialists(&url, &specialists).await
            {
                tracing::warn!(error = %e, "cannot register the specialists; retrying");
            }
            if state.draining() {
                return;
            }
            tokio::time::sleep(HEARTBEAT).await;
        }
    });
}

/// The registered specialists and whether each is available.
#[utoipa::path(get, path = "/api/v1/agent/specialists", tag = "agents",
    security((), ("api_key" = [])),
    responses((status = 200, body = SpecialistList), (status = 401, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<SpecialistList>, ApiError> {
    let specialists = state.db.db.specialists().await?;
    // One readiness check per hosting service, all at once.
    let mut urls: Vec<String> = specialists.iter().map(|s| s.url.clone()).collect();
    urls.sort();
    urls.dedup();
    let mut checks = tokio::task::JoinSet::new();
    for url in urls {
        let check = crate::health::check_peer(&state, Some(&url), "/health/ready");
        checks.spawn(async move { (url, check.await["status"] == "up") });
    }
    let ready: HashMap<String, bool> = checks.join_all().await.into_iter().collect();
    let now = qa_store::now_ms();
    let items: Vec<Specialist> = specialists
        .into_iter()
        .map(|s| {
            let fresh = now - s.heartbeat_at <= STALE_MS;
            let up = ready.get(&s.url).copied().unwrap_or(false);
            let reason = match (fresh, up) {
                (true, true) => None,
                (false, _) => Some("no heartbeat for over 90 s".to_string()),
                (true, false) => Some("its service is not ready".to_string()),
            };
            Specialist {
                name: s.name,
                description: s.description,
                capabilities: s.capabilities,
                service_url: s.url,
                available: reason.is_none(),
                unavailable_reason: reason,
                last_heartbeat_ms: s.heartbeat_at,
            }
        })
        .collect();
    let available = items.iter().filter(|i| i.available).count();
    Ok(Json(SpecialistList {
        total: items.len(),
        available,
        specialists: items,
    }))
}
