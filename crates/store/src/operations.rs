//! What the runbook's operational calls read and do: specialist registrations, database
//! maintenance, and the feedback backlog.

use sqlx::Row;

use crate::{Database, StoreError, now_ms};

/// A specialist as its service registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specialist {
    pub name: String,
    pub description: String,
    pub capabilities: Vec<String>,
    /// Base URL of the specialist service that hosts it.
    pub url: String,
    pub registered_at: i64,
    pub heartbeat_at: i64,
}

/// The state of feedback processing, from the feedback table itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackBacklog {
    /// Feedback stored but not processed yet.
    pub pending: i64,
    /// When the oldest pending feedback was stored (ms), if any is pending.
    pub oldest_pending_at: Option<i64>,
    /// When feedback was last processed (ms), if ever.
    pub last_processed_at: Option<i64>,
}

/// One maintenance step and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceStep {
    pub step: String,
    pub rows: u64,
    pub millis: f64,
}

/// Finished jobs are kept this long for inspection, then pruned.
const KEEP_JOBS_MS: i64 = 7 * 24 * 3600 * 1000;
/// Learned-state snapshots kept per scope (older ones are superseded).
const KEEP_SNAPSHOTS: i64 = 20;

impl Database {
    /// Registers (or refreshes) the specialists hosted at `url`; they stay listed while
    /// their heartbeat is recent.
    pub async fn register_specialists(
        &self,
        url: &str,
        specialists: &[(String, String, Vec<String>)],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        for (name, description, capabilities) in specialists {
            let caps = serde_json::to_string(capabilities).unwrap_or_else(|_| "[]".into());
            on_pool!(self, pool => sqlx::query(
                "INSERT INTO specialists (name, description, capabilities, url, registered_at, heartbeat_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) \
                 ON CONFLICT (name) DO UPDATE SET description = excluded.description, \
                     capabilities = excluded.capabilities, url = excluded.url, heartbeat_at = excluded.heartbeat_at",
            )
            .bind(name)
            .bind(description)
            .bind(&caps)
            .bind(url)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ())?);
        }
        Ok(())
    }

    pub async fn specialists(&self) -> Result<Vec<Specialist>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT name, description, capabilities, url, registered_at, heartbeat_at FROM specialists ORDER BY name",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let caps: String = r.try_get("capabilities")?;
                    Ok(Specialist {
                        name: r.try_get("name")?,
                        description: r.try_get("description")?,
                        capabilities: serde_json::from_str(&caps).unwrap_or_default(),
                        url: r.try_get("url")?,
                        registered_at: r.try_get("registered_at")?,
                        heartbeat_at: r.try_get("heartbeat_at")?,
                    })
                })
                .collect()
        })
    }

    pub async fn feedback_backlog(&self) -> Result<FeedbackBacklog, StoreError> {
        on_pool!(self, pool => {
            let r = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM feedback WHERE processed_at IS NULL) AS pending, \
                        (SELECT MIN(created_at) FROM feedback WHERE processed_at IS NULL) AS oldest, \
                        (SELECT MAX(processed_at) FROM feedback) AS last",
            )
            .fetch_one(pool)
            .await?;
            Ok(FeedbackBacklog {
                pending: r.try_get("pending")?,
                oldest_pending_at: r.try_get("oldest")?,
                last_processed_at: r.try_get("last")?,
            })
        })
    }

    /// The learning engine's maintenance: prune finished jobs older than a week and
    /// superseded learned-state snapshots, then refresh the planner's statistics
    /// (`ANALYZE`; SQLite also `PRAGMA optimize`). Returns each step's rows and time.
    pub async fn maintain(&self) -> Result<Vec<MaintenanceStep>, StoreError> {
        let mut steps = Vec::new();
        let now = now_ms();
        let t = std::time::Instant::now();
        let rows = on_pool!(self, pool => sqlx::query(
            "DELETE FROM jobs WHERE status IN ('done', 'failed') AND updated_at < $1",
        )
        .bind(now - KEEP_JOBS_MS)
        .execute(pool)
        .await?
        .rows_affected());
        steps.push(step("prune finished jobs older than 7 days", rows, t));

        let t = std::time::Instant::now();
        let rows = on_pool!(self, pool => sqlx::query(
            "DELETE FROM learned_state_snapshots WHERE id IN ( \
                 SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY tenant_id, scope ORDER BY id DESC) AS n \
                                 FROM learned_state_snapshots) ranked WHERE n > $1)",
        )
        .bind(KEEP_SNAPSHOTS)
        .execute(pool)
        .await?
        .rows_affected());
        steps.push(step("prune superseded learned-state snapshots", rows, t));

        let t = std::time::Instant::now();
        match self {
            Database::Postgres(pool) => {
                sqlx::query("ANALYZE").execute(pool).await?;
            }
            Database::Sqlite(pool) => {
                sqlx::query("ANALYZE").execute(pool).await?;
                sqlx::query("PRAGMA optimize").execute(pool).await?;
            }
        }
        steps.push(step("refresh planner statistics (ANALYZE)", 0, t));
        Ok(steps)
    }
}

fn step(name: &str, rows: u64, started: std::time::Instant) -> MaintenanceStep {
    MaintenanceStep {
        step: name.into(),
        rows,
        millis: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
    }
}
