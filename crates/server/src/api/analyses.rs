//! The analysis API on the orchestrator: submit a repository, follow its job, read the
//! results (summary, components, findings, SARIF). The work itself runs on the specialist
//! service, which takes jobs from the durable queue ([`crate::worker`]).
//!
//! Another tenant's analysis answers 404, exactly like one that does not exist.

use std::path::PathBuf;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use qa_store::{AnalysisRecord, FindingFilter};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::views::{
    Analysis, AnalysisLinks, AnalysisPage, Component, ComponentPage, DismissedBy, Finding,
    FindingPage, Learned, Problem,
};
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submit {
    /// A directory (or file) on the server, under one of `workspace_roots`.
    path: String,
    /// The repository name to file it under (default: the directory's name).
    repository: Option<String>,
}

/// Queues the analysis of a directory on the server, under `QA_AGENT_WORKSPACE_ROOTS`.
#[utoipa::path(post, path = "/api/v1/analyses", tag = "analyses", request_body = Submit,
    responses(
        (status = 202, body = Analysis, description = "Queued; poll the analysis"),
        (status = 403, body = Problem, description = "Outside the workspace roots"),
        (status = 422, body = Problem, description = "No such path, or a body of the wrong shape"),
        (status = 503, body = Problem, description = "Read-only mode, or the database is down")))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<Submit>,
) -> Result<Response, ApiError> {
    let root = allowed_path(&state.config.workspace_roots, &req.path)?;
    let name = match req.repository {
        Some(n) if n.trim().is_empty() || n.len() > 200 => {
            return Err(ApiError::invalid(
                "`repository` must be 1 to 200 characters",
            ));
        }
        Some(n) => n,
        None => qa_agents::workspace::repository_name(&root),
    };
    let location = root.display().to_string();
    queue(
        &state,
        caller.0.tenant_id,
        &name,
        "path",
        location,
        json!({}),
    )
    .await
}

/// Files `location` under the tenant's repository `name`, queues its analysis (the job
/// carries the caller's trace) and wakes the workers: 202 with the analysis to poll.
async fn queue(
    state: &AppState,
    tenant: i64,
    name: &str,
    source: &str,
    location: String,
    mut payload: Value,
) -> Result<Response, ApiError> {
    let db = &state.db.db;
    payload["trace"] = json!(crate::telemetry::trace_map());
    let (id, _job) = db
        .queue_repository_analysis(tenant, name, source, &location, payload)
        .await?;
    crate::worker::wake_workers(state);
    let record = db
        .analysis(tenant, id)
        .await?
        .ok_or_else(|| ApiError::internal("the queued analysis vanished"))?;
    let mut response = (StatusCode::ACCEPTED, Json(view(record))).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&format!("/api/v1/analyses/{id}")) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The repository name to file it under.
    repository: String,
}

/// Uploads a repository as a `.tar.gz` or `.zip` and queues its analysis. The same
/// archive uploaded again by the tenant is answered from the earlier results.
#[utoipa::path(post, path = "/api/v1/analyses/upload", tag = "analyses", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the archive's bytes"),
    responses(
        (status = 202, body = Analysis, description = "Unpacked and queued"),
        (status = 200, body = Analysis, description = "The same archive was analysed before (`cached: true`)"),
        (status = 400, body = Problem, description = "Not an archive, damaged, or unsafe (escapes, links, too many entries, too large, decompression ratio)"),
        (status = 413, body = Problem, description = "Larger than QA_AGENT_MAX_UPLOAD_BYTES")))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!(
                "the archive is larger than {} bytes (QA_AGENT_MAX_UPLOAD_BYTES)",
                state.config.max_upload_bytes
            ))
        } else {
            ApiError::bad_request(e.body_text())
        }
    })?;
    let name = q.repository.trim().to_string();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::invalid(
            "`repository` must be 1 to 200 characters",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the body is empty: send the archive's bytes (.tar.gz or .zip)",
        ));
    }
    let hash = {
        use sha2::{Digest, Sha256};
        format!("{:x}", Sha256::digest(&body))
    };
    let db = &state.db.db;
    let tenant = caller.0.tenant_id;
    if let Some(id) = db.analysis_with_content(tenant, &hash).await?
        && let Some(record) = db.analysis(tenant, id).await?
    {
        let mut v = view(record);
        v.cached = Some(true);
        return Ok((StatusCode::OK, Json(v)).into_response());
    }
    // An absolute path goes into the job: the specialist service reads it, from a
    // volume shared at the same path when it runs in a process of its own.
    let data_dir = std::path::absolute(&state.db.data_dir)
        .map_err(|e| ApiError::internal(format!("cannot resolve the data directory: {e}")))?;
    let uploads = data_dir.join("uploads").join(tenant.to_string());
    let dest = uploads.join(&hash);
    if !dest.is_dir() {
        let staging = uploads.join(format!(".staging-{}", &qa_store::generate_api_key()[4..20]));
        let unpacked = tokio::task::spawn_blocking({
            let staging = staging.clone();
            move || crate::archive::unpack(&body, &staging, crate::archive::Limits::default())
        })
        .await
        .map_err(|e| ApiError::internal(format!("unpacking crashed: {e}")))?;
        match unpacked {
            Ok(_) => {
                if let Err(e) = std::fs::rename(&staging, &dest) {
                    // Another request unpacked the same archive first: use that one.
                    let _ = std::fs::remove_dir_all(&staging);
                    if !dest.is_dir() {
                        return Err(ApiError::internal(format!("cannot keep the upload: {e}")));
                    }
                }
            }
            Err(e) if e.is_client_error() => return Err(ApiError::bad_request(e.to_string())),
            Err(e) => return Err(ApiError::internal(e.to_string())),
        }
    }
    let location = dest.display().to_string();
    queue(
        &state,
        tenant,
        &name,
        "upload",
        location,
        json!({ "content_hash": hash }),
    )
    .await
}

/// The canonical form of `requested` if it lies under one of `roots` (see
/// [`qa_agents::workspace`]): outside answers 403 whether it exists or not.
fn allowed_path(roots: &[PathBuf], requested: &str) -> Result<PathBuf, ApiError> {
    use qa_agents::workspace::PathError;
    qa_agents::workspace::allowed_path(roots, requested).map_err(|e| match e {
        PathError::Off | PathError::Outside(_) => ApiError::forbidden(e.to_string()),
        PathError::Invalid | PathError::Missing(_) => ApiError::invalid(e.to_string()),
    })
}

fn view(a: AnalysisRecord) -> Analysis {
    let base = format!("/api/v1/analyses/{}", a.id);
    Analysis {
        id: a.id,
        repository: a.repository,
        status: a.status,
        progress: a.progress,
        created_at_ms: a.created_at,
        started_at_ms: a.started_at,
        finished_at_ms: a.finished_at,
        links: AnalysisLinks {
            findings: format!("{base}/findings"),
            components: format!("{base}/components"),
            sarif: format!("{base}/sarif"),
            this: base,
        },
        summary: a
            .summary
            .as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok()),
        error: a.error,
        cached: None,
    }
}

async fn owned(state: &AppState, caller: &Caller, id: i64) -> Result<AnalysisRecord, ApiError> {
    match state.db.db.analysis(caller.0.tenant_id, id).await? {
        Some(a) => Ok(a),
        None => Err(ApiError::not_found_for(
            state,
            caller,
            qa_store::Owned::Analysis,
            id,
            format!("analysis {id}"),
        )
        .await),
    }
}

/// Status, progress and, when done, the summary of an analysis.
#[utoipa::path(get, path = "/api/v1/analyses/{id}", tag = "analyses", params(("id" = i64, Path)),
    responses((status = 200, body = Analysis), (status = 404, body = Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Analysis>, ApiError> {
    Ok(Json(view(owned(&state, &caller, id).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<i64>,
    /// 1 to 1000 (100).
    limit: Option<i64>,
}

fn limit(l: Option<i64>) -> Result<i64, ApiError> {
    let l = l.unwrap_or(100);
    if (1..=1000).contains(&l) {
        Ok(l)
    } else {
        Err(ApiError::invalid("`limit` must be between 1 and 1000"))
    }
}

/// The tenant's analyses, newest first.
#[utoipa::path(get, path = "/api/v1/analyses", tag = "analyses", params(ListQuery),
    responses((status = 200, body = AnalysisPage)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<AnalysisPage>, ApiError> {
    let limit = limit(q.limit)?;
    let items = state
        .db
        .db
        .analyses(caller.0.tenant_id, q.cursor, limit)
        .await?;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|a| a.id))
        .flatten();
    Ok(Json(AnalysisPage {
        items: items.into_iter().map(view).collect(),
        next_cursor: next,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    /// `info`, `low`, `medium`, `high` or `critical`.
    severity: Option<String>,
    /// A rule id, e.g. `SEC001`.
    rule: Option<String>,
    /// A path relative to the analysed root.
    file: Option<String>,
    cursor: Option<i64>,
    limit: Option<i64>,
    /// `id` (default: stable pages) or `rank`: the learned order, best first (the first
    /// `limit`, no cursor): rules users judged noisy sink, confirmed findings rise.
    sort: Option<String>,
    /// Also list findings users dismissed (flagged with who and why).
    include_dismissed: Option<bool>,
}

/// Findings read to rank for `sort=rank`.
const RANK_POOL: i64 = 5000;

const SEVERITIES: &[&str] = &["info", "low", "medium", "high", "critical"];

/// Findings of an analysis, filtered, in pages.
#[utoipa::path(get, path = "/api/v1/analyses/{id}/findings", tag = "analyses",
    params(("id" = i64, Path), FindingsQuery),
    responses((status = 200, body = FindingPage), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn findings(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<FindingsQuery>,
) -> Result<Json<FindingPage>, ApiError> {
    let a = owned(&state, &caller, id).await?;
    if let Some(s) = &q.severity
        && !SEVERITIES.contains(&s.as_str())
    {
        return Err(ApiError::invalid(format!(
            "unknown severity `{s}`: one of {}",
            SEVERITIES.join(", ")
        )));
    }
    let limit = limit(q.limit)?;
    let ranked = match q.sort.as_deref() {
        None | Some("id") => false,
        Some("rank") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "unknown sort `{other}`: `id` or `rank`"
            )));
        }
    };
    let filter = FindingFilter {
        severity: q.severity,
        rule: q.rule,
        path: q.file,
        after: if ranked { 0 } else { q.cursor.unwrap_or(0) },
        limit: if ranked { RANK_POOL } else { limit },
        include_dismissed: q.include_dismissed.unwrap_or(false),
    };
    let rows = state.db.db.findings(a.id, &filter).await?;
    let learned = state.learned.get(&state.db.db).await;
    let view = learned.view(caller.0.tenant_id, &a.scope());
    let shown = qa_agents::learned::shown(&rows);
    let mut order = qa_learning::rank_findings(&shown, &view);
    let next = if ranked {
        order.truncate(limit as usize);
        None
    } else {
        // Pages keep the id order; each finding still carries what was learned.
        order.sort_by_key(|r| r.index);
        (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.id))
            .flatten()
    };
    let items = order
        .into_iter()
        .map(|learned| {
            let r = &rows[learned.index];
            let f = &r.finding;
            Finding {
                id: r.id,
                rule_id: f.rule_id.clone(),
                severity: learned.severity.clone(),
                file: f.path.clone(),
                line: f.line,
                message: f.message.clone(),
                fingerprint: f.fingerprint.clone(),
                suppressed: f.suppressed || r.dismissal.is_some(),
                dismissed: r.dismissal.as_ref().map(|d| DismissedBy {
                    feedback_id: d.feedback_id,
                    reason: d.reason.clone(),
                }),
                learned: Learned {
                    precision: (learned.precision.precision * 1000.0).round() / 1000.0,
                    level: learned.precision.level,
                    confirmed: learned.precision.confirmed,
                    dismissed: learned.precision.dismissed,
                    users: learned.precision.users,
                    evidence: learned.precision.evidence.clone(),
                    demoted_from: learned.demoted_from.clone(),
                    confirmed_by: learned.confirmed_by,
                },
            }
        })
        .collect();
    Ok(Json(FindingPage {
        analysis_id: a.id,
        status: a.status,
        items,
        next_cursor: next,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ComponentsQuery {
    /// `file`, `class` or `function`.
    kind: Option<String>,
    /// A path relative to the analysed root.
    file: Option<String>,
    cursor: Option<i64>,
    limit: Option<i64>,
}

/// Files, classes and functions of an analysis with their metrics, in pages.
#[utoipa::path(get, path = "/api/v1/analyses/{id}/components", tag = "analyses",
    params(("id" = i64, Path), ComponentsQuery),
    responses((status = 200, body = ComponentPage), (status = 404, body = Problem)))]
pub async fn components(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ComponentsQuery>,
) -> Result<Json<ComponentPage>, ApiError> {
    let a = owned(&state, &caller, id).await?;
    if let Some(k) = &q.kind
        && !["file", "class", "function"].contains(&k.as_str())
    {
        return Err(ApiError::invalid(format!(
            "unknown kind `{k}`: file, class or function"
        )));
    }
    let limit = limit(q.limit)?;
    let rows = state
        .db
        .db
        .components(
            a.id,
            q.kind.as_deref(),
            q.file.as_deref(),
            q.cursor.unwrap_or(0),
            limit,
        )
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    let items = rows
        .into_iter()
        .map(|r| {
            let c = r.component;
            Component {
                id: r.id,
                kind: c.kind,
                file: c.path,
                name: c.name,
                start_line: c.start_line,
                end_line: c.end_line,
                metrics: serde_json::from_str::<Value>(&c.metrics).unwrap_or(Value::Null),
            }
        })
        .collect();
    Ok(Json(ComponentPage {
        analysis_id: a.id,
        status: a.status,
        items,
        next_cursor: next,
    }))
}

/// SARIF 2.1.0 of a finished analysis.
#[utoipa::path(get, path = "/api/v1/analyses/{id}/sarif", tag = "analyses", params(("id" = i64, Path)),
    responses(
        (status = 200, content_type = "application/sarif+json", body = Object),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Not done yet")))]
pub async fn sarif(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let a = owned(&state, &caller, id).await?;
    // Rendering SARIF from a large report takes a while: keep the result for an hour.
    // A cache that is down costs a re-render, not the request.
    // Dismissals change the rendering: they are part of the key.
    let dismissals = state
        .db
        .db
        .dismissals(caller.0.tenant_id, &a.scope())
        .await?;
    let version = dismissals.iter().fold((0i64, 0i64), |(n, h), d| {
        (n + 1, h.wrapping_mul(31).wrapping_add(d.feedback_id))
    });
    let key = format!(
        "sarif:{}:{}:{}-{}",
        caller.0.tenant_id, a.id, version.0, version.1
    );
    let cached = match state.cache.get(&key).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "result cache unavailable; rendering SARIF anew");
            None
        }
    };
    let sarif = match cached {
        Some(bytes) => bytes,
        None => {
            let Some(report) = state
                .db
                .db
                .analysis_report(caller.0.tenant_id, a.id)
                .await?
            else {
                return Err(ApiError::conflict(format!(
                    "analysis {id} is {}: SARIF is available once it is done",
                    a.status
                )));
            };
            let mut report: qa_analysis::RepoAnalysis =
                serde_json::from_str(&report).map_err(|e| {
                    ApiError::internal(format!("the stored report cannot be read: {e}"))
                })?;
            if !dismissals.is_empty() {
                let source = qa_analysis::Dismissals::new(
                    dismissals
                        .into_iter()
                        .map(|d| (d.fingerprint, d.reason, d.feedback_id)),
                );
                qa_analysis::apply_suppressions(&mut report, &[&source]);
            }
            let sarif = qa_report::render_sarif(&report).into_bytes();
            if let Err(e) = state
                .cache
                .set(&key, &sarif, std::time::Duration::from_secs(3600))
                .await
            {
                tracing::warn!(error = %e, "cannot cache the SARIF rendering");
            }
            sarif
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/sarif+json")], sarif).into_response())
}
