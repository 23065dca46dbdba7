//! The specialist service's tools over HTTP: list them, run one, and (admins) disable or
//! enable one at runtime (the runbook's "disable problematic tools temporarily"; stored
//! in the database so every replica obeys).

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use qa_agents::{ToolContext, ToolError};
use serde_json::Value;

use crate::AppState;
use crate::api::views::{Problem, ToolList, ToolResult, ToolView};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath};

fn disabled_key(tool: &str) -> String {
    format!("tool_disabled:{tool}")
}

/// Whether an administrator disabled `tool`.
async fn is_disabled(state: &AppState, tool: &str) -> Result<bool, qa_store::StoreError> {
    Ok(state.db.db.setting(&disabled_key(tool)).await?.as_deref() == Some("on"))
}

/// The tools an administrator disabled, in one query.
pub async fn disabled_tools(
    state: &AppState,
) -> Result<std::collections::HashSet<String>, qa_store::StoreError> {
    let prefix = disabled_key("");
    Ok(state
        .db
        .db
        .settings_with_prefix(&prefix)
        .await?
        .into_iter()
        .filter(|(_, v)| v == "on")
        .filter_map(|(k, _)| k.strip_prefix(&prefix).map(str::to_string))
        .collect())
}

/// Every tool of the specialist service with its input schema, timeout, circuit and switch.
#[utoipa::path(get, path = "/api/v1/tools", tag = "tools",
    responses((status = 200, body = ToolList)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<ToolList>, ApiError> {
    let off = disabled_tools(&state).await?;
    let mut tools = Vec::new();
    for info in state.tools.list() {
        let disabled = off.contains(&info.name);
        tools.push(ToolView { info, disabled });
    }
    Ok(Json(ToolList { tools }))
}

/// Runs a tool with its input as the body; the result has a summary, data and evidence.
#[utoipa::path(post, path = "/api/v1/tools/{name}", tag = "tools", params(("name" = String, Path)),
    request_body(content = Object, description = "the tool's input, matching its input_schema"),
    responses(
        (status = 200, body = ToolResult),
        (status = 404, body = Problem, description = "No such tool, or what the input names does not exist"),
        (status = 422, body = Problem, description = "The input does not match the tool's schema"),
        (status = 502, body = Problem, description = "The tool failed"),
        (status = 503, body = Problem, description = "Disabled by an admin, or its circuit is open (Retry-After)"),
        (status = 504, body = Problem, description = "The tool timed out")))]
pub async fn invoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(input): ApiJson<Value>,
) -> Result<Json<ToolResult>, ApiError> {
    let disabled = is_disabled(&state, &name).await?;
    let cx = ToolContext {
        db: state.db.db.clone(),
        tenant_id: caller.0.tenant_id,
        workspace_roots: std::sync::Arc::new(state.config.workspace_roots.clone()),
        llm: state.config.llm(),
        learned: state.learned.clone(),
        // Only generation reads it; other tools do not pay for the lookup.
        test_framework: if name == "generate_tests" {
            crate::learning::preferences(&state, caller.0.tenant_id, caller.0.user_id)
                .await
                .ok()
                .and_then(|p| p.test_framework.map(|f| f.value))
        } else {
            None
        },
    };
    let start = Instant::now();
    let result = state.tools.invoke(&name, &cx, input, disabled).await;
    let elapsed = start.elapsed();
    // Only calls that ran count as executions: a refused input is not the tool's doing.
    match &result {
        Ok(_) => state.metrics.record_tool(&name, true, elapsed),
        Err(e) if e.is_fault() => state.metrics.record_tool(&name, false, elapsed),
        Err(_) => {}
    }
    let output = result.map_err(|e| tool_error(&name, e))?;
    Ok(Json(ToolResult {
        tool: name,
        duration_ms: (elapsed.as_secs_f64() * 1e6).round() / 1e3,
        output,
    }))
}

fn tool_error(name: &str, e: ToolError) -> ApiError {
    let detail = e.to_string();
    match e {
        ToolError::Invalid(_) => ApiError::invalid(detail),
        ToolError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not-found", detail),
        ToolError::UnknownTool(_) => {
            ApiError::not_found(format!("tool `{name}` (GET /api/v1/tools lists them)"))
        }
        ToolError::Disabled(_) => ApiError::unavailable("tool-disabled", detail),
        ToolError::CircuitOpen { retry_after, .. } => {
            ApiError::unavailable("tool-circuit-open", detail)
                .retry_after(retry_after.as_secs().max(1))
        }
        ToolError::Timeout(_) => ApiError::new(StatusCode::GATEWAY_TIMEOUT, "tool-timeout", detail),
        ToolError::Fault(_) => {
            tracing::error!(tool = name, error = %detail, "tool failed");
            ApiError::new(StatusCode::BAD_GATEWAY, "tool-failed", detail)
        }
    }
}

/// Switches a tool off on every replica (admins; audited).
#[utoipa::path(post, path = "/api/v1/tools/{name}/disable", tag = "tools", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn disable(
    state: State<AppState>,
    caller: Caller,
    name: ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    switch(state, caller, name, true).await
}

/// Switches a tool back on (admins; audited).
#[utoipa::path(post, path = "/api/v1/tools/{name}/enable", tag = "tools", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn enable(
    state: State<AppState>,
    caller: Caller,
    name: ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    switch(state, caller, name, false).await
}

async fn switch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    off: bool,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    if !state.tools.names().any(|n| n == name) {
        return Err(ApiError::not_found(format!("tool `{name}`")));
    }
    state
        .db
        .db
        .set_setting(&disabled_key(&name), if off { "on" } else { "off" })
        .await?;
    let action = if off { "tool.disable" } else { "tool.enable" };
    state
        .db
        .db
        .audit(&qa_store::AuditEntry {
            tenant_id: Some(caller.0.tenant_id),
            actor: caller.actor(),
            action: action.into(),
            target: Some(format!("tool:{name}")),
            detail: None,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Tests the `generate_tests` tool generated and kept, with their coverage, mutation score and
/// validation runs; only the caller's tenant's.
#[utoipa::path(get, path = "/api/v1/generated-tests/{id}", tag = "tools", params(("id" = i64, Path)),
    responses(
        (status = 200, body = Object, description = "target, framework, code, status, coverage, mutation_score, runs"),
        (status = 404, body = Problem)))]
pub async fn generated_tests(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let Some(g) = state.db.db.generated_tests(caller.0.tenant_id, id).await? else {
        return Err(ApiError::not_found_for(
            &state,
            &caller,
            qa_store::Owned::GeneratedTests,
            id,
            format!("generated tests {id}"),
        )
        .await);
    };
    Ok(Json(serde_json::to_value(g).unwrap_or_default()))
}
