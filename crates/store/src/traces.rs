//! Reasoning traces of agent tasks: started when a task starts, completed with its steps,
//! answer and quality score when it ends; read back by their owner's tenant. And the
//! learned-state snapshots the agents' planner is built from.

use sqlx::Row;

use crate::{Database, StoreError, now_ms};

/// A task's stored trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRecord {
    pub id: i64,
    pub tenant_id: i64,
    pub user_id: Option<i64>,
    pub question: String,
    /// `running`, `done` or `failed`.
    pub status: String,
    pub intent: Option<String>,
    /// JSON array of specialist names.
    pub specialists: Option<String>,
    /// JSON of the answer (without its steps).
    pub answer: Option<String>,
    /// JSON array of the steps.
    pub steps: String,
    pub quality: Option<f64>,
    pub confidence: Option<f64>,
    pub analysis_id: Option<i64>,
    pub duration_ms: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// What a finished task stores.
#[derive(Debug, Clone, Default)]
pub struct FinishedTrace {
    pub status: String,
    pub intent: Option<String>,
    pub specialists: Option<String>,
    pub answer: Option<String>,
    pub steps: String,
    pub quality: Option<f64>,
    pub confidence: Option<f64>,
    pub analysis_id: Option<i64>,
    pub duration_ms: i64,
}

const COLUMNS: &str = "id, tenant_id, user_id, COALESCE(question, '') AS question, status, intent, \
    specialists, answer, steps, quality, confidence, analysis_id, duration_ms, created_at, finished_at";

fn record<R>(r: &R) -> Result<TraceRecord, sqlx::Error>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(TraceRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        user_id: r.try_get("user_id")?,
        question: r.try_get("question")?,
        status: r.try_get("status")?,
        intent: r.try_get("intent")?,
        specialists: r.try_get("specialists")?,
        answer: r.try_get("answer")?,
        steps: r.try_get("steps")?,
        quality: r.try_get("quality")?,
        confidence: r.try_get("confidence")?,
        analysis_id: r.try_get("analysis_id")?,
        duration_ms: r.try_get("duration_ms")?,
        created_at: r.try_get("created_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

impl Database {
    /// Records that a task started; returns its trace id.
    pub async fn start_trace(
        &self,
        tenant_id: i64,
        user_id: Option<i64>,
        question: &str,
    ) -> Result<i64, StoreError> {
        let id: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO reasoning_traces (tenant_id, user_id, question, status, steps, created_at) \
             VALUES ($1, $2, $3, 'running', '[]', $4) RETURNING id",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(question)
        .bind(now_ms())
        .fetch_one(pool)
        .await?);
        Ok(id)
    }

    /// Completes a started trace.
    pub async fn finish_trace(&self, id: i64, t: &FinishedTrace) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query(
            "UPDATE reasoning_traces SET status = $2, intent = $3, specialists = $4, answer = $5, \
             steps = $6, quality = $7, confidence = $8, analysis_id = $9, duration_ms = $10, \
             finished_at = $11 WHERE id = $1",
        )
        .bind(id)
        .bind(&t.status)
        .bind(&t.intent)
        .bind(&t.specialists)
        .bind(&t.answer)
        .bind(&t.steps)
        .bind(t.quality)
        .bind(t.confidence)
        .bind(t.analysis_id)
        .bind(t.duration_ms)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The tenant's trace `id`.
    pub async fn trace(&self, tenant_id: i64, id: i64) -> Result<Option<TraceRecord>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM reasoning_traces WHERE id = $1 AND tenant_id = $2");
        Ok(on_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(tenant_id)
                .fetch_optional(pool)
                .await?;
            row.map(|r| record(&r)).transpose()?
        }))
    }

    /// The tenant's latest traces (newest first), only `user_id`'s when given, before id
    /// `before` when given.
    pub async fn traces(
        &self,
        tenant_id: i64,
        user_id: Option<i64>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<TraceRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM reasoning_traces WHERE tenant_id = $1 AND id < $2 \
             AND ($4 IS NULL OR user_id = $4) ORDER BY id DESC LIMIT $3"
        );
        Ok(on_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(tenant_id)
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .bind(user_id)
                .fetch_all(pool)
                .await?;
            rows.iter().map(record).collect::<Result<Vec<_>, _>>()?
        }))
    }
}

/// A published learned-state snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedSnapshot {
    pub id: i64,
    pub state: String,
    pub created_at: i64,
}

impl Database {
    /// The newest global (all tenants) snapshot of `scope`, e.g. `planner`.
    pub async fn latest_learned_state(
        &self,
        scope: &str,
    ) -> Result<Option<LearnedSnapshot>, StoreError> {
        Ok(on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT id, state, created_at FROM learned_state_snapshots \
                 WHERE scope = $1 AND tenant_id IS NULL ORDER BY id DESC LIMIT 1",
            )
            .bind(scope)
            .fetch_optional(pool)
            .await?;
            row.map(|r| -> Result<LearnedSnapshot, sqlx::Error> {
                Ok(LearnedSnapshot {
                    id: r.try_get("id")?,
                    state: r.try_get("state")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .transpose()?
        }))
    }

    /// Publishes a snapshot of `scope` (global when `tenant_id` is `None`).
    pub async fn save_learned_state(
        &self,
        tenant_id: Option<i64>,
        scope: &str,
        state: &str,
    ) -> Result<i64, StoreError> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO learned_state_snapshots (tenant_id, scope, state, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(tenant_id)
        .bind(scope)
        .bind(state)
        .bind(now_ms())
        .fetch_one(pool)
        .await?))
    }
}
