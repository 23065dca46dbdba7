//! The OpenAPI 3.1 document, generated from the handlers' annotations and the response
//! types in [`super::views`], served at `/api/v1/openapi.json`, with a self-contained
//! browsable page at `/api/v1/docs` (no assets from the internet).

use axum::Json;
use axum::response::Html;
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use super::{
    account, agent, analyses, conversations, knowledge, learning, maintenance, specialists, tools,
    views,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "qa-agent API",
        description = "Analysis, agents and learning for codebases. Every route needs `Authorization: Bearer <API key>` unless marked otherwise; errors are RFC 9457 problem details (docs/api.md).",
    ),
    paths(
        account::me,
        account::audit,
        analyses::submit,
        analyses::upload,
        analyses::list,
        analyses::get_one,
        analyses::findings,
        analyses::components,
        analyses::sarif,
        specialists::list,
        agent::ask,
        agent::list,
        agent::get_one,
        agent::cancel,
        agent::clear_cache,
        conversations::token,
        conversations::list,
        conversations::get_one,
        conversations::delete,
        conversations::export,
        learning::give,
        learning::retract,
        learning::delete_mine,
        learning::learned_state,
        learning::dismissals,
        knowledge::search,
        learning::get_preferences,
        learning::put_preferences,
        learning::cycle,
        learning::rollback,
        maintenance::optimize,
        maintenance::clear_reasoning_cache,
        tools::list,
        tools::invoke,
        tools::disable,
        tools::enable,
        tools::generated_tests,
    ),
    components(schemas(views::Problem)),
    modifiers(&BearerKey),
    security(("api_key" = [])),
    tags(
        (name = "account", description = "The caller and the audit log"),
        (name = "analyses", description = "Repository analysis as background jobs (agent-orchestrator, :8000)"),
        (name = "agents", description = "Questions answered by the specialists, and their reasoning traces (agent-orchestrator, :8000)"),
        (name = "conversations", description = "Conversations and session tokens (conversation-manager, :8080); the chat itself is the WebSocket at /ws, docs/conversation.md"),
        (name = "tools", description = "The specialists' tools (specialist-agents, :8001)"),
        (name = "learning", description = "Feedback and what was learned from it (learning-engine, :8002), docs/learning.md"),
        (name = "operations", description = "The runbook's operational calls (learning-engine, :8002); keyless from QA_AGENT_TRUSTED_NETWORKS"),
    )
)]
struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document, with this build's version.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

pub async fn json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

pub async fn page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
