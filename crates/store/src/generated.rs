//! Generated tests and their validation runs (`generated_tests`, `test_runs`): what the test
//! generator kept for a target, with its coverage and mutation score, and each run of it.

use serde::Serialize;
use sqlx::Row;

use crate::{Database, StoreError, now_ms};

/// One generation for a target, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedTests {
    pub id: i64,
    pub analysis_id: Option<i64>,
    pub target: String,
    pub framework: String,
    pub code: String,
    /// `validated` (kept tests), `nothing_kept` or `failed`.
    pub status: String,
    /// Line coverage (percent) of the target's module by the kept tests.
    pub coverage: Option<f64>,
    /// Killed / run mutants of the target, in [0, 1].
    pub mutation_score: Option<f64>,
    pub created_at: i64,
    pub runs: Vec<TestRun>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestRun {
    /// `passed` or `failed`.
    pub outcome: String,
    pub duration_ms: i64,
    pub output: Option<String>,
}

pub struct NewGeneratedTests<'a> {
    pub tenant_id: i64,
    pub analysis_id: Option<i64>,
    pub target: &'a str,
    pub framework: &'a str,
    pub code: &'a str,
    pub status: &'a str,
    pub coverage: Option<f64>,
    pub mutation_score: Option<f64>,
}

impl Database {
    /// Stores a generation and its validation runs in one transaction.
    pub async fn record_generated_tests(
        &self,
        new: &NewGeneratedTests<'_>,
        runs: &[TestRun],
    ) -> Result<i64, StoreError> {
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO generated_tests (tenant_id, analysis_id, target, framework, code, status, coverage_gain, mutation_score, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(new.tenant_id)
            .bind(new.analysis_id)
            .bind(new.target)
            .bind(new.framework)
            .bind(new.code)
            .bind(new.status)
            .bind(new.coverage)
            .bind(new.mutation_score)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for run in runs {
                sqlx::query(
                    "INSERT INTO test_runs (generated_test_id, outcome, duration_ms, output, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(&run.outcome)
                .bind(run.duration_ms)
                .bind(&run.output)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    /// A tenant's generation by id, with its runs; `None` for another tenant's.
    pub async fn generated_tests(
        &self,
        tenant_id: i64,
        id: i64,
    ) -> Result<Option<GeneratedTests>, StoreError> {
        on_pool!(self, pool => {
            let Some(r) = sqlx::query(
                "SELECT id, analysis_id, target, framework, code, status, coverage_gain, mutation_score, created_at \
                 FROM generated_tests WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            let runs = sqlx::query("SELECT outcome, duration_ms, output FROM test_runs WHERE generated_test_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok(TestRun {
                        outcome: r.try_get("outcome")?,
                        duration_ms: r.try_get("duration_ms")?,
                        output: r.try_get("output")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            Ok(Some(GeneratedTests {
                id: r.try_get("id")?,
                analysis_id: r.try_get("analysis_id")?,
                target: r.try_get("target")?,
                framework: r.try_get("framework")?,
                code: r.try_get("code")?,
                status: r.try_get("status")?,
                coverage: r.try_get("coverage_gain")?,
                mutation_score: r.try_get("mutation_score")?,
                created_at: r.try_get("created_at")?,
                runs,
            }))
        })
    }
}
