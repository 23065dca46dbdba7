//! The learning engine (:8002): feedback is stored first (by whichever service took
//! it), then processed here from the database in batches (`SKIP LOCKED` on PostgreSQL,
//! so replicas share the backlog), and folded into the learned state, published as a
//! versioned snapshot that every service reads (see `qa_learning` for what is learned).

pub mod intake;
pub mod knowledge;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use qa_agents::learned::SNAPSHOT_SCOPE;
use qa_learning::{Context, Event, FeedbackKind, LearnedState, Target};
use qa_store::{Database, FeedbackEffect, FeedbackRow, StoreError};
use serde::Serialize;
use tokio::sync::Notify;

use crate::AppState;

/// Feedback rows claimed per transaction.
const BATCH: i64 = 500;
/// Counted feedback read per page when rebuilding.
const REBUILD_PAGE: i64 = 20_000;
/// How long an idle engine waits before looking for feedback another service stored.
const POLL: Duration = Duration::from_millis(500);
/// Rebuilds at most this often while feedback keeps arriving.
const REBUILD_EVERY: Duration = Duration::from_secs(1);
/// How often an idle engine recomputes its gauges (Prometheus scrapes every 15 s or so).
const GAUGES_EVERY: Duration = Duration::from_secs(5);

/// The learning engine of this process.
#[derive(Default)]
pub struct Engine {
    /// Woken when feedback was stored in this process.
    pub wake: Notify,
    /// Set when counted feedback changed without new feedback to process (undone,
    /// deleted): the next turn of the loop rebuilds.
    stale: std::sync::atomic::AtomicBool,
    /// Serialises rebuilds, rollbacks and cycles of this replica.
    cycle: tokio::sync::Mutex<()>,
    processed: AtomicU64,
    failed: AtomicU64,
    /// How the learned state was loaded at start (for `/health/detailed`).
    start: std::sync::Mutex<Option<String>>,
    /// Accepted answers and tests, and rule explanations, for retrieval.
    pub knowledge: knowledge::Knowledge,
}

/// What one learning cycle did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CycleReport {
    /// Feedback processed by this cycle (the backlog it drained).
    pub processed: u64,
    pub failed: u64,
    /// Counted feedback folded into the state.
    pub events: u64,
    /// The newest feedback id folded in.
    pub watermark: i64,
    /// Whether the state changed, and the snapshot it is now in.
    pub changed: bool,
    pub snapshot_id: Option<i64>,
    pub millis: u64,
}

impl Engine {
    /// How the state was loaded at start, for `/health/detailed`.
    pub fn start_status(&self) -> Option<String> {
        self.start.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Feedback that counted no longer does (undone or deleted): rebuild soon.
    pub fn feedback_withdrawn(&self) {
        self.stale.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    pub fn totals(&self) -> (u64, u64) {
        (
            self.processed.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

/// Runs the learning engine while the service runs.
pub fn spawn(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut stop = state.shutdown.clone();
        while !state.db.migrated() {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        load_at_start(&state).await;
        knowledge::open(&state).await;
        let mut dirty = true;
        // `None`: not yet (an Instant in the past may not exist this soon after boot).
        let mut last_rebuild: Option<Instant> = None;
        let mut last_gauges: Option<Instant> = None;
        loop {
            if state.draining() {
                return;
            }
            let n = match process_batch(&state).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot process feedback now; retrying");
                    0
                }
            };
            dirty |= n > 0 || state.learning.stale.swap(false, Ordering::SeqCst);
            if dirty && (n == 0 || last_rebuild.is_none_or(|t| t.elapsed() >= REBUILD_EVERY)) {
                match rebuild(&state).await {
                    Ok(_) => dirty = false,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot rebuild the learned state now; retrying")
                    }
                }
                last_rebuild = Some(Instant::now());
            }
            if n == 0 {
                // The gauges read two days of feedback: not on every idle poll.
                if last_gauges.is_none_or(|t| t.elapsed() >= GAUGES_EVERY) {
                    refresh_gauges(&state).await;
                    last_gauges = Some(Instant::now());
                }
                tokio::select! {
                    _ = state.learning.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        }
    });
}

/// The newest snapshot that parses, else nothing: either way the first rebuild then
/// brings the state up to date from the feedback, which is the source of truth.
async fn load_at_start(state: &AppState) {
    let status = match state.db.db.learned_snapshots(SNAPSHOT_SCOPE, 5).await {
        Ok(snapshots) if snapshots.is_empty() => "empty: no snapshot yet".to_string(),
        Ok(snapshots) => {
            let mut skipped = Vec::new();
            let mut status = None;
            for s in &snapshots {
                match parse(&s.state) {
                    Ok(learned) => {
                        state.learned.set(s.id, Arc::new(learned));
                        status = Some(if skipped.is_empty() {
                            format!("loaded snapshot {}", s.id)
                        } else {
                            format!(
                                "loaded snapshot {} (newer ones did not parse: {})",
                                s.id,
                                skipped.join("; ")
                            )
                        });
                        break;
                    }
                    Err(e) => {
                        tracing::error!(snapshot = s.id, error = %e, "learned-state snapshot does not parse; trying an older one, then rebuilding from feedback");
                        skipped.push(format!("{}: {e}", s.id));
                    }
                }
            }
            status.unwrap_or_else(|| {
                format!(
                    "empty: no snapshot parsed ({}); rebuilding from feedback",
                    skipped.join("; ")
                )
            })
        }
        Err(e) => format!("empty: snapshots unreadable ({e}); rebuilding from feedback"),
    };
    tracing::info!(status = %status, "learned state at start");
    *state
        .learning
        .start
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = Some(status);
}

fn parse(text: &str) -> Result<LearnedState, String> {
    let s: LearnedState = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if s.version != qa_learning::STATE_VERSION {
        return Err(format!(
            "version {} (this release reads {})",
            s.version,
            qa_learning::STATE_VERSION
        ));
    }
    Ok(s)
}

/// What processing a feedback row does (the fold itself happens on rebuild).
fn effect(row: &FeedbackRow) -> FeedbackEffect {
    let (Some(target), Some(kind)) = (
        Target::parse(&row.target_kind),
        FeedbackKind::parse(&row.kind),
    ) else {
        return FeedbackEffect::Failed(format!(
            "unknown target `{}` or kind `{}`",
            row.target_kind, row.kind
        ));
    };
    let context: Context = match row.context.as_deref().map(serde_json::from_str) {
        Some(Ok(c)) => c,
        Some(Err(e)) => return FeedbackEffect::Failed(format!("context does not parse: {e}")),
        None => Context::default(),
    };
    match (target, kind) {
        (Target::Finding, FeedbackKind::Dismiss) => match context.rule_id {
            Some(rule_id) => FeedbackEffect::Dismiss {
                event: "dismissal".into(),
                rule_id,
                reason: row
                    .reason
                    .clone()
                    .unwrap_or_else(|| "false_positive".into()),
            },
            None => FeedbackEffect::Failed("a dismissal without its finding's rule".into()),
        },
        (Target::Finding, FeedbackKind::Confirm) => FeedbackEffect::Undismiss {
            event: "confirmation".into(),
        },
        (_, FeedbackKind::Rating) => FeedbackEffect::Learned {
            event: "rating".into(),
        },
        (_, FeedbackKind::Accept) => FeedbackEffect::Learned {
            event: "test_accepted".into(),
        },
        (_, FeedbackKind::Reject) => FeedbackEffect::Learned {
            event: "test_rejected".into(),
        },
        (_, FeedbackKind::Correction) => FeedbackEffect::Learned {
            event: "correction".into(),
        },
        (t, k) => FeedbackEffect::Failed(format!(
            "`{}` feedback about a {} cannot be learned from",
            k.as_str(),
            t.as_str()
        )),
    }
}

/// Processes one batch of the backlog; returns how many rows it took.
pub async fn process_batch(state: &AppState) -> Result<usize, StoreError> {
    let batch = state.db.db.process_feedback(BATCH, effect).await?;
    let m = &state.metrics.learning;
    for (_, kind) in &batch.learned {
        m.events
            .get_or_create(&crate::metrics::KindLabels { kind: kind.clone() })
            .inc();
    }
    for (row, error) in &batch.failed {
        tracing::warn!(feedback = row.id, error = %error, "feedback cannot be learned from; kept with its error");
        m.failures.get_or_create(&Vec::new()).inc();
    }
    let e = &state.learning;
    e.processed
        .fetch_add(batch.learned.len() as u64, Ordering::Relaxed);
    e.failed
        .fetch_add(batch.failed.len() as u64, Ordering::Relaxed);
    Ok(batch.learned.len() + batch.failed.len())
}

/// An event of the fold, from a counted row (rows that do not parse were failed when
/// processed and are not counted).
fn event(row: FeedbackRow) -> Option<Event> {
    Some(Event {
        id: row.id,
        tenant_id: row.tenant_id,
        user_id: row.user_id,
        target: Target::parse(&row.target_kind)?,
        kind: FeedbackKind::parse(&row.kind)?,
        rating: row.rating,
        comment: row.comment,
        scope: row.scope,
        subject: row.subject,
        context: row
            .context
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default(),
        created_at: row.created_at,
    })
}

/// Folds all counted feedback into a state, noting what it accepts for the knowledge base.
pub async fn fold(db: &Database) -> Result<(LearnedState, knowledge::Accepted), StoreError> {
    let mut state = LearnedState::default();
    let mut accepted = knowledge::Accepted::default();
    let mut after = 0;
    loop {
        let page = db.counted_feedback(after, REBUILD_PAGE).await?;
        let n = page.len();
        for row in page {
            after = row.id;
            accepted.observe(&row);
            if let Some(e) = event(row) {
                state.apply(&e);
            }
        }
        if (n as i64) < REBUILD_PAGE {
            break;
        }
    }
    state.finish();
    Ok((state, accepted))
}

/// Rebuilds the learned state and publishes it if it changed.
pub async fn rebuild(state: &AppState) -> Result<(bool, Option<i64>, LearnedState), StoreError> {
    let _one = state.learning.cycle.lock().await;
    rebuild_locked(state).await
}

async fn rebuild_locked(state: &AppState) -> Result<(bool, Option<i64>, LearnedState), StoreError> {
    let (learned, accepted) = fold(&state.db.db).await?;
    // The index follows the feedback even when the learned state did not change (a
    // rating of 5 teaches no route on its own, but its answer is knowledge).
    if let Err(e) = knowledge::sync(state, &accepted).await {
        tracing::warn!(error = %e, "cannot update the knowledge base now; retrying at the next rebuild");
    }
    let current = state.learned.get(&state.db.db).await;
    if *current == learned && state.learned.snapshot_id().is_some() {
        return Ok((false, state.learned.snapshot_id(), learned));
    }
    if *current == learned && learned.events == 0 {
        // Nothing learned and nothing published: nothing to publish either.
        return Ok((false, None, learned));
    }
    let text = serde_json::to_string(&learned).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let id = state
        .db
        .db
        .save_learned_state(None, SNAPSHOT_SCOPE, &text)
        .await?;
    state.learned.set(id, Arc::new(learned.clone()));
    export_snapshot(state, id, text).await;
    tracing::info!(
        snapshot = id,
        events = learned.events,
        watermark = learned.watermark,
        "published learned state"
    );
    Ok((true, Some(id), learned))
}

/// The file in `models_dir` that holds the newest published snapshot, for backups and
/// for reading what was learned without a database client.
pub const EXPORTED_SNAPSHOT: &str = "learned-state.json";

/// Writes the snapshot to [`EXPORTED_SNAPSHOT`] (a temporary file renamed over it, so a
/// reader never sees half of one). The database keeps the snapshot either way.
async fn export_snapshot(state: &AppState, id: i64, text: String) {
    let dir = state.config.models_dir();
    let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{EXPORTED_SNAPSHOT}.tmp"));
        let body = format!("{{\"snapshot_id\":{id},\"state\":{text}}}");
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, dir.join(EXPORTED_SNAPSHOT))
    })
    .await;
    let error = match written {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    tracing::warn!(error = %error, "cannot export the learned state to models_dir; the database keeps it");
}

/// A learning cycle now: drain the backlog, rebuild, publish.
pub async fn cycle(state: &AppState) -> Result<CycleReport, StoreError> {
    let t = Instant::now();
    let (p0, f0) = state.learning.totals();
    while process_batch(state).await? > 0 {}
    let (p1, f1) = state.learning.totals();
    let (changed, snapshot_id, learned) = rebuild(state).await?;
    refresh_gauges(state).await;
    Ok(CycleReport {
        processed: p1 - p0,
        failed: f1 - f0,
        events: learned.events,
        watermark: learned.watermark,
        changed,
        snapshot_id,
        millis: t.elapsed().as_millis() as u64,
    })
}

/// What a rollback did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RollbackReport {
    /// The snapshot rolled back from, and the one now in force (a copy of the one
    /// before it, published anew so every replica picks it up).
    pub from_snapshot: i64,
    pub restored_snapshot: i64,
    pub snapshot_id: i64,
    /// Feedback set aside (kept, no longer counted).
    pub feedback_set_aside: u64,
    pub watermark: i64,
}

/// Why a rollback could not happen.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("there is no earlier learned-state snapshot to roll back to")]
    NothingToRollBack,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Restores the snapshot before the newest: the feedback folded in since then is set
/// aside (kept, marked, no longer counted), so the restored state is also what any
/// later rebuild gives.
pub async fn rollback(state: &AppState) -> Result<RollbackReport, RollbackError> {
    let _one = state.learning.cycle.lock().await;
    let snapshots = state.db.db.learned_snapshots(SNAPSHOT_SCOPE, 10).await?;
    let newest = snapshots.first().ok_or(RollbackError::NothingToRollBack)?;
    let newest_state = parse(&newest.state).ok();
    // The previous snapshot is the newest older one that parses and differs.
    let previous = snapshots[1..]
        .iter()
        .filter_map(|s| parse(&s.state).ok().map(|p| (s, p)))
        .find(|(_, p)| Some(p) != newest_state.as_ref())
        .ok_or(RollbackError::NothingToRollBack)?;
    let (prev_snapshot, prev_state) = previous;
    let set_aside = state
        .db
        .db
        .roll_back_feedback_after(prev_state.watermark)
        .await?;
    let text =
        serde_json::to_string(&prev_state).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let id = state
        .db
        .db
        .save_learned_state(None, SNAPSHOT_SCOPE, &text)
        .await?;
    state.learned.set(id, Arc::new(prev_state.clone()));
    export_snapshot(state, id, text).await;
    // The knowledge base follows at the next rebuild: what the set-aside feedback
    // accepted leaves the index.
    state.learning.feedback_withdrawn();
    Ok(RollbackReport {
        from_snapshot: newest.id,
        restored_snapshot: prev_snapshot.id,
        snapshot_id: id,
        feedback_set_aside: set_aside,
        watermark: prev_state.watermark,
    })
}

/// Recomputes the gauges from the database (see `qa_learning::ratings`).
pub async fn refresh_gauges(state: &AppState) {
    let m = &state.metrics.learning;
    let db = &state.db.db;
    if let Ok(b) = db.feedback_backlog().await {
        m.backlog.get_or_create(&Vec::new()).set(b.pending);
    }
    let now = qa_store::now_ms();
    match db
        .recent_feedback_signals(now - 2 * qa_learning::ratings::DAY_MS)
        .await
    {
        Ok(rows) => {
            let (ratings, judgements) = signals(rows);
            let g = qa_learning::ratings::gauges(&ratings, &judgements, now);
            set_or_clear(&m.satisfaction, g.satisfaction);
            set_or_clear(&m.velocity, g.learning_velocity);
            m.agent_velocity.clear();
            for (agent, v) in g.agent_velocity {
                m.agent_velocity
                    .get_or_create(&crate::metrics::AgentLabels { agent })
                    .set(v);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read recent feedback for the learning gauges"),
    }
    if let Ok(Some((_, created_at))) = db.latest_learned_state_head(SNAPSHOT_SCOPE).await {
        let age = (now - created_at).max(0) as f64 / 1000.0;
        m.snapshot_age.get_or_create(&Vec::new()).set(age);
    }
}

/// Ratings (with the agents that answered) and judgements, from feedback rows.
fn signals(
    rows: Vec<(String, Option<i32>, Option<String>, i64)>,
) -> (Vec<qa_learning::Rating>, Vec<qa_learning::Judgement>) {
    let mut ratings = Vec::new();
    let mut judgements = Vec::new();
    for (kind, rating, context, at) in rows {
        match (kind.as_str(), rating) {
            ("rating", Some(rating)) => {
                let context: Context = context
                    .as_deref()
                    .and_then(|c| serde_json::from_str(c).ok())
                    .unwrap_or_default();
                ratings.push(qa_learning::Rating {
                    rating,
                    agents: context.specialists,
                    at,
                });
            }
            ("confirm" | "dismiss", _) => judgements.push(qa_learning::Judgement {
                confirmed: kind == "confirm",
                at,
            }),
            _ => {}
        }
    }
    (ratings, judgements)
}

fn set_or_clear(
    family: &prometheus_client::metrics::family::Family<
        crate::metrics::NoLabels,
        prometheus_client::metrics::gauge::Gauge<f64, std::sync::atomic::AtomicU64>,
    >,
    value: Option<f64>,
) {
    match value {
        Some(v) => {
            family.get_or_create(&Vec::new()).set(v);
        }
        None => family.clear(),
    }
}

/// The settings key of a user's explicit preferences.
fn preferences_key(tenant_id: i64, user_id: i64) -> String {
    format!("preferences:{tenant_id}:{user_id}")
}

/// A user's explicit preferences (none set: the defaults).
pub async fn explicit_preferences(
    db: &Database,
    tenant_id: i64,
    user_id: i64,
) -> Result<qa_learning::prefs::Explicit, StoreError> {
    Ok(db
        .setting(&preferences_key(tenant_id, user_id))
        .await?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

pub async fn set_preferences(
    db: &Database,
    tenant_id: i64,
    user_id: i64,
    explicit: &qa_learning::prefs::Explicit,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(explicit).map_err(|e| StoreError::Invalid(e.to_string()))?;
    db.set_setting(&preferences_key(tenant_id, user_id), &text)
        .await
}

/// A user's preferences in force: explicit settings over what their feedback says.
pub async fn preferences(
    state: &AppState,
    tenant_id: i64,
    user_id: i64,
) -> Result<qa_learning::prefs::Preferences, StoreError> {
    let explicit = explicit_preferences(&state.db.db, tenant_id, user_id).await?;
    let learned = state.learned.get(&state.db.db).await;
    let signals = learned
        .tenants
        .get(&tenant_id)
        .and_then(|t| t.users.get(&user_id));
    Ok(qa_learning::prefs::effective(&explicit, signals))
}
