//! qa-agent's system of record: PostgreSQL (`DATABASE_URL=postgres://...`) or, by default,
//! an embedded SQLite file, behind one API so callers never ask which.
//!
//! Migrations are embedded in the binary, one directory per backend
//! (`migrations/{sqlite,postgres}`), additive only. A service tolerates migrations newer
//! than it knows (applied by a newer release), so a rollback keeps working.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Row, SqlitePool};

/// The embedded database file inside the data directory.
pub const SQLITE_FILE: &str = "qa-agent.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL `{0}`: use postgres://USER@HOST:PORT/DB, or leave DATABASE_URL unset for the embedded SQLite file"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "unsupported Redis URL `{0}`: use redis://HOST:6379 (or rediss:// for TLS), or leave REDIS_URL unset for the in-process store"
    )]
    UnsupportedRedisUrl(String),
    #[error("Redis error: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the database could not be reached (try again later), as opposed to a
    /// request it refused.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect(_) => true,
            StoreError::Query(e) => matches!(
                e,
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Tls(_)
            ),
            StoreError::Redis(e) => {
                e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
            }
            _ => false,
        }
    }
}

/// Runs the same code on whichever pool `db` holds. SQL written for both backends uses
/// `$1, $2, ...` placeholders in order, which SQLite reads as positional too.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Database::Sqlite($pool) => $body,
            Database::Postgres($pool) => $body,
        }
    };
}

mod accounts;
mod analyses;
mod backup;
mod conversations;
mod ephemeral;
mod generated;
mod jobs;
mod learning;
mod operations;
mod ownership;
mod report;
mod traces;

pub use accounts::{
    ApiKeyInfo, AuditEntry, AuditRecord, Bootstrap, KeyCheck, Principal, Role, Tenant, User,
    generate_api_key, hash_api_key,
};
pub use analyses::{
    ANALYSIS_JOB, AnalysisRecord, AnalysisResult, ComponentRecord, FindingDismissal, FindingFilter,
    FindingRecord, NewComponent, NewFinding,
};
pub use backup::{PgSnapshot, redis_dump, redis_dump_keys, redis_restore};
pub use conversations::{Conversation, MessageRecord, NewFeedback, StoredEvent};
pub use ephemeral::{Ephemeral, Event, RESYNC};
pub use generated::{GeneratedTests, NewGeneratedTests, TestRun};
pub use jobs::{Job, MAX_ATTEMPTS};
pub use learning::{
    Dismissal, FeedbackEffect, FeedbackRow, FindingSubject, LearningCounts, ProcessedBatch,
    scope_of,
};
pub use operations::{FeedbackBacklog, MaintenanceStep, Specialist};
pub use ownership::Owned;
pub use report::PeriodReport;
pub use traces::{FinishedTrace, LearnedSnapshot, TraceRecord};

/// A connection pool to one of the two backends.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Connections of the pool, for `/health/detailed` and the pool gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl Database {
    /// Opens `url` (`postgres://...`, or `sqlite://PATH`) with at most `pool_size`
    /// connections, and checks that it answers.
    pub async fn connect(url: &str, pool_size: u32) -> Result<Database, StoreError> {
        let db = Self::connect_lazy(url, pool_size).await?;
        on_pool!(&db, pool => {
            sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map_err(StoreError::Connect)?;
        });
        Ok(db)
    }

    /// As [`Database::connect`], without waiting for PostgreSQL to answer: a service
    /// starts while it is down, reports it in its health, and recovers when it is back.
    pub async fn connect_lazy(url: &str, pool_size: u32) -> Result<Database, StoreError> {
        let pool_size = pool_size.max(1);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(StoreError::Connect)?;
            let pool = PgPoolOptions::new()
                .max_connections(pool_size)
                .acquire_timeout(Duration::from_secs(3))
                .connect_lazy_with(options);
            Ok(Database::Postgres(pool))
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Self::sqlite(Path::new(path), pool_size).await
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }

    /// The configured database: `url` (PostgreSQL lazily, see [`Database::connect_lazy`])
    /// when set, else the embedded default in `data_dir`.
    pub async fn open(
        url: Option<&str>,
        data_dir: &Path,
        pool_size: u32,
    ) -> Result<Database, StoreError> {
        match url {
            Some(url) => Self::connect_lazy(url, pool_size).await,
            None => Self::embedded(data_dir, pool_size).await,
        }
    }

    /// The embedded default: `qa-agent.db` in `data_dir`, created if needed.
    pub async fn embedded(data_dir: &Path, pool_size: u32) -> Result<Database, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::DataDir(data_dir.to_path_buf(), e))?;
        Self::sqlite(&data_dir.join(SQLITE_FILE), pool_size.max(1)).await
    }

    async fn sqlite(path: &Path, pool_size: u32) -> Result<Database, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // Readers do not block the writer; foreign keys are off by default in SQLite.
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode, NORMAL syncs at checkpoints instead of at every commit: a
            // killed process loses nothing committed (the WAL is in the OS's hands), only
            // a power cut or OS crash can lose the last commits, never corrupt the file.
            // FULL put an fsync in every conversation event: 64 ms p95 to first step
            // under 20 turns/s (docs/measurements.md), NORMAL 51 ms.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(pool_size)
            .connect_with(options)
            .await
            .map_err(StoreError::Connect)?;
        Ok(Database::Sqlite(pool))
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    /// Applies the migrations this release knows that are not applied yet, and returns
    /// how many it applied. Migrations applied by a newer release are left alone.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let mut migrator: Migrator = match self {
            Database::Sqlite(_) => sqlx::migrate!("./migrations/sqlite"),
            Database::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.set_ignore_missing(true);
        let before = self.applied_migrations().await.unwrap_or(0);
        on_pool!(self, pool => migrator.run(pool).await?);
        let after = self.applied_migrations().await?;
        Ok(after.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> Result<usize, StoreError> {
        const SQL: &str = "SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success";
        let n: i64 = on_pool!(self, pool => sqlx::query(SQL).fetch_one(pool).await?.try_get("n")?);
        Ok(n as usize)
    }

    /// A round trip to the database (callers time it, with their own timeout).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub fn pool_status(&self) -> PoolStatus {
        let (size, idle, max) =
            on_pool!(self, p => (p.size(), p.num_idle(), p.options().get_max_connections()));
        PoolStatus {
            size,
            idle: idle as u32,
            max,
        }
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }
}

/// A unique-constraint violation becomes [`StoreError::Conflict`].
pub(crate) fn conflict(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    if e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
    {
        StoreError::Conflict(what())
    } else {
        StoreError::Query(e)
    }
}

/// Milliseconds since the Unix epoch, the unit of every stored time.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The URL without its password, for error messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_echoed() {
        assert_eq!(
            redact("mysql://u:secret@db:3306/x"),
            "mysql://u:***@db:3306/x"
        );
        assert_eq!(redact("mysql://db/x"), "mysql://db/x");
    }
}
