//! Repositories, analyses and their results (components, findings, the whole report).
//! Every read takes the tenant, so one tenant's ids never reach another's rows.

use sqlx::{AssertSqlSafe, Row};

use crate::learning::SCOPE_SQL;
use crate::{Database, StoreError, now_ms};

/// The job kind the specialist service runs for an analysis.
pub const ANALYSIS_JOB: &str = "analysis";

#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisRecord {
    pub id: i64,
    pub tenant_id: i64,
    pub repository: Option<String>,
    pub repository_id: Option<i64>,
    pub status: String,
    pub progress: f64,
    pub content_hash: Option<String>,
    /// JSON summary of the report, when done.
    pub summary: Option<String>,
    pub error: Option<String>,
    pub job_id: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl AnalysisRecord {
    /// The learning scope its findings are judged in (its repository).
    pub fn scope(&self) -> String {
        crate::learning::scope_of(self.repository_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFinding {
    pub rule_id: String,
    pub severity: String,
    pub path: String,
    pub line: i64,
    pub message: String,
    pub fingerprint: String,
    pub suppressed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRecord {
    pub id: i64,
    pub finding: NewFinding,
    /// A user's dismissal of this fingerprint in the analysis's repository, if in force.
    pub dismissal: Option<FindingDismissal>,
}

/// Who dismissed a finding and why: the feedback that did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingDismissal {
    pub feedback_id: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComponent {
    pub path: String,
    /// `file`, `class` or `function`.
    pub kind: String,
    pub name: String,
    pub start_line: Option<i64>,
    pub end_line: Option<i64>,
    /// JSON object of the component's metrics.
    pub metrics: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRecord {
    pub id: i64,
    pub component: NewComponent,
}

/// Which findings to list: filters and a keyset page (`after` the last id seen).
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub severity: Option<String>,
    pub rule: Option<String>,
    pub path: Option<String>,
    pub after: i64,
    pub limit: i64,
    /// List findings users dismissed too (flagged); by default they are left out.
    pub include_dismissed: bool,
}

/// What a finished analysis stores, written at once with the job's completion.
pub struct AnalysisResult<'a> {
    pub summary: &'a str,
    pub report: &'a str,
    pub content_hash: &'a str,
    pub components: &'a [NewComponent],
    pub findings: &'a [NewFinding],
}

const ANALYSIS_COLUMNS: &str = "a.id, a.tenant_id, a.repository_id, r.name AS repository, a.status, a.progress, \
     a.content_hash, a.summary, a.error, a.job_id, a.created_at, a.started_at, a.finished_at";

macro_rules! analysis_from {
    ($r:expr) => {
        AnalysisRecord {
            id: $r.try_get("id")?,
            tenant_id: $r.try_get("tenant_id")?,
            repository: $r.try_get("repository")?,
            repository_id: $r.try_get("repository_id")?,
            status: $r.try_get("status")?,
            progress: $r.try_get("progress")?,
            content_hash: $r.try_get("content_hash")?,
            summary: $r.try_get("summary")?,
            error: $r.try_get("error")?,
            job_id: $r.try_get("job_id")?,
            created_at: $r.try_get("created_at")?,
            started_at: $r.try_get("started_at")?,
            finished_at: $r.try_get("finished_at")?,
        }
    };
}

/// Rows per multi-row INSERT (well under both backends' bind-parameter limits).
const BATCH: usize = 400;

impl Database {
    /// The tenant's repository `name`, created or pointed at `location`.
    pub async fn upsert_repository(
        &self,
        tenant_id: i64,
        name: &str,
        source: &str,
        location: &str,
    ) -> Result<i64, StoreError> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO repositories (tenant_id, name, source, location, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET source = excluded.source, location = excluded.location \
             RETURNING id",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(source)
        .bind(location)
        .bind(now_ms())
        .fetch_one(pool)
        .await?))
    }

    /// Files `location` under the tenant's repository `name` (`source`: `path` or
    /// `upload`) and queues its analysis; the job's payload is `payload` with `path` set
    /// to `location`. Returns (analysis id, job id).
    pub async fn queue_repository_analysis(
        &self,
        tenant_id: i64,
        name: &str,
        source: &str,
        location: &str,
        mut payload: serde_json::Value,
    ) -> Result<(i64, i64), StoreError> {
        let repository = self
            .upsert_repository(tenant_id, name, source, location)
            .await?;
        payload["path"] = location.into();
        self.queue_analysis(tenant_id, repository, &payload).await
    }

    /// A queued analysis and its job (payload `payload`), in one transaction.
    /// Returns (analysis id, job id).
    async fn queue_analysis(
        &self,
        tenant_id: i64,
        repository_id: i64,
        payload: &serde_json::Value,
    ) -> Result<(i64, i64), StoreError> {
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let analysis: i64 = sqlx::query_scalar(
                "INSERT INTO analyses (tenant_id, repository_id, status, created_at, location) \
                 VALUES ($1, $2, 'queued', $3, $4) RETURNING id",
            )
            .bind(tenant_id)
            .bind(repository_id)
            .bind(now)
            .bind(payload["path"].as_str())
            .fetch_one(&mut *tx)
            .await?;
            let mut payload = payload.clone();
            payload["analysis_id"] = analysis.into();
            let job: i64 = sqlx::query_scalar(
                "INSERT INTO jobs (tenant_id, kind, payload, status, run_after, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'queued', $4, $4, $4) RETURNING id",
            )
            .bind(tenant_id)
            .bind(ANALYSIS_JOB)
            .bind(payload.to_string())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("UPDATE analyses SET job_id = $1 WHERE id = $2")
                .bind(job)
                .bind(analysis)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok((analysis, job))
        })
    }

    /// The tenant's analysis `id`; `None` for another tenant's.
    pub async fn analysis(
        &self,
        tenant_id: i64,
        id: i64,
    ) -> Result<Option<AnalysisRecord>, StoreError> {
        let sql = format!(
            "SELECT {ANALYSIS_COLUMNS} FROM analyses a LEFT JOIN repositories r ON r.id = a.repository_id \
             WHERE a.id = $1 AND a.tenant_id = $2"
        );
        on_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(tenant_id).fetch_optional(pool).await?;
            row.map(|r| Ok(analysis_from!(r))).transpose()
        })
    }

    /// The tenant's analyses, newest first, `after` (an id) for the next page.
    pub async fn analyses(
        &self,
        tenant_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AnalysisRecord>, StoreError> {
        let sql = format!(
            "SELECT {ANALYSIS_COLUMNS} FROM analyses a LEFT JOIN repositories r ON r.id = a.repository_id \
             WHERE a.tenant_id = $1 AND ($2 IS NULL OR a.id < $2) ORDER BY a.id DESC LIMIT $3"
        );
        on_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id).bind(before).bind(limit).fetch_all(pool).await?;
            rows.iter().map(|r| Ok(analysis_from!(r))).collect()
        })
    }

    /// The newest finished analysis of the tenant with this content, if any.
    pub async fn analysis_with_content(
        &self,
        tenant_id: i64,
        content_hash: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM analyses WHERE tenant_id = $1 AND content_hash = $2 AND status = 'done' \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(tenant_id)
        .bind(content_hash)
        .fetch_optional(pool)
        .await?))
    }

    /// Status and progress of an analysis, written by its worker. A finished analysis
    /// (`done`, `failed`) is never changed again, so a late progress update cannot undo
    /// its completion.
    pub async fn set_analysis_state(
        &self,
        id: i64,
        status: &str,
        progress: f64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        on_pool!(self, pool => sqlx::query(
            "UPDATE analyses SET status = $1, progress = $2, error = $3, \
                 started_at = CASE WHEN $1 = 'running' AND started_at IS NULL THEN $4 ELSE started_at END, \
                 finished_at = CASE WHEN $1 IN ('done', 'failed') THEN $4 ELSE finished_at END \
             WHERE id = $5 AND status NOT IN ('done', 'failed')",
        )
        .bind(status)
        .bind(progress)
        .bind(error)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())?);
        Ok(())
    }

    /// Stores the results of analysis `id` and completes its job, in one transaction,
    /// only if `owner` still holds the job's lease. `false` (nothing written) when it
    /// does not: another worker took the job over.
    pub async fn finish_analysis(
        &self,
        job_id: i64,
        owner: &str,
        id: i64,
        result: &AnalysisResult<'_>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let held = sqlx::query(
                "UPDATE jobs SET status = 'done', progress = 1, lease_owner = NULL, lease_expires_at = NULL, updated_at = $1 \
                 WHERE id = $2 AND lease_owner = $3 AND status = 'running'",
            )
            .bind(now)
            .bind(job_id)
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if held != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            // A retried job may have left nothing behind (results are written only here),
            // but clear anyway so a result is never stored twice.
            sqlx::query("DELETE FROM findings WHERE analysis_id = $1").bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM components WHERE analysis_id = $1").bind(id).execute(&mut *tx).await?;
            for chunk in result.components.chunks(BATCH) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO components (analysis_id, path, kind, name, start_line, end_line, metrics) ",
                );
                qb.push_values(chunk, |mut b, c| {
                    b.push_bind(id)
                        .push_bind(&c.path)
                        .push_bind(&c.kind)
                        .push_bind(&c.name)
                        .push_bind(c.start_line.map(|l| i32::try_from(l).unwrap_or(i32::MAX)))
                        .push_bind(c.end_line.map(|l| i32::try_from(l).unwrap_or(i32::MAX)))
                        .push_bind(&c.metrics);
                });
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in result.findings.chunks(BATCH) {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO findings (analysis_id, rule_id, severity, path, line, message, fingerprint, suppressed) ",
                );
                qb.push_values(chunk, |mut b, f| {
                    b.push_bind(id)
                        .push_bind(&f.rule_id)
                        .push_bind(&f.severity)
                        .push_bind(&f.path)
                        .push_bind(i32::try_from(f.line).unwrap_or(i32::MAX))
                        .push_bind(&f.message)
                        .push_bind(&f.fingerprint)
                        .push_bind(f.suppressed);
                });
                qb.build().execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE analyses SET status = 'done', progress = 1, summary = $1, report = $2, content_hash = $3, \
                     error = NULL, finished_at = $4 WHERE id = $5",
            )
            .bind(result.summary)
            .bind(result.report)
            .bind(result.content_hash)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The full JSON report of the tenant's analysis `id`, when it is done.
    pub async fn analysis_report(
        &self,
        tenant_id: i64,
        id: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "SELECT report FROM analyses WHERE id = $1 AND tenant_id = $2",
        )
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await?)
        .flatten())
    }

    /// Findings of an analysis (the caller checked the tenant), by id, filtered.
    pub async fn findings(
        &self,
        analysis_id: i64,
        f: &FindingFilter,
    ) -> Result<Vec<FindingRecord>, StoreError> {
        on_pool!(self, pool => {
            let sql = format!(
                "SELECT f.id, f.rule_id, f.severity, f.path, f.line, f.message, f.fingerprint, f.suppressed, \
                        d.feedback_id AS dismissed_by, d.reason AS dismissed_reason \
                 FROM findings f JOIN analyses a ON a.id = f.analysis_id \
                 LEFT JOIN dismissals d ON d.tenant_id = a.tenant_id AND d.fingerprint = f.fingerprint \
                   AND d.scope = {SCOPE_SQL} \
                 WHERE f.analysis_id = $1 AND f.id > $2 AND ($3 IS NULL OR f.severity = $3) \
                   AND ($4 IS NULL OR f.rule_id = $4) AND ($5 IS NULL OR f.path = $5) \
                   AND ($7 OR d.feedback_id IS NULL) \
                 ORDER BY f.id LIMIT $6"
            );
            let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(analysis_id)
            .bind(f.after)
            .bind(&f.severity)
            .bind(&f.rule)
            .bind(&f.path)
            .bind(f.limit)
            .bind(f.include_dismissed)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok(FindingRecord {
                    dismissal: match r.try_get::<Option<i64>, _>("dismissed_by")? {
                        Some(feedback_id) => Some(FindingDismissal {
                            feedback_id,
                            reason: r.try_get("dismissed_reason")?,
                        }),
                        None => None,
                    },
                    id: r.try_get("id")?,
                    finding: NewFinding {
                        rule_id: r.try_get("rule_id")?,
                        severity: r.try_get("severity")?,
                        path: r.try_get("path")?,
                        line: i64::from(r.try_get::<i32, _>("line")?),
                        message: r.try_get("message")?,
                        fingerprint: r.try_get("fingerprint")?,
                        suppressed: r.try_get("suppressed")?,
                    },
                }))
                .collect()
        })
    }

    /// Components of an analysis (the caller checked the tenant), by id.
    pub async fn components(
        &self,
        analysis_id: i64,
        kind: Option<&str>,
        path: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ComponentRecord>, StoreError> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, path, kind, name, start_line, end_line, metrics FROM components \
                 WHERE analysis_id = $1 AND id > $2 AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR path = $4) \
                 ORDER BY id LIMIT $5",
            )
            .bind(analysis_id)
            .bind(after)
            .bind(kind)
            .bind(path)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| Ok(ComponentRecord {
                    id: r.try_get("id")?,
                    component: NewComponent {
                        path: r.try_get("path")?,
                        kind: r.try_get("kind")?,
                        name: r.try_get("name")?,
                        start_line: r.try_get::<Option<i32>, _>("start_line")?.map(i64::from),
                        end_line: r.try_get::<Option<i32>, _>("end_line")?.map(i64::from),
                        metrics: r.try_get::<Option<String>, _>("metrics")?.unwrap_or_default(),
                    },
                }))
                .collect()
        })
    }
}

impl Database {
    /// Where the tenant's analysis `id` read its files (the repository's directory).
    pub async fn analysis_location(
        &self,
        tenant_id: i64,
        id: i64,
    ) -> Result<Option<String>, StoreError> {
        let location: Option<Option<String>> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COALESCE(a.location, r.location) FROM analyses a \
             LEFT JOIN repositories r ON r.id = a.repository_id \
             WHERE a.id = $1 AND a.tenant_id = $2",
        )
        .bind(id)
        .bind(tenant_id)
        .fetch_optional(pool)
        .await?);
        Ok(location.flatten())
    }
}
