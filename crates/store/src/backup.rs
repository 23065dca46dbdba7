//! What backups read and write in the stores: row counts (a backup's manifest, and the
//! check that a restore lost nothing), an online-safe copy of the SQLite file, and Redis'
//! keys with their TTLs (`DUMP`/`RESTORE`, so a restore needs no Redis restart).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;

use sqlx::{AssertSqlSafe, Row};

use crate::{Database, StoreError};

impl Database {
    /// Rows per table of this database's schema (the migrations' bookkeeping included).
    pub async fn row_counts(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let tables: Vec<String> = match self {
            Database::Sqlite(pool) => sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
            Database::Postgres(pool) => sqlx::query(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
            )
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
        };
        let mut counts = BTreeMap::new();
        for t in tables {
            // Names come from the catalogue; quoted all the same.
            let sql = format!("SELECT COUNT(*) FROM \"{}\"", t.replace('"', "\"\""));
            let n: i64 = on_pool!(self, pool => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await?);
            counts.insert(t, n);
        }
        Ok(counts)
    }

    /// A statement outside any transaction (`CREATE DATABASE`, `DROP DATABASE`), on
    /// PostgreSQL; the caller builds it from names it made itself.
    pub async fn execute_admin(&self, sql: &str) -> Result<(), StoreError> {
        let Database::Postgres(pool) = self else {
            return Err(StoreError::Invalid("not a PostgreSQL database".into()));
        };
        sqlx::query(AssertSqlSafe(sql.to_string()))
            .execute(pool)
            .await?;
        Ok(())
    }

    /// The PostgreSQL schema the tables live in (`public` unless the URL sets a search path).
    pub async fn current_schema(&self) -> Result<Option<String>, StoreError> {
        match self {
            Database::Sqlite(_) => Ok(None),
            Database::Postgres(pool) => Ok(Some(
                sqlx::query_scalar::<_, String>("SELECT current_schema()::text")
                    .fetch_one(pool)
                    .await?,
            )),
        }
    }

    /// A consistent copy of the embedded database while it is in use (`VACUUM INTO`).
    pub async fn sqlite_snapshot(&self, to: &Path) -> Result<(), StoreError> {
        let Database::Sqlite(pool) = self else {
            return Err(StoreError::Invalid(
                "an SQLite snapshot of a PostgreSQL database: use pg_dump".into(),
            ));
        };
        let path = to.to_string_lossy().replace('\'', "''");
        sqlx::query(AssertSqlSafe(format!("VACUUM INTO '{path}'")))
            .execute(pool)
            .await?;
        Ok(())
    }
}

/// A PostgreSQL snapshot held open for `pg_dump --snapshot`: the dump and the row
/// counts recorded with it see exactly the same data, however busy the database is.
pub struct PgSnapshot {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    /// For `pg_dump --snapshot`.
    pub id: String,
    pub schema: String,
    pub counts: BTreeMap<String, i64>,
}

impl PgSnapshot {
    /// Ends the snapshot (once the dump that uses it is done).
    pub async fn end(self) {
        let _ = self.tx.rollback().await;
    }
}

impl Database {
    /// Opens a repeatable-read snapshot, exports it and counts the rows it sees.
    pub async fn pg_snapshot(&self) -> Result<PgSnapshot, StoreError> {
        let Database::Postgres(pool) = self else {
            return Err(StoreError::Invalid(
                "a PostgreSQL snapshot of SQLite".into(),
            ));
        };
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *tx)
            .await?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(&mut *tx)
            .await?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut counts = BTreeMap::new();
        for t in tables {
            let sql = format!("SELECT COUNT(*) FROM \"{}\"", t.replace('"', "\"\""));
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(&mut *tx)
                .await?;
            counts.insert(t, n);
        }
        Ok(PgSnapshot {
            tx,
            id,
            schema,
            counts,
        })
    }
}

fn io(what: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Invalid(format!("{}: {e}", what.display()))
}

fn redis_error(e: redis::RedisError) -> StoreError {
    StoreError::Invalid(format!("redis: {e}"))
}

/// Writes every key of the Redis at `url` to `to`, one line each: key, TTL in ms (-1:
/// none) and the `DUMP` payload, hex-encoded and tab-separated. Returns the key count.
pub async fn redis_dump(url: &str, to: &Path) -> Result<u64, StoreError> {
    let client = redis::Client::open(url).map_err(redis_error)?;
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .map_err(redis_error)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(to).map_err(io(to))?);
    let mut cursor: u64 = 0;
    let mut n = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(500)
            .query_async(&mut con)
            .await
            .map_err(redis_error)?;
        for key in keys {
            let payload: Option<Vec<u8>> = redis::cmd("DUMP")
                .arg(&key)
                .query_async(&mut con)
                .await
                .map_err(redis_error)?;
            // Expired between SCAN and DUMP.
            let Some(payload) = payload else { continue };
            let ttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut con)
                .await
                .map_err(redis_error)?;
            if ttl == -2 {
                continue;
            }
            writeln!(out, "{}\t{ttl}\t{}", hex(&key), hex(&payload)).map_err(io(to))?;
            n += 1;
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    out.flush().map_err(io(to))?;
    Ok(n)
}

/// Reads a [`redis_dump`] file: the number of keys, or where it is malformed.
pub fn redis_dump_keys(from: &Path) -> Result<u64, StoreError> {
    let mut n = 0;
    for (i, line) in std::io::BufReader::new(std::fs::File::open(from).map_err(io(from))?)
        .lines()
        .enumerate()
    {
        parse_line(&line.map_err(io(from))?)
            .map_err(|e| StoreError::Invalid(format!("line {}: {e}", i + 1)))?;
        n += 1;
    }
    Ok(n)
}

/// Restores a [`redis_dump`] file into the Redis at `url` (`RESTORE … REPLACE`, with the
/// TTL each key had left). Returns the key count.
pub async fn redis_restore(url: &str, from: &Path) -> Result<u64, StoreError> {
    let client = redis::Client::open(url).map_err(redis_error)?;
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .map_err(redis_error)?;
    let mut n = 0;
    for (i, line) in std::io::BufReader::new(std::fs::File::open(from).map_err(io(from))?)
        .lines()
        .enumerate()
    {
        let (key, ttl, payload) = parse_line(&line.map_err(io(from))?)
            .map_err(|e| StoreError::Invalid(format!("line {}: {e}", i + 1)))?;
        let () = redis::cmd("RESTORE")
            .arg(key)
            .arg(ttl.max(0))
            .arg(payload)
            .arg("REPLACE")
            .query_async(&mut con)
            .await
            .map_err(redis_error)?;
        n += 1;
    }
    Ok(n)
}

fn parse_line(line: &str) -> Result<(Vec<u8>, i64, Vec<u8>), String> {
    let mut parts = line.split('\t');
    let (Some(k), Some(t), Some(p), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected key, TTL and payload".into());
    };
    let ttl: i64 = t
        .parse()
        .map_err(|_| format!("TTL `{t}` is not a number"))?;
    Ok((unhex(k)?, ttl, unhex(p)?))
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s).map_err(|e| format!("not hex: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_round_trips_and_bad_lines_are_named() {
        let bytes = [0u8, 1, 0x7f, 0xff, b'a'];
        assert_eq!(super::unhex(&super::hex(&bytes)).unwrap(), bytes);
        assert!(super::parse_line("6b\t-1\t00").is_ok());
        assert!(super::parse_line("6b\tx\t00").unwrap_err().contains("TTL"));
        assert!(super::parse_line("6b\t1").is_err());
        assert!(super::parse_line("zz\t1\t00").is_err());
    }
}
