//! The same repository suite on the embedded SQLite file and on a real PostgreSQL
//! (`QA_AGENT_TEST_DATABASE_URL`, set by `.ci/run`; each run gets its own schema).
//! Without that variable the PostgreSQL leg is skipped with a message, except in CI,
//! where a skipped external test is an error.

use qa_store::{Database, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor};
use std::str::FromStr;

const TABLES: &[&str] = &[
    "tenants",
    "users",
    "api_keys",
    "audit_log",
    "repositories",
    "analyses",
    "components",
    "findings",
    "jobs",
    "conversations",
    "messages",
    "reasoning_traces",
    "generated_tests",
    "test_runs",
    "feedback",
    "learning_events",
    "learned_state_snapshots",
    "settings",
    "specialists",
];

async fn suite(db: &Database) {
    // A fresh database gets every migration; a second run applies nothing.
    assert!(db.migrate().await.unwrap() >= 1, "{}", db.backend());
    assert_eq!(db.migrate().await.unwrap(), 0, "{}", db.backend());
    assert!(db.ping().await.is_ok());
    // Every table the services and later features write to exists, empty.
    for table in TABLES {
        let sql = AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        let n: i64 = match db {
            Database::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Database::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("{}: table {table}: {e}", db.backend()));
        assert_eq!(n, 0, "{table}");
    }

    let acme = db.create_tenant("acme").await.unwrap();
    assert_eq!(acme.name, "acme");
    assert!(acme.created_at > 0);
    assert_eq!(db.tenant_by_name("acme").await.unwrap(), Some(acme.clone()));
    assert_eq!(db.tenant_by_name("nobody").await.unwrap(), None);
    // The same name twice is a conflict the caller can report, not a bare SQL error.
    match db.create_tenant("acme").await {
        Err(StoreError::Conflict(what)) => assert!(what.contains("acme")),
        other => panic!("{}: expected a conflict, got {other:?}", db.backend()),
    }
    let other = db.create_tenant("globex").await.unwrap();
    assert_ne!(other.id, acme.id);

    // A migration applied by a newer release (unknown here) does not stop this one:
    // that is what makes a rollback possible.
    match db {
        Database::Sqlite(pool) => {
            pool.execute(
                "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
                 VALUES (99990101000000, 'from a newer release', CURRENT_TIMESTAMP, TRUE, X'00', 1)",
            )
            .await
            .unwrap();
        }
        Database::Postgres(pool) => {
            pool.execute(
                "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
                 VALUES (99990101000000, 'from a newer release', now(), TRUE, '\\x00'::bytea, 1)",
            )
            .await
            .unwrap();
        }
    }
    assert_eq!(db.migrate().await.unwrap(), 0, "{}", db.backend());

    jobs_are_claimed_once(db).await;
    generated_tests_are_kept_per_tenant(db, acme.id, other.id).await;

    let status = db.pool_status();
    assert!(status.max >= 1 && status.size <= status.max);
}

#[tokio::test]
async fn repository_suite_on_embedded_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::embedded(&dir.path().join("data"), 4)
        .await
        .unwrap();
    assert_eq!(db.backend(), "sqlite");
    suite(&db).await;
    db.close().await;
    // The data survives a reopen.
    let db = Database::embedded(&dir.path().join("data"), 4)
        .await
        .unwrap();
    assert!(db.tenant_by_name("acme").await.unwrap().is_some());
}

#[tokio::test]
async fn repository_suite_on_postgres() {
    let Some(url) = std::env::var("QA_AGENT_TEST_DATABASE_URL").ok() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "QA_AGENT_TEST_DATABASE_URL is not set in CI (.ci/run sets it)"
        );
        eprintln!("SKIPPED: PostgreSQL leg (set QA_AGENT_TEST_DATABASE_URL to run it)");
        return;
    };
    // A schema of its own, dropped afterwards, so runs never see each other's rows.
    let schema = format!("qa_store_test_{}", std::process::id());
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    admin
        .execute(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .await
        .unwrap();
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    let db = Database::Postgres(pool);
    suite(&db).await;
    db.close().await;
    admin
        .execute(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_urls_and_unreachable_servers_are_clear_errors() {
    let e = Database::connect("mysql://u:secret@db/x", 2)
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("unsupported database URL") && !msg.contains("secret"),
        "{msg}"
    );
    // Nothing listens on port 1.
    let e = Database::connect("postgres://u@127.0.0.1:1/x", 1)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot connect"), "{e}");
}

/// Workers racing for jobs each get different ones, every job is claimed exactly once,
/// and a lease that expired is claimed again.
async fn jobs_are_claimed_once(db: &Database) {
    const JOBS: usize = 24;
    for i in 0..JOBS {
        db.enqueue_job(None, "race", &format!("{{\"n\": {i}}}"))
            .await
            .unwrap();
    }
    let mut workers = Vec::new();
    for w in 0..4 {
        let db = db.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = db
                .claim_job("race", &format!("w{w}"), 60_000)
                .await
                .unwrap()
            {
                assert!(
                    db.renew_job(job.id, &format!("w{w}"), 60_000, 0.5)
                        .await
                        .unwrap()
                );
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut claimed = Vec::new();
    for w in workers {
        claimed.extend(w.await.unwrap());
    }
    claimed.sort();
    let before = claimed.len();
    claimed.dedup();
    assert_eq!((before, claimed.len()), (JOBS, JOBS), "{}", db.backend());
    assert_eq!(db.queued_jobs("race").await.unwrap(), 0);

    // A lease that ran out: the job is claimable again, and only its new holder may
    // renew or fail it.
    let id = db.enqueue_job(None, "lease", "{}").await.unwrap();
    let first = db.claim_job("lease", "a", 1).await.unwrap().unwrap();
    assert_eq!(first.id, id);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let second = db.claim_job("lease", "b", 60_000).await.unwrap().unwrap();
    assert_eq!((second.id, second.attempts), (id, 2));
    assert!(!db.renew_job(id, "a", 60_000, 0.1).await.unwrap());
    assert_eq!(db.fail_job(id, "a", "late", 0).await.unwrap(), None);
    assert_eq!(
        db.fail_job(id, "b", "boom", 0).await.unwrap().as_deref(),
        Some("queued")
    );
    let third = db.claim_job("lease", "c", 60_000).await.unwrap().unwrap();
    assert_eq!(third.attempts, 3);
    assert_eq!(third.last_error.as_deref(), Some("boom"));
    // The last attempt failing fails the job for good.
    assert_eq!(
        db.fail_job(id, "c", "boom", 0).await.unwrap().as_deref(),
        Some("failed")
    );
    assert!(db.claim_job("lease", "d", 60_000).await.unwrap().is_none());

    // A job whose worker dies on every attempt is not claimed a fourth time (it would
    // crash-loop every replica): it is failed.
    let id = db.enqueue_job(None, "crash", "{}").await.unwrap();
    for attempt in 1..=3 {
        let job = db.claim_job("crash", "w", 1).await.unwrap().unwrap();
        assert_eq!((job.id, job.attempts), (id, attempt));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(db.claim_job("crash", "w", 1).await.unwrap().is_none());
    assert_eq!(db.fail_abandoned_jobs("crash").await.unwrap(), vec![id]);
    assert_eq!(db.job(id).await.unwrap().unwrap().status, "failed");

    // A worker shutting down hands its job back without spending an attempt.
    let id = db.enqueue_job(None, "drain", "{}").await.unwrap();
    db.claim_job("drain", "w", 60_000).await.unwrap().unwrap();
    assert!(db.release_job(id, "w").await.unwrap());
    let again = db.claim_job("drain", "v", 60_000).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (id, 1));
}

/// A generation with its validation runs reads back whole, and only for its tenant.
async fn generated_tests_are_kept_per_tenant(db: &Database, tenant: i64, stranger: i64) {
    let runs: Vec<qa_store::TestRun> = (0..5)
        .map(|i| qa_store::TestRun {
            outcome: "passed".into(),
            duration_ms: 100 + i,
            output: Some("3 candidate tests, 0 failed (dropped)".into()),
        })
        .collect();
    let id = db
        .record_generated_tests(
            &qa_store::NewGeneratedTests {
                tenant_id: tenant,
                analysis_id: None,
                target: "Cart.total",
                framework: "pytest",
                code: "def test_total():\n    assert Cart().total([]) == 0\n",
                status: "validated",
                coverage: Some(87.5),
                mutation_score: Some(0.75),
            },
            &runs,
        )
        .await
        .unwrap();
    let g = db
        .generated_tests(tenant, id)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        (g.target.as_str(), g.status.as_str()),
        ("Cart.total", "validated"),
        "{}",
        db.backend()
    );
    assert_eq!((g.coverage, g.mutation_score), (Some(87.5), Some(0.75)));
    assert_eq!(g.runs.len(), 5);
    assert_eq!(g.runs[4].duration_ms, 104);
    assert!(
        db.generated_tests(stranger, id).await.unwrap().is_none(),
        "another tenant's"
    );
}
