//! The learning engine's tables: feedback processing (claimed with `SKIP LOCKED` on
//! PostgreSQL, so replicas share the backlog; SQLite serialises writers anyway), the
//! dismissals it materialises, learning events, and the feedback a rebuild folds over.

use sqlx::{AssertSqlSafe, Row};

use crate::{Database, StoreError, now_ms};

/// A stored piece of feedback, as the learning engine reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRow {
    pub id: i64,
    pub tenant_id: i64,
    pub user_id: Option<i64>,
    pub target_kind: String,
    pub target_id: String,
    pub kind: String,
    pub rating: Option<i32>,
    pub reason: Option<String>,
    pub comment: Option<String>,
    /// What the feedback was about, resolved when it was taken (JSON).
    pub context: Option<String>,
    pub scope: Option<String>,
    pub subject: Option<String>,
    pub created_at: i64,
    pub processed_at: Option<i64>,
    pub error: Option<String>,
    pub retracted_at: Option<i64>,
    pub rolled_back_at: Option<i64>,
}

const FEEDBACK_COLUMNS: &str = "id, tenant_id, user_id, target_kind, target_id, kind, rating, reason, comment, \
     context, scope, subject, created_at, processed_at, error, retracted_at, rolled_back_at";

/// Reads a [`FeedbackRow`] out of a row of either backend.
macro_rules! feedback_row {
    ($r:expr) => {{
        let r = $r;
        Ok::<_, sqlx::Error>(FeedbackRow {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            user_id: r.try_get("user_id")?,
            target_kind: r.try_get("target_kind")?,
            target_id: r.try_get("target_id")?,
            kind: r.try_get("kind")?,
            rating: r.try_get("rating")?,
            reason: r.try_get("reason")?,
            comment: r.try_get("comment")?,
            context: r.try_get("context")?,
            scope: r.try_get("scope")?,
            subject: r.try_get("subject")?,
            created_at: r.try_get("created_at")?,
            processed_at: r.try_get("processed_at")?,
            error: r.try_get("error")?,
            retracted_at: r.try_get("retracted_at")?,
            rolled_back_at: r.try_get("rolled_back_at")?,
        })
    }};
}

/// The learning scope of an analysis: its repository, or the whole tenant for an
/// analysis of no repository (SQL of the same rule: [`SCOPE_SQL`]).
pub fn scope_of(repository_id: Option<i64>) -> String {
    match repository_id {
        Some(id) => format!("repo:{id}"),
        None => "tenant".to_string(),
    }
}

/// [`scope_of`] in SQL, over an `analyses` row aliased `a`.
pub(crate) const SCOPE_SQL: &str =
    "(CASE WHEN a.repository_id IS NULL THEN 'tenant' ELSE 'repo:' || a.repository_id END)";

/// What processing one piece of feedback does to the dismissals, decided by the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedbackEffect {
    /// Nothing beyond the learning event (ratings, corrections: learned by the fold).
    Learned { event: String },
    /// Hide this fingerprint in this scope from now on.
    Dismiss {
        event: String,
        rule_id: String,
        reason: String,
    },
    /// The fingerprint's newest judgement is "real": show it again.
    Undismiss { event: String },
    /// The feedback cannot be learned from; kept, with the error, and counted as failed.
    Failed(String),
}

/// A processed batch: each row with the learning-event kind it produced (or its error).
#[derive(Debug, Default)]
pub struct ProcessedBatch {
    pub learned: Vec<(FeedbackRow, String)>,
    pub failed: Vec<(FeedbackRow, String)>,
}

/// A dismissal in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Dismissal {
    pub fingerprint: String,
    pub rule_id: String,
    pub reason: String,
    pub feedback_id: i64,
    pub user_id: Option<i64>,
    pub created_at: i64,
}

/// The learning engine's counters, from its tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearningCounts {
    /// Feedback that could not be processed.
    pub failed: i64,
    /// When the newest learning event happened (ms), if any.
    pub last_event_at: Option<i64>,
}

/// What a finding is, for feedback about it.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingSubject {
    pub rule_id: String,
    pub severity: String,
    pub path: String,
    pub fingerprint: String,
    /// The learning scope of its analysis ([`scope_of`]).
    pub scope: String,
}

impl Database {
    /// A finding of the tenant by its id, or `None` (also for another tenant's).
    pub async fn finding_subject(
        &self,
        tenant_id: i64,
        finding_id: i64,
    ) -> Result<Option<FindingSubject>, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT f.rule_id, f.severity, f.path, f.fingerprint, a.repository_id FROM findings f \
                 JOIN analyses a ON a.id = f.analysis_id WHERE f.id = $1 AND a.tenant_id = $2",
            )
            .bind(finding_id)
            .bind(tenant_id)
            .fetch_optional(pool)
            .await?;
            row.map(|r| -> Result<FindingSubject, sqlx::Error> {
                Ok(FindingSubject {
                    rule_id: r.try_get("rule_id")?,
                    severity: r.try_get("severity")?,
                    path: r.try_get("path")?,
                    fingerprint: r.try_get("fingerprint")?,
                    scope: scope_of(r.try_get("repository_id")?),
                })
            })
            .transpose()
            .map_err(StoreError::from)
        })
    }

    /// Claims up to `limit` unprocessed feedback rows, oldest first, applies `effect` to
    /// each, records a learning event per learned row and marks all processed, in one
    /// transaction: a replica that dies mid-batch leaves its rows for another one.
    pub async fn process_feedback(
        &self,
        limit: i64,
        effect: impl Fn(&FeedbackRow) -> FeedbackEffect,
    ) -> Result<ProcessedBatch, StoreError> {
        let lock = match self {
            Database::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Database::Sqlite(_) => "",
        };
        let select = format!(
            "SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE processed_at IS NULL ORDER BY id LIMIT $1{lock}"
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query(AssertSqlSafe(select.clone()))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            let now = now_ms();
            let mut batch = ProcessedBatch::default();
            for r in &rows {
                let row = feedback_row!(r)?;
                let (event, error) = match effect(&row) {
                    FeedbackEffect::Failed(e) => (None, Some(e)),
                    FeedbackEffect::Learned { event } => (Some(event), None),
                    FeedbackEffect::Dismiss { event, rule_id, reason } => {
                        match (&row.scope, &row.subject) {
                            (Some(scope), Some(fp)) => {
                                sqlx::query(
                                    "INSERT INTO dismissals (tenant_id, scope, fingerprint, rule_id, reason, feedback_id, user_id, created_at) \
                                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                                     ON CONFLICT (tenant_id, scope, fingerprint) DO UPDATE SET rule_id = excluded.rule_id, \
                                       reason = excluded.reason, feedback_id = excluded.feedback_id, user_id = excluded.user_id, \
                                       created_at = excluded.created_at",
                                )
                                .bind(row.tenant_id)
                                .bind(scope)
                                .bind(fp)
                                .bind(&rule_id)
                                .bind(&reason)
                                .bind(row.id)
                                .bind(row.user_id)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                                (Some(event), None)
                            }
                            _ => (None, Some("a dismissal needs the finding's repository and fingerprint".to_string())),
                        }
                    }
                    FeedbackEffect::Undismiss { event } => {
                        if let (Some(scope), Some(fp)) = (&row.scope, &row.subject) {
                            sqlx::query(
                                "DELETE FROM dismissals WHERE tenant_id = $1 AND scope = $2 AND fingerprint = $3",
                            )
                            .bind(row.tenant_id)
                            .bind(scope)
                            .bind(fp)
                            .execute(&mut *tx)
                            .await?;
                        }
                        (Some(event), None)
                    }
                };
                sqlx::query("UPDATE feedback SET processed_at = $1, error = $2 WHERE id = $3")
                    .bind(now)
                    .bind(&error)
                    .bind(row.id)
                    .execute(&mut *tx)
                    .await?;
                match (event, error) {
                    (Some(kind), _) => {
                        sqlx::query(
                            "INSERT INTO learning_events (tenant_id, kind, payload, created_at) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(row.tenant_id)
                        .bind(&kind)
                        .bind(format!("{{\"feedback_id\":{}}}", row.id))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        batch.learned.push((row, kind));
                    }
                    (None, e) => batch.failed.push((row, e.unwrap_or_default())),
                }
            }
            tx.commit().await?;
            Ok(batch)
        })
    }

    /// The feedback learning counts: processed without error, neither retracted nor
    /// rolled back, oldest first. `after` pages by id.
    pub async fn counted_feedback(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FeedbackRow>, StoreError> {
        let sql = format!(
            "SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE id > $1 AND processed_at IS NOT NULL \
             AND error IS NULL AND retracted_at IS NULL AND rolled_back_at IS NULL ORDER BY id LIMIT $2"
        );
        on_pool!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| Ok(feedback_row!(r)?)).collect()
        })
    }

    /// One piece of feedback of the tenant.
    pub async fn feedback_by_id(
        &self,
        tenant_id: i64,
        id: i64,
    ) -> Result<Option<FeedbackRow>, StoreError> {
        let sql =
            format!("SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE id = $1 AND tenant_id = $2");
        on_pool!(self, pool => {
            let row = sqlx::query(AssertSqlSafe(sql))
                .bind(id)
                .bind(tenant_id)
                .fetch_optional(pool)
                .await?;
            row.map(|r| Ok(feedback_row!(&r)?)).transpose()
        })
    }

    /// Stops counting a piece of feedback (its author undid it) and, for a finding,
    /// puts the fingerprint back to its newest judgement that still counts.
    pub async fn retract_feedback(&self, row: &FeedbackRow) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE feedback SET retracted_at = $1 WHERE id = $2 AND retracted_at IS NULL")
                .bind(now_ms())
                .bind(row.id)
                .execute(pool)
                .await?;
        });
        if let (Some(scope), Some(fp)) = (&row.scope, &row.subject) {
            self.refresh_dismissal(row.tenant_id, scope, fp).await?;
        }
        Ok(())
    }

    /// Sets aside (rolls back) the counted feedback after `watermark`; returns how many
    /// rows, and refreshes the dismissals they touched.
    pub async fn roll_back_feedback_after(&self, watermark: i64) -> Result<u64, StoreError> {
        let touched: Vec<(i64, String, String)> = on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT DISTINCT tenant_id, scope, subject FROM feedback WHERE id > $1 AND processed_at IS NOT NULL \
                 AND rolled_back_at IS NULL AND scope IS NOT NULL AND subject IS NOT NULL",
            )
            .bind(watermark)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("tenant_id")?, r.try_get("scope")?, r.try_get("subject")?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE feedback SET rolled_back_at = $1 WHERE id > $2 AND processed_at IS NOT NULL AND rolled_back_at IS NULL",
        )
        .bind(now_ms())
        .bind(watermark)
        .execute(pool)
        .await?
        .rows_affected());
        for (tenant, scope, fp) in touched {
            self.refresh_dismissal(tenant, &scope, &fp).await?;
        }
        Ok(n)
    }

    /// Re-derives one fingerprint's dismissal from its newest counted judgement.
    async fn refresh_dismissal(
        &self,
        tenant_id: i64,
        scope: &str,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM dismissals WHERE tenant_id = $1 AND scope = $2 AND fingerprint = $3")
                .bind(tenant_id)
                .bind(scope)
                .bind(fingerprint)
                .execute(&mut *tx)
                .await?;
            let newest = sqlx::query(
                "SELECT id, kind, reason, user_id, context FROM feedback WHERE tenant_id = $1 AND scope = $2 AND subject = $3 \
                 AND kind IN ('dismiss', 'confirm') AND processed_at IS NOT NULL AND error IS NULL \
                 AND retracted_at IS NULL AND rolled_back_at IS NULL ORDER BY id DESC LIMIT 1",
            )
            .bind(tenant_id)
            .bind(scope)
            .bind(fingerprint)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(r) = newest {
                let kind: String = r.try_get("kind")?;
                if kind == "dismiss" {
                    let context: Option<String> = r.try_get("context")?;
                    let rule = context
                        .as_deref()
                        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
                        .and_then(|v| v.get("rule_id").and_then(|r| r.as_str()).map(str::to_string))
                        .unwrap_or_default();
                    let reason: Option<String> = r.try_get("reason")?;
                    sqlx::query(
                        "INSERT INTO dismissals (tenant_id, scope, fingerprint, rule_id, reason, feedback_id, user_id, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(tenant_id)
                    .bind(scope)
                    .bind(fingerprint)
                    .bind(rule)
                    .bind(reason.unwrap_or_else(|| "false_positive".into()))
                    .bind(r.try_get::<i64, _>("id")?)
                    .bind(r.try_get::<Option<i64>, _>("user_id")?)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The learning scope of the tenant's repository `name`, if it has one.
    pub async fn repository_scope(
        &self,
        tenant_id: i64,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let id: Option<i64> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM repositories WHERE tenant_id = $1 AND name = $2",
        )
        .bind(tenant_id)
        .bind(name)
        .fetch_optional(pool)
        .await?);
        Ok(id.map(|id| scope_of(Some(id))))
    }

    /// The dismissals in force in one scope of a tenant.
    pub async fn dismissals(
        &self,
        tenant_id: i64,
        scope: &str,
    ) -> Result<Vec<Dismissal>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT fingerprint, rule_id, reason, feedback_id, user_id, created_at FROM dismissals \
                 WHERE tenant_id = $1 AND scope = $2 ORDER BY created_at",
            )
            .bind(tenant_id)
            .bind(scope)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok(Dismissal {
                    fingerprint: r.try_get("fingerprint")?,
                    rule_id: r.try_get("rule_id")?,
                    reason: r.try_get("reason")?,
                    feedback_id: r.try_get("feedback_id")?,
                    user_id: r.try_get("user_id")?,
                    created_at: r.try_get("created_at")?,
                }))
                .collect()
        })
    }

    /// Deletes a user's feedback in their tenant (and, through it, the dismissals it
    /// made); the next learning cycle drops its effects. Returns the rows deleted.
    pub async fn delete_user_feedback(
        &self,
        tenant_id: i64,
        user_id: i64,
    ) -> Result<u64, StoreError> {
        let touched: Vec<(String, String)> = on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT DISTINCT scope, subject FROM feedback WHERE tenant_id = $1 AND user_id = $2 \
                 AND scope IS NOT NULL AND subject IS NOT NULL",
            )
            .bind(tenant_id)
            .bind(user_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("scope")?, r.try_get("subject")?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        let n = on_pool!(self, pool => sqlx::query("DELETE FROM feedback WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .execute(pool)
            .await?
            .rows_affected());
        for (scope, fp) in touched {
            self.refresh_dismissal(tenant_id, &scope, &fp).await?;
        }
        Ok(n)
    }

    /// Failed feedback and the time of the newest learning event.
    pub async fn learning_counts(&self) -> Result<LearningCounts, StoreError> {
        on_pool!(self, pool => {
            let r = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM feedback WHERE error IS NOT NULL) AS failed, \
                        (SELECT MAX(created_at) FROM learning_events) AS last",
            )
            .fetch_one(pool)
            .await?;
            Ok(LearningCounts {
                failed: r.try_get("failed")?,
                last_event_at: r.try_get("last")?,
            })
        })
    }

    /// The newest snapshots of `scope` (global), newest first.
    pub async fn learned_snapshots(
        &self,
        scope: &str,
        limit: i64,
    ) -> Result<Vec<crate::LearnedSnapshot>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, state, created_at FROM learned_state_snapshots \
                 WHERE scope = $1 AND tenant_id IS NULL ORDER BY id DESC LIMIT $2",
            )
            .bind(scope)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok(crate::LearnedSnapshot {
                    id: r.try_get("id")?,
                    state: r.try_get("state")?,
                    created_at: r.try_get("created_at")?,
                }))
                .collect()
        })
    }

    /// The id and time (ms) of the newest global snapshot of `scope`, without its state
    /// (to tell whether a cached copy is current, and how old it is).
    pub async fn latest_learned_state_head(
        &self,
        scope: &str,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT id, created_at FROM learned_state_snapshots \
                 WHERE scope = $1 AND tenant_id IS NULL ORDER BY id DESC LIMIT 1",
            )
            .bind(scope)
            .fetch_optional(pool)
            .await?;
            row.map(|r| -> Result<(i64, i64), sqlx::Error> {
                Ok((r.try_get("id")?, r.try_get("created_at")?))
            })
            .transpose()
            .map_err(StoreError::from)
        })
    }

    /// Counted ratings and finding judgements since `since` (ms): (kind, rating,
    /// context, created_at), for the learning gauges.
    pub async fn recent_feedback_signals(
        &self,
        since: i64,
    ) -> Result<Vec<(String, Option<i32>, Option<String>, i64)>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT kind, rating, context, created_at FROM feedback WHERE created_at > $1 \
                 AND kind IN ('rating', 'confirm', 'dismiss') AND processed_at IS NOT NULL AND error IS NULL \
                 AND retracted_at IS NULL AND rolled_back_at IS NULL",
            )
            .bind(since)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok((r.try_get("kind")?, r.try_get("rating")?, r.try_get("context")?, r.try_get("created_at")?)))
                .collect()
        })
    }
}
