//! The durable job queue. A worker claims a job by taking its lease (PostgreSQL:
//! `FOR UPDATE SKIP LOCKED`, so replicas never wait on each other; SQLite: one statement,
//! which SQLite runs as its single writer), renews it while it works, and completes it
//! only while it still holds it. A job whose worker died is claimed again once its lease
//! expires; a worker that lost its lease cannot complete it, so no job completes twice.

use sqlx::Row;

use crate::{Database, StoreError, now_ms};

/// How many times a job is claimed before it is marked failed.
pub const MAX_ATTEMPTS: i32 = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub progress: f64,
    pub attempts: i32,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
}

const JOB_COLUMNS: &str =
    "id, tenant_id, kind, payload, status, progress, attempts, lease_owner, last_error";

macro_rules! job_from {
    ($r:expr) => {
        Job {
            id: $r.try_get("id")?,
            tenant_id: $r.try_get("tenant_id")?,
            kind: $r.try_get("kind")?,
            payload: $r.try_get("payload")?,
            status: $r.try_get("status")?,
            progress: $r.try_get("progress")?,
            attempts: $r.try_get("attempts")?,
            lease_owner: $r.try_get("lease_owner")?,
            last_error: $r.try_get("last_error")?,
        }
    };
}

impl Database {
    /// Queues a job; returns its id.
    pub async fn enqueue_job(
        &self,
        tenant_id: Option<i64>,
        kind: &str,
        payload: &str,
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO jobs (tenant_id, kind, payload, status, run_after, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', $4, $4, $4) RETURNING id",
        )
        .bind(tenant_id)
        .bind(kind)
        .bind(payload)
        .bind(now)
        .fetch_one(pool)
        .await?))
    }

    /// Takes the oldest claimable job of `kind` for `lease_ms`: a queued one whose time
    /// has come, or a running one whose lease expired (its worker died) while attempts
    /// remain; one that died on its last attempt is left to
    /// [`Database::fail_abandoned_jobs`], so a job that kills its worker cannot crash-loop
    /// every replica.
    pub async fn claim_job(
        &self,
        kind: &str,
        owner: &str,
        lease_ms: i64,
    ) -> Result<Option<Job>, StoreError> {
        let now = now_ms();
        let pick = match self {
            Database::Postgres(_) => "FOR UPDATE SKIP LOCKED",
            Database::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
                 attempts = attempts + 1, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE kind = $4 AND \
                 ((status = 'queued' AND run_after <= $3) \
                  OR (status = 'running' AND lease_expires_at < $3 AND attempts < $5)) \
                 ORDER BY id LIMIT 1 {pick}) \
             RETURNING {JOB_COLUMNS}"
        );
        on_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(now + lease_ms)
                .bind(now)
                .bind(kind)
                .bind(MAX_ATTEMPTS)
                .fetch_optional(pool)
                .await?;
            row.map(|r| Ok(job_from!(r))).transpose()
        })
    }

    /// Extends the lease of a job `owner` holds and records its progress (0-1). `false`
    /// when the lease was lost: the worker must stop and drop its results.
    pub async fn renew_job(
        &self,
        id: i64,
        owner: &str,
        lease_ms: i64,
        progress: f64,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1, progress = $2, updated_at = $3 \
             WHERE id = $4 AND lease_owner = $5 AND status = 'running'",
        )
        .bind(now + lease_ms)
        .bind(progress.clamp(0.0, 1.0))
        .bind(now)
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Gives up on a job `owner` holds: queued again after `retry_in_ms` while attempts
    /// remain, else failed. Returns the new status, or `None` if the lease was lost.
    pub async fn fail_job(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_in_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let now = now_ms();
        let status: Option<String> = on_pool!(self, pool => sqlx::query_scalar(
            "UPDATE jobs SET \
                 status = CASE WHEN attempts < $1 THEN 'queued' ELSE 'failed' END, \
                 run_after = $2, lease_owner = NULL, lease_expires_at = NULL, last_error = $3, updated_at = $4 \
             WHERE id = $5 AND lease_owner = $6 AND status = 'running' RETURNING status",
        )
        .bind(MAX_ATTEMPTS)
        .bind(now + retry_in_ms)
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(owner)
        .fetch_optional(pool)
        .await?);
        Ok(status)
    }

    /// Marks jobs that exhausted their attempts by dying (lease expired on the last
    /// attempt) as failed, and the analyses they ran with them; returns their ids.
    /// [`Database::claim_job`] no longer takes such jobs, so they would otherwise stay
    /// `running` forever.
    pub async fn fail_abandoned_jobs(&self, kind: &str) -> Result<Vec<i64>, StoreError> {
        const WHY: &str = "the worker stopped answering on every attempt";
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "UPDATE jobs SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, \
                     last_error = $4, updated_at = $1 \
                 WHERE kind = $2 AND status = 'running' AND lease_expires_at < $1 AND attempts >= $3 \
                 RETURNING id",
            )
            .bind(now)
            .bind(kind)
            .bind(MAX_ATTEMPTS)
            .bind(WHY)
            .fetch_all(&mut *tx)
            .await?;
            for id in &ids {
                sqlx::query(
                    "UPDATE analyses SET status = 'failed', error = $1, finished_at = $2 \
                     WHERE job_id = $3 AND status NOT IN ('done', 'failed')",
                )
                .bind(WHY)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// Hands a job `owner` holds back to the queue without counting the attempt (the
    /// worker is shutting down, not failing). `false` if the lease was already lost.
    pub async fn release_job(&self, id: i64, owner: &str) -> Result<bool, StoreError> {
        let now = now_ms();
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, \
                 lease_expires_at = NULL, run_after = $1, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
        )
        .bind(now)
        .bind(id)
        .bind(owner)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        on_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?;
            row.map(|r| Ok(job_from!(r))).transpose()
        })
    }

    /// Jobs waiting for a worker (queued, or running with an expired lease).
    pub async fn queued_jobs(&self, kind: &str) -> Result<i64, StoreError> {
        let now = now_ms();
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND \
             (status = 'queued' OR (status = 'running' AND lease_expires_at < $2))",
        )
        .bind(kind)
        .bind(now)
        .fetch_one(pool)
        .await?))
    }
}
