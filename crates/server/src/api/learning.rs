//! The learning engine's API (learning-engine, :8002): feedback intake and undo, the
//! learned state with its evidence, and the runbook's learning cycle and rollback.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::views::Problem;
use crate::auth::{Caller, Operator};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::learning::intake;
use crate::learning::{CycleReport, RollbackError, RollbackReport};

/// Feedback one user may give per [`WINDOW`] on one replica; more is refused with 429.
const PER_WINDOW: u32 = 120;
const WINDOW: Duration = Duration::from_secs(60);

/// Fixed-window counts per user (one replica's view; each replica bounds its share).
#[derive(Default)]
pub struct FloodGuard {
    windows: Mutex<HashMap<i64, (Instant, u32)>>,
}

impl FloodGuard {
    /// Whether `user` may give one more piece of feedback now; else the seconds to wait.
    pub fn admit(&self, user: i64) -> Result<(), u64> {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if w.len() > 10_000 {
            w.retain(|_, (start, _)| start.elapsed() < WINDOW);
        }
        let e = w.entry(user).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= WINDOW {
            *e = (Instant::now(), 0);
        }
        if e.1 >= PER_WINDOW {
            return Err(WINDOW.saturating_sub(e.0.elapsed()).as_secs().max(1));
        }
        e.1 += 1;
        Ok(())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackStored {
    pub id: i64,
    /// `stored`: kept, and learned from within a second or so.
    pub status: String,
}

/// Feedback: a rating of an answer or step, accept/reject of a generated test, dismiss
/// or confirm of a finding, or a correction. Stored first, learned from asynchronously.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "learning",
    request_body(content = Object, description = "`{target, target_id, kind, rating|thumb, reason, comment, intent}`: docs/learning.md"),
    responses((status = 202, body = FeedbackStored), (status = 404, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn give(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(submission): ApiJson<qa_learning::Submission>,
) -> Result<(StatusCode, Json<FeedbackStored>), ApiError> {
    if let Err(wait) = state.flood.admit(caller.0.user_id) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("more than {PER_WINDOW} pieces of feedback a minute from you; wait {wait} s"),
        )
        .retry_after(wait));
    }
    let f = intake::resolve(&state.db.db, &caller.0, submission).await?;
    let id = state.db.db.add_feedback(&f).await?;
    state.learning.wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(FeedbackStored {
            id,
            status: "stored".into(),
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackRetracted {
    pub id: i64,
    pub status: String,
}

/// Undoes one's own feedback (an admin may undo anyone's in the tenant): it stays in
/// the audit trail but no longer counts; a dismissed finding shows again.
#[utoipa::path(delete, path = "/api/v1/feedback/{id}", tag = "learning", params(("id" = i64, Path)),
    responses((status = 200, body = FeedbackRetracted), (status = 404, body = Problem)))]
pub async fn retract(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<FeedbackRetracted>, ApiError> {
    let row = state
        .db
        .db
        .feedback_by_id(caller.0.tenant_id, id)
        .await?
        .filter(|r| r.user_id == Some(caller.0.user_id) || caller.0.role == qa_store::Role::Admin);
    let Some(row) = row else {
        return Err(ApiError::not_found_for(
            &state,
            &caller,
            qa_store::Owned::Feedback,
            id,
            format!("feedback {id}"),
        )
        .await);
    };
    if row.retracted_at.is_none() {
        state.db.db.retract_feedback(&row).await?;
        state.learning.feedback_withdrawn();
    }
    Ok(Json(FeedbackRetracted {
        id,
        status: "retracted".into(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackDeleted {
    pub deleted: u64,
}

/// Deletes all of the caller's feedback and, with it, its effects on their tenant.
#[utoipa::path(delete, path = "/api/v1/feedback", tag = "learning",
    responses((status = 200, body = FeedbackDeleted)))]
pub async fn delete_mine(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<FeedbackDeleted>, ApiError> {
    let deleted = state
        .db
        .db
        .delete_user_feedback(caller.0.tenant_id, caller.0.user_id)
        .await?;
    state.learning.feedback_withdrawn();
    crate::auth::Operator::Key(caller)
        .audit(
            &state,
            "feedback.delete_mine",
            Some(format!("{deleted} rows")),
        )
        .await;
    Ok(Json(FeedbackDeleted { deleted }))
}

/// A rule's learned precision in one repository, with the evidence.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleLearning {
    pub rule_id: String,
    /// `repo:<id>` or `tenant`.
    pub scope: String,
    #[schema(value_type = Object)]
    pub precision: qa_learning::Estimate,
    /// Severity levels its findings are shown lower by.
    pub demotion: u8,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LearningState {
    /// The snapshot in use (none before anything was learned).
    pub snapshot_id: Option<i64>,
    pub watermark: i64,
    /// Counted feedback of every tenant folded in.
    pub events: u64,
    /// How the state was loaded when this replica started.
    pub start: Option<String>,
    /// The caller's tenant: rules, dismissals in force, corrections, tests.
    pub rules: Vec<RuleLearning>,
    pub judged_findings: BTreeMap<String, usize>,
    /// Corrected questions: the meant intent, the question, the feedback id.
    #[schema(value_type = Vec<Object>)]
    pub corrections: Vec<(String, String, i64)>,
    pub tests_accepted: u32,
    pub tests_rejected: u32,
    /// Rules judged by at least three tenants: their tenant count (what they judged
    /// stays with them).
    pub global_rules: BTreeMap<String, usize>,
}

/// What was learned for the caller's tenant, and why.
#[utoipa::path(get, path = "/api/v1/learning/state", tag = "learning",
    responses((status = 200, body = LearningState)))]
pub async fn learned_state(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<LearningState>, ApiError> {
    let learned = state.learned.get(&state.db.db).await;
    let tenant = learned.tenants.get(&caller.0.tenant_id);
    let mut rules = Vec::new();
    let mut judged_findings = BTreeMap::new();
    if let Some(t) = tenant {
        for (scope, by_rule) in &t.repos {
            let view = learned.view(caller.0.tenant_id, scope);
            for rule in by_rule.keys() {
                let precision = view.precision(rule);
                rules.push(RuleLearning {
                    rule_id: rule.clone(),
                    scope: scope.clone(),
                    demotion: precision.demotion(),
                    precision,
                });
            }
        }
        for (scope, judged) in &t.judged {
            judged_findings.insert(scope.clone(), judged.len());
        }
    }
    Ok(Json(LearningState {
        snapshot_id: state.learned.snapshot_id(),
        watermark: learned.watermark,
        events: learned.events,
        start: state.learning.start_status(),
        rules,
        judged_findings,
        corrections: tenant.map(|t| t.corrections.clone()).unwrap_or_default(),
        tests_accepted: tenant.map_or(0, |t| t.tests_accepted),
        tests_rejected: tenant.map_or(0, |t| t.tests_rejected),
        global_rules: learned
            .global_rules
            .iter()
            .map(|(r, c)| (r.clone(), c.users()))
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CycleRequest {
    /// Labelled feedback to learn from first ("known good data"), as the caller (needs
    /// an API key): the same objects `POST /api/v1/feedback` takes.
    #[serde(default)]
    pub feedback: Vec<qa_learning::Submission>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CycleResult {
    /// Labelled feedback stored by this call.
    pub uploaded: usize,
    #[serde(flatten)]
    pub cycle: CycleReport,
}

/// The most labelled feedback one cycle takes.
const MAX_UPLOAD: usize = 10_000;

/// Runs a learning cycle now (drain the backlog, rebuild, publish), optionally on
/// uploaded labelled feedback first. Audited.
#[utoipa::path(post, path = "/api/v1/learning/cycle", tag = "operations",
    security((), ("api_key" = [])),
    request_body(content = Object, description = "optional `{feedback: [...]}`"),
    responses((status = 200, body = CycleResult), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn cycle(
    State(state): State<AppState>,
    operator: Operator,
    body: axum::body::Bytes,
) -> Result<Json<CycleResult>, ApiError> {
    let request: CycleRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CycleRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body is not `{{\"feedback\": [...]}}` JSON: {e}"
            ))
        })?
    };
    let mut uploaded = 0;
    if !request.feedback.is_empty() {
        let Operator::Key(caller) = &operator else {
            return Err(ApiError::invalid(
                "uploaded feedback belongs to a user: call with an admin API key",
            ));
        };
        if request.feedback.len() > MAX_UPLOAD {
            return Err(ApiError::too_large(format!(
                "at most {MAX_UPLOAD} pieces of feedback per cycle; split the file"
            )));
        }
        // Every item is checked before any is stored: a bad file changes nothing.
        let mut resolved = Vec::with_capacity(request.feedback.len());
        for (i, s) in request.feedback.into_iter().enumerate() {
            let f = intake::resolve(&state.db.db, &caller.0, s)
                .await
                .map_err(|e| {
                    let e = ApiError::from(e);
                    ApiError::new(e.status, e.kind, format!("feedback[{i}]: {}", e.detail))
                })?;
            resolved.push(f);
        }
        for f in &resolved {
            state.db.db.add_feedback(f).await?;
        }
        uploaded = resolved.len();
    }
    let report = crate::learning::cycle(&state).await?;
    operator
        .audit(
            &state,
            "learning.cycle",
            Some(format!(
                "uploaded {uploaded}, processed {}, failed {}, snapshot {:?}",
                report.processed, report.failed, report.snapshot_id
            )),
        )
        .await;
    Ok(Json(CycleResult {
        uploaded,
        cycle: report,
    }))
}

/// Rolls the learned state back to the snapshot before the newest; the feedback since
/// then is kept but set aside. Audited.
#[utoipa::path(post, path = "/api/v1/learning/rollback", tag = "operations",
    security((), ("api_key" = [])),
    responses((status = 200, body = RollbackReport), (status = 401, body = Problem), (status = 409, body = Problem)))]
pub async fn rollback(
    State(state): State<AppState>,
    operator: Operator,
) -> Result<Json<RollbackReport>, ApiError> {
    let report = crate::learning::rollback(&state)
        .await
        .map_err(|e| match e {
            RollbackError::NothingToRollBack => ApiError::conflict(e.to_string()),
            RollbackError::Store(e) => ApiError::from(e),
        })?;
    operator
        .audit(
            &state,
            "learning.rollback",
            Some(format!(
                "from snapshot {} to {} (now {}); {} feedback set aside",
                report.from_snapshot,
                report.restored_snapshot,
                report.snapshot_id,
                report.feedback_set_aside
            )),
        )
        .await;
    Ok(Json(report))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DismissalsQuery {
    /// The repository's name (as analyses name it: the directory's name by default).
    repository: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DismissalView {
    pub fingerprint: String,
    pub rule_id: String,
    pub reason: String,
    pub feedback_id: i64,
    pub created_at_ms: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Dismissals {
    pub repository: String,
    pub dismissals: Vec<DismissalView>,
}

/// The findings dismissed in one of the caller's repositories, by fingerprint (what
/// `qa-agent analyze --dismissals URL` leaves out).
#[utoipa::path(get, path = "/api/v1/learning/dismissals", tag = "learning", params(DismissalsQuery),
    responses((status = 200, body = Dismissals), (status = 404, body = Problem)))]
pub async fn dismissals(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<DismissalsQuery>,
) -> Result<Json<Dismissals>, ApiError> {
    let scope = state
        .db
        .db
        .repository_scope(caller.0.tenant_id, &q.repository)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("repository `{}`", q.repository)))?;
    let rows = state.db.db.dismissals(caller.0.tenant_id, &scope).await?;
    Ok(Json(Dismissals {
        repository: q.repository,
        dismissals: rows
            .into_iter()
            .map(|d| DismissalView {
                fingerprint: d.fingerprint,
                rule_id: d.rule_id,
                reason: d.reason,
                feedback_id: d.feedback_id,
                created_at_ms: d.created_at,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesView {
    /// What you set (`PUT /api/v1/preferences`).
    #[schema(value_type = Object)]
    pub explicit: qa_learning::prefs::Explicit,
    /// What is in force, each with where it comes from (`explicit`, `inferred` from
    /// your feedback with its ids, or `default`).
    #[schema(value_type = Object)]
    pub effective: qa_learning::prefs::Preferences,
}

async fn preferences_view(state: &AppState, caller: &Caller) -> Result<PreferencesView, ApiError> {
    let (t, u) = (caller.0.tenant_id, caller.0.user_id);
    Ok(PreferencesView {
        explicit: crate::learning::explicit_preferences(&state.db.db, t, u).await?,
        effective: crate::learning::preferences(state, t, u).await?,
    })
}

/// Your preferences: what you set and what your feedback implies.
#[utoipa::path(get, path = "/api/v1/preferences", tag = "learning",
    responses((status = 200, body = PreferencesView)))]
pub async fn get_preferences(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<PreferencesView>, ApiError> {
    Ok(Json(preferences_view(&state, &caller).await?))
}

/// Sets your preferences: `answer_length` (`short` or `full`), `test_framework`
/// (`pytest`, `vitest`, `jest`); an absent field goes back to what your feedback implies.
#[utoipa::path(put, path = "/api/v1/preferences", tag = "learning",
    request_body(content = Object, description = "`{answer_length, test_framework}`"),
    responses((status = 200, body = PreferencesView), (status = 422, body = Problem)))]
pub async fn put_preferences(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(explicit): ApiJson<qa_learning::prefs::Explicit>,
) -> Result<Json<PreferencesView>, ApiError> {
    explicit.validate().map_err(ApiError::invalid)?;
    crate::learning::set_preferences(
        &state.db.db,
        caller.0.tenant_id,
        caller.0.user_id,
        &explicit,
    )
    .await?;
    Ok(Json(preferences_view(&state, &caller).await?))
}
