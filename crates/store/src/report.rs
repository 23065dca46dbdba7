//! The numbers of the runbook's weekly report, for one period, across all tenants:
//! usage, answer quality and time, learning, and incident indicators.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{AssertSqlSafe, Row};

use crate::{Database, StoreError};

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PeriodReport {
    /// Unix milliseconds, `[from, to)`.
    pub from_ms: i64,
    pub to_ms: i64,
    pub analyses_done: i64,
    pub analyses_failed: i64,
    pub repositories_analysed: i64,
    pub questions_answered: i64,
    pub questions_failed: i64,
    pub active_users: i64,
    pub conversations: i64,
    pub generated_test_runs: i64,
    pub generated_tests_validated: i64,
    /// Mean quality (0-1) of the answers; `None` with no answers.
    pub mean_quality: Option<f64>,
    pub answer_p50_ms: Option<i64>,
    pub answer_p95_ms: Option<i64>,
    pub ratings: i64,
    pub mean_rating: Option<f64>,
    /// Feedback received, by kind (`rating`, `dismiss`, ...).
    pub feedback: BTreeMap<String, i64>,
    pub feedback_failed: i64,
    pub learning_events: i64,
    pub snapshots_published: i64,
    pub dismissals: i64,
    /// Audit entries that are incidents or operator interventions, by action.
    pub interventions: BTreeMap<String, i64>,
}

/// Audit actions that an operator report lists (rollbacks, read-only mode, restores...).
const INTERVENTIONS: &[&str] = &[
    "backup.restore",
    "learning.rollback",
    "learning.cycle",
    "read_only.set",
    "key.revoke",
    "maintenance.optimize",
    "optimize.reasoning_cache",
];

impl Database {
    /// The report of `[from_ms, to_ms)`.
    pub async fn period_report(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<PeriodReport, StoreError> {
        let scalar = |sql: &str| {
            let sql = sql.to_string();
            async move {
                let v: Option<i64> = on_pool!(self, pool => sqlx::query_scalar(AssertSqlSafe(sql.clone()))
                    .bind(from_ms)
                    .bind(to_ms)
                    .fetch_one(pool)
                    .await?);
                Ok::<i64, StoreError>(v.unwrap_or(0))
            }
        };
        let real = |sql: &str| {
            let sql = sql.to_string();
            async move {
                let v: Option<f64> = on_pool!(self, pool => sqlx::query_scalar(AssertSqlSafe(sql.clone()))
                    .bind(from_ms)
                    .bind(to_ms)
                    .fetch_one(pool)
                    .await?);
                Ok::<Option<f64>, StoreError>(v)
            }
        };
        let within = "created_at >= $1 AND created_at < $2";
        let mut r = PeriodReport {
            from_ms,
            to_ms,
            ..Default::default()
        };
        r.analyses_done = scalar(&format!(
            "SELECT COUNT(*) FROM analyses WHERE status = 'done' AND {within}"
        ))
        .await?;
        r.analyses_failed = scalar(&format!(
            "SELECT COUNT(*) FROM analyses WHERE status = 'failed' AND {within}"
        ))
        .await?;
        r.repositories_analysed = scalar(&format!(
            "SELECT COUNT(DISTINCT repository_id) FROM analyses WHERE repository_id IS NOT NULL AND {within}"
        ))
        .await?;
        r.questions_answered = scalar(&format!(
            "SELECT COUNT(*) FROM reasoning_traces WHERE status = 'done' AND {within}"
        ))
        .await?;
        r.questions_failed = scalar(&format!(
            "SELECT COUNT(*) FROM reasoning_traces WHERE status = 'failed' AND {within}"
        ))
        .await?;
        r.active_users = scalar(&format!(
            "SELECT COUNT(DISTINCT user_id) FROM reasoning_traces WHERE user_id IS NOT NULL AND {within}"
        ))
        .await?;
        r.conversations = scalar(&format!(
            "SELECT COUNT(*) FROM conversations WHERE {within}"
        ))
        .await?;
        r.generated_test_runs = scalar(&format!(
            "SELECT COUNT(*) FROM generated_tests WHERE {within}"
        ))
        .await?;
        r.generated_tests_validated = scalar(&format!(
            "SELECT COUNT(*) FROM generated_tests WHERE status = 'validated' AND {within}"
        ))
        .await?;
        r.mean_quality = real(&format!(
            "SELECT AVG(quality) FROM reasoning_traces WHERE status = 'done' AND quality IS NOT NULL AND {within}"
        ))
        .await?;
        r.ratings = scalar(&format!(
            "SELECT COUNT(*) FROM feedback WHERE kind = 'rating' AND rating IS NOT NULL AND retracted_at IS NULL AND {within}"
        ))
        .await?;
        r.mean_rating = real(&format!(
            "SELECT AVG(CAST(rating AS DOUBLE PRECISION)) FROM feedback WHERE kind = 'rating' AND rating IS NOT NULL AND retracted_at IS NULL AND {within}"
        ))
        .await?;
        r.feedback_failed = scalar(&format!(
            "SELECT COUNT(*) FROM feedback WHERE error IS NOT NULL AND {within}"
        ))
        .await?;
        r.learning_events = scalar(&format!(
            "SELECT COUNT(*) FROM learning_events WHERE {within}"
        ))
        .await?;
        r.snapshots_published = scalar(&format!(
            "SELECT COUNT(*) FROM learned_state_snapshots WHERE {within}"
        ))
        .await?;
        r.dismissals = scalar(&format!("SELECT COUNT(*) FROM dismissals WHERE {within}")).await?;

        let durations: Vec<i64> = on_pool!(self, pool => sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT duration_ms FROM reasoning_traces WHERE status = 'done' AND duration_ms IS NOT NULL AND {within} ORDER BY duration_ms"
        )))
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(pool)
        .await?);
        let pick = |q: f64| -> Option<i64> {
            (!durations.is_empty()).then(|| {
                let i =
                    ((q * durations.len() as f64).ceil() as usize).clamp(1, durations.len()) - 1;
                durations[i]
            })
        };
        r.answer_p50_ms = pick(0.5);
        r.answer_p95_ms = pick(0.95);

        r.feedback = self
            .counts_by(
                &format!("SELECT kind, COUNT(*) FROM feedback WHERE {within} GROUP BY kind"),
                from_ms,
                to_ms,
            )
            .await?;
        r.interventions = self
            .counts_by(
                &format!("SELECT action, COUNT(*) FROM audit_log WHERE {within} GROUP BY action"),
                from_ms,
                to_ms,
            )
            .await?
            .into_iter()
            .filter(|(a, _)| INTERVENTIONS.iter().any(|i| a.starts_with(i)))
            .collect();
        Ok(r)
    }

    /// `(key, count)` rows of a `GROUP BY` over `[from_ms, to_ms)` ($1, $2).
    async fn counts_by(
        &self,
        sql: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let rows = on_pool!(self, pool => sqlx::query(AssertSqlSafe(sql.to_string()))
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| (row.get::<String, _>(0), row.get::<i64, _>(1)))
            .collect::<BTreeMap<_, _>>());
        Ok(rows)
    }
}
