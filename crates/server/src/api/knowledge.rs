//! `GET /api/v1/knowledge/search` (learning-engine, :8002): the knowledge base, as the
//! orchestrator retrieves it for similar questions and as users can search it.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::api::views::Problem;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};
use qa_knowledge::{Kind, MAX_QUERY_CHARS};

const MAX_LIMIT: usize = 20;

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchQuery {
    /// What to look for: a question, or words.
    pub q: String,
    /// Comma-separated kinds (`answer`, `test`, `rule`); all when absent.
    pub kind: Option<String>,
    /// At most this many hits (5; up to 20).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KnowledgeHit {
    /// `answer:<tenant>:<task id>`, `test:<tenant>:<id>`, `rule:<id>`.
    pub key: String,
    /// `answer`, `test` or `rule`.
    pub kind: String,
    pub title: String,
    /// The best-matching fragment, matched words in `<b>…</b>`.
    pub snippet: String,
    pub excerpt: String,
    /// Where the whole of it is.
    pub reference: String,
    /// BM25 relevance; comparable within one search only.
    pub score: f32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KnowledgeSearch {
    pub query: String,
    pub hits: Vec<KnowledgeHit>,
}

/// Searches what your team accepted (answers rated 4–5, kept tests) and the rules'
/// explanations.
#[utoipa::path(get, path = "/api/v1/knowledge/search", tag = "learning", params(SearchQuery),
    responses((status = 200, body = KnowledgeSearch), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<KnowledgeSearch>, ApiError> {
    if q.q.trim().is_empty() {
        return Err(ApiError::invalid(
            "`q` is empty: give a question or words to look for",
        ));
    }
    if q.q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::invalid(format!(
            "`q` is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    let kinds = match q.kind.as_deref() {
        None | Some("") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|k| {
                Kind::parse(k.trim()).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "unknown kind `{}`: use answer, test or rule",
                        k.trim()
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let limit = q.limit.unwrap_or(5);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::invalid(format!("`limit` is 1 to {MAX_LIMIT}")));
    }
    let kb = state.learning.knowledge.base().ok_or_else(|| {
        ApiError::unavailable(
            "knowledge-unavailable",
            "the knowledge base is not open on this learning engine; see /health/detailed (knowledge)",
        )
    })?;
    let tenant = caller.0.tenant_id;
    let query = q.q.clone();
    let hits = tokio::task::spawn_blocking(move || kb.search(tenant, &query, &kinds, limit))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(Json(KnowledgeSearch {
        query: q.q,
        hits: hits
            .into_iter()
            .map(|h| KnowledgeHit {
                key: h.key,
                kind: h.kind.as_str().into(),
                title: h.title,
                snippet: h.snippet,
                excerpt: h.excerpt,
                reference: h.reference,
                score: h.score,
            })
            .collect(),
    }))
}
