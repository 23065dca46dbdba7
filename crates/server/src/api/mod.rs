//! `/api/v1`: every route needs an API key (see [`crate::auth`]) except the runbook's
//! keyless operational calls, which also take a trusted source address. Errors are problem
//! details; writes answer 503 in read-only mode (checked by the auth extractors, after
//! the caller is known).

mod account;
pub mod agent;
mod analyses;
mod conversations;
pub mod knowledge;
pub mod learning;
mod maintenance;
pub mod openapi;
pub mod specialists;
pub mod tools;
pub mod views;

use axum::Router;
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::{AppState, ServiceKind};

/// The `/api/v1` routes `kind` serves (mounted under `/api/v1`).
pub fn router(kind: ServiceKind, state: &AppState) -> Router<AppState> {
    let mut api = Router::new().route("/me", get(account::me));
    if kind == ServiceKind::Orchestrator {
        api = api
            .route("/audit", get(account::audit))
            .route("/openapi.json", get(openapi::json))
            .route("/docs", get(openapi::page))
            .route("/analyses", post(analyses::submit).get(analyses::list))
            .route(
                "/analyses/upload",
                post(analyses::upload).layer(axum::extract::DefaultBodyLimit::max(
                    usize::try_from(state.config.max_upload_bytes).unwrap_or(usize::MAX),
                )),
            )
            .route("/analyses/{id}", get(analyses::get_one))
            .route("/analyses/{id}/findings", get(analyses::findings))
            .route("/analyses/{id}/components", get(analyses::components))
            .route("/analyses/{id}/sarif", get(analyses::sarif))
            .route("/agent/specialists", get(specialists::list))
            .route("/agent/tasks", post(agent::ask).get(agent::list))
            .route("/agent/tasks/{id}", get(agent::get_one))
            .route("/agent/tasks/{id}/cancel", post(agent::cancel))
            .route("/agent/reasoning_cache/clear", post(agent::clear_cache));
    }
    if kind == ServiceKind::Specialists {
        api = api
            .route("/tools", get(tools::list))
            .route("/tools/{name}", post(tools::invoke))
            .route("/tools/{name}/disable", post(tools::disable))
            .route("/tools/{name}/enable", post(tools::enable))
            .route("/generated-tests/{id}", get(tools::generated_tests));
    }
    if kind == ServiceKind::Conversation {
        api = api
            .route("/session-token", post(conversations::token))
            .route("/conversations", get(conversations::list))
            .route(
                "/conversations/{id}",
                get(conversations::get_one).delete(conversations::delete),
            )
            .route("/conversations/{id}/export", get(conversations::export))
            // For the web UI: the orchestrator's analyses through this origin, and the
            // operations dashboard.
            .route(
                "/analyses",
                get(crate::ui::proxy::forward).post(crate::ui::proxy::forward),
            )
            .route("/analyses/{*rest}", get(crate::ui::proxy::forward))
            .route("/operations", get(crate::ui::operations::overview))
            // The UI's verdicts on findings: stored here, learned by the learning engine
            // from the database like any other feedback.
            .route("/feedback", post(learning::give));
    }
    if kind == ServiceKind::Learning {
        api = api
            .route(
                "/feedback",
                post(learning::give).delete(learning::delete_mine),
            )
            .route("/feedback/{id}", axum::routing::delete(learning::retract))
            .route("/learning/state", get(learning::learned_state))
            .route("/learning/dismissals", get(learning::dismissals))
            .route("/knowledge/search", get(knowledge::search))
            .route(
                "/preferences",
                get(learning::get_preferences).put(learning::put_preferences),
            )
            .route(
                "/learning/cycle",
                post(learning::cycle).layer(axum::extract::DefaultBodyLimit::max(32 << 20)),
            )
            .route("/learning/rollback", post(learning::rollback))
            .route("/maintenance/optimize", post(maintenance::optimize))
            .route(
                "/optimize/reasoning_cache",
                post(maintenance::clear_reasoning_cache),
            );
    }
    api.fallback(unknown_route)
}

async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "route {} (the API is described at /api/v1/openapi.json on the orchestrator)",
        uri.path()
    ))
}
