//! The learned state as the services read it: the newest published snapshot, parsed once
//! and reused while it is current (one cheap id lookup, at most every second).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qa_learning::LearnedState;

/// The learned-state scope the learning engine publishes.
pub const SNAPSHOT_SCOPE: &str = "learning";

/// How long a checked snapshot id is trusted before asking the database again.
const CHECK_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct LearnedCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The snapshot id and its state (`None` id: nothing published yet).
    current: Option<(i64, Arc<LearnedState>)>,
    checked: Option<Instant>,
}

impl LearnedCache {
    /// The newest learned state (empty when none was published, or the database cannot
    /// be read: learning then changes nothing rather than failing the request).
    pub async fn get(&self, db: &qa_store::Database) -> Arc<LearnedState> {
        {
            let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if inner.checked.is_some_and(|t| t.elapsed() < CHECK_EVERY) {
                return current(&inner);
            }
        }
        let latest = match db.latest_learned_state_head(SNAPSHOT_SCOPE).await {
            Ok(head) => head.map(|(id, _)| id),
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up the learned state; using the one in memory");
                return current(&self.inner.lock().unwrap_or_else(|p| p.into_inner()));
            }
        };
        let known = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .current
            .as_ref()
            .map(|c| c.0);
        if latest.is_some()
            && latest != known
            && let Ok(Some(snapshot)) = db.latest_learned_state(SNAPSHOT_SCOPE).await
        {
            match serde_json::from_str::<LearnedState>(&snapshot.state) {
                Ok(state) if state.version == qa_learning::STATE_VERSION => {
                    self.set(snapshot.id, Arc::new(state));
                }
                Ok(_) | Err(_) => tracing::warn!(
                    snapshot = snapshot.id,
                    "the newest learned-state snapshot does not parse with this release; keeping the state in memory"
                ),
            }
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.checked = Some(Instant::now());
        current(&inner)
    }

    /// Puts a state in place (the learning engine, right after publishing it).
    pub fn set(&self, snapshot_id: i64, state: Arc<LearnedState>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.current = Some((snapshot_id, state));
        inner.checked = Some(Instant::now());
    }

    /// The snapshot id in use, if any.
    pub fn snapshot_id(&self) -> Option<i64> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .current
            .as_ref()
            .map(|c| c.0)
    }
}

fn current(inner: &Inner) -> Arc<LearnedState> {
    inner
        .current
        .as_ref()
        .map_or_else(|| Arc::new(LearnedState::default()), |c| c.1.clone())
}

/// What a tenant's users taught the planner: their corrected questions as intent
/// examples, and their rated routes as Thompson-sampling arms.
pub fn planner_state(t: &qa_learning::TenantState) -> crate::planner::LearnedState {
    use crate::planner::{Intent, Route};
    use crate::specialists::SpecialistId;
    let mut taught = crate::planner::LearnedState::default();
    for (intent, question, _) in &t.corrections {
        if let Some(i) = Intent::parse(intent) {
            taught.extra_examples.push((i, question.clone()));
        }
    }
    for (context, routes) in &t.routes {
        // `intent` or `intent|other concern`; both parts must be intents of this build.
        let known = context.split('|').all(|i| Intent::parse(i).is_some());
        if !known {
            continue;
        }
        let arms = routes
            .values()
            .filter_map(|(key, stats)| {
                let specialists: Option<Vec<SpecialistId>> = key
                    .specialists
                    .iter()
                    .map(|s| SpecialistId::parse(s))
                    .collect();
                let mode =
                    serde_json::from_value(serde_json::Value::String(key.mode.clone())).ok()?;
                Some((
                    Route {
                        specialists: specialists?,
                        mode,
                    },
                    stats.successes,
                    stats.failures,
                ))
            })
            .collect();
        taught.route_arms.insert(context.clone(), arms);
    }
    taught
}

/// Stored findings as the ranking reads them.
pub fn shown(rows: &[qa_store::FindingRecord]) -> Vec<qa_learning::ShownFinding<'_>> {
    rows.iter()
        .map(|r| qa_learning::ShownFinding {
            rule_id: &r.finding.rule_id,
            severity: &r.finding.severity,
            fingerprint: &r.finding.fingerprint,
            path: &r.finding.path,
            line: r.finding.line,
        })
        .collect()
}
