//! The conversation manager's REST routes (:8080): a session token for the browser's
//! WebSocket, and the caller's conversations: list, read (messages), delete, export as
//! Markdown or JSON. Another user's conversation answers 404.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::views::Problem;
use crate::auth::{Caller, issue_token};
use crate::error::{ApiError, ApiPath, ApiQuery};

/// How long a session token for the WebSocket is valid.
const TOKEN_TTL: Duration = Duration::from_secs(300);

/// A short-lived token for `hello` (browsers cannot send `Authorization` on a WebSocket).
#[utoipa::path(post, path = "/api/v1/session-token", tag = "conversations",
    responses((status = 200, description = "`{token, expires_in}`"), (status = 401, body = Problem)))]
pub async fn token(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
) -> Result<Json<Value>, ApiError> {
    // Only a key mints tokens: a token that renewed itself would outlive any revocation.
    let by_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(crate::auth::TOKEN_PREFIX));
    if by_token {
        return Err(ApiError::forbidden(
            "a session token cannot issue another; use an API key",
        ));
    }
    let token = issue_token(&state, &caller, TOKEN_TTL).await?;
    Ok(Json(
        json!({ "token": token, "expires_in": TOKEN_TTL.as_secs() }),
    ))
}

fn view(c: &qa_store::Conversation) -> Value {
    json!({
        "id": c.id, "title": c.title, "last_event_id": c.last_event_id,
        "created_at": c.created_at, "updated_at": c.updated_at,
    })
}

async fn owned(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<qa_store::Conversation, ApiError> {
    match state
        .db
        .db
        .conversation(caller.0.tenant_id, caller.0.user_id, id)
        .await?
    {
        Some(c) => Ok(c),
        None => Err(ApiError::not_found_for(
            state,
            caller,
            qa_store::Owned::Conversation,
            id,
            format!("conversation {id}"),
        )
        .await),
    }
}

/// The caller's conversations, most recently active first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations",
    responses((status = 200, description = "`{conversations: [...]}`")))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let all = state
        .db
        .db
        .conversations(caller.0.tenant_id, caller.0.user_id, 200)
        .await?;
    Ok(Json(
        json!({ "conversations": all.iter().map(view).collect::<Vec<_>>() }),
    ))
}

/// One conversation with its messages.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = i64, Path)),
    responses((status = 200, description = "`{conversation, messages}`"), (status = 404, body = Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let c = owned(&state, &caller, id).await?;
    let messages = state.db.db.messages(c.id).await?;
    Ok(Json(json!({
        "conversation": view(&c),
        "messages": messages.iter().map(|m| json!({
            "id": m.id, "role": m.role, "content": m.content, "event_id": m.event_id, "created_at": m.created_at,
        })).collect::<Vec<_>>(),
    })))
}

/// Deletes a conversation with its messages and events.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    if state
        .db
        .db
        .delete_conversation(caller.0.tenant_id, caller.0.user_id, id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found_for(
            &state,
            &caller,
            qa_store::Owned::Conversation,
            id,
            format!("conversation {id}"),
        )
        .await)
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// `markdown` (default) or `json`.
    pub format: Option<String>,
}

/// The conversation as Markdown (questions, answers) or JSON (every stored event).
#[utoipa::path(get, path = "/api/v1/conversations/{id}/export", tag = "conversations",
    params(("id" = i64, Path), ExportQuery),
    responses((status = 200, description = "text/markdown or application/json"), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let c = owned(&state, &caller, id).await?;
    match q.format.as_deref().unwrap_or("markdown") {
        "json" => {
            let mut events = Vec::new();
            let mut after = 0;
            loop {
                let page = state.db.db.events_after(c.id, after, 1000).await?;
                let Some(last) = page.last().map(|e| e.event_id) else {
                    break;
                };
                events.extend(page.iter().map(|e| {
                    let mut v: Value = serde_json::from_str(&e.payload).unwrap_or_default();
                    v["type"] = e.kind.clone().into();
                    v["id"] = e.event_id.into();
                    v
                }));
                after = last;
            }
            Ok(Json(json!({ "conversation": view(&c), "events": events })).into_response())
        }
        "markdown" => {
            let mut md = format!("# Conversation {}\n\n", c.id);
            for m in state.db.db.messages(c.id).await? {
                let who = if m.role == "user" { "You" } else { "qa-agent" };
                md.push_str(&format!("## {who}\n\n{}\n\n", m.content));
            }
            Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], md).into_response())
        }
        other => Err(ApiError::invalid(format!(
            "`format={other}`: markdown or json"
        ))),
    }
}
