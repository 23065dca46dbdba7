//! `qa-agent backup`, `verify-backup` and `restore`: the database (`pg_dump` custom
//! format from an exported snapshot on PostgreSQL; `VACUUM INTO` of the embedded SQLite
//! file), Redis' keys with their TTLs, the learned models (`models_dir`) and the
//! configuration, with a manifest of row counts and SHA-256 checksums.
//!
//! A backup is a directory `qa-agent-<UTC time>/` written as `….partial` and renamed when
//! complete, so a crash never leaves something that looks like a backup.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use qa_store::Database;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ServerConfig;

pub const MANIFEST: &str = "manifest.json";
const FORMAT: u32 = 1;
const PG_DUMP: &str = "database.dump";
const SQLITE_COPY: &str = "database.sqlite";
const REDIS_KEYS: &str = "redis.keys";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Store(#[from] qa_store::StoreError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Tool(String),
    #[error("{0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub qa_agent_version: String,
    /// Unix seconds.
    pub created_at: i64,
    pub database: DatabasePart,
    pub redis: Option<RedisPart>,
    /// Files of `models_dir` included (the knowledge index, the exported snapshot).
    pub models: u64,
    /// Every file of the backup but the manifest, with its size and SHA-256.
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DatabasePart {
    /// `postgres` or `sqlite`.
    pub backend: String,
    /// The PostgreSQL schema dumped.
    pub schema: Option<String>,
    pub file: String,
    /// Rows per table, as the dump holds them.
    pub tables: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RedisPart {
    pub file: String,
    pub keys: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `pg_dump`/`pg_restore` for `url`: the password goes in `PGPASSWORD`, never on the
/// command line where `ps` shows it, and libpq's `options` (the search path) is dropped.
fn libpq(program: &str, url: &str) -> Command {
    let mut cmd = Command::new(program);
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            if let Some(password) = u.password() {
                let password = percent_encoding::percent_decode_str(password).decode_utf8_lossy();
                cmd.env("PGPASSWORD", password.as_ref());
                let _ = u.set_password(None);
            }
            cmd.env("QA_AGENT_LIBPQ_URL", replace_options(u, Vec::new()));
        }
        Err(_) => {
            cmd.env("QA_AGENT_LIBPQ_URL", url);
        }
    }
    cmd
}

/// The `--dbname=` argument of a [`libpq`] command.
fn dbname(cmd: &Command) -> String {
    let url = cmd
        .get_envs()
        .find(|(k, _)| *k == "QA_AGENT_LIBPQ_URL")
        .and_then(|(_, v)| v)
        .map(|v| v.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("--dbname={url}")
}

/// The dump's table of contents without its `SCHEMA` entry, for restoring the `public`
/// schema: `--clean` would otherwise drop `public` itself, which fails as soon as an
/// extension (pg_stat_statements) lives in it, and a new database has `public` already.
fn toc_without_schema(dump: &Path, scratch: &Path) -> Result<PathBuf, BackupError> {
    let out = Command::new("pg_restore")
        .arg("--list")
        .arg(dump)
        .output()
        .map_err(|e| BackupError::Tool(format!("cannot run pg_restore: {e}")))?;
    if !out.status.success() {
        return Err(BackupError::Tool(format!(
            "pg_restore --list failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let list: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains(" SCHEMA - "))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = scratch.join("restore.list");
    std::fs::write(&path, list).map_err(io(&path))?;
    Ok(path)
}

/// `pg_restore` of the backup in `dir` into `url` with `flags` (stopping at the first
/// error), without the `public` schema's own entry (see [`toc_without_schema`]).
fn pg_restore(
    url: &str,
    flags: &[&str],
    dir: &Path,
    manifest: &Manifest,
) -> Result<(), BackupError> {
    let mut cmd = libpq("pg_restore", url);
    let target = dbname(&cmd);
    cmd.args(flags)
        .arg("--no-owner")
        .arg("--exit-on-error")
        .arg(target);
    let scratch = tempdir(dir)?;
    let listed = if manifest.database.schema.as_deref() == Some("public") {
        toc_without_schema(&dir.join(PG_DUMP), &scratch).map(|list| {
            cmd.arg(format!("--use-list={}", list.display()));
        })
    } else {
        Ok(())
    };
    let restored = listed.and_then(|()| run(cmd.arg(dir.join(PG_DUMP)), "pg_restore"));
    let _ = std::fs::remove_dir_all(&scratch);
    restored
}

/// Runs a command; its stderr is the error when it fails.
fn run(cmd: &mut Command, what: &str) -> Result<(), BackupError> {
    let out = cmd.output().map_err(|e| {
        BackupError::Tool(format!(
            "cannot run {what}: {e} (install the PostgreSQL client tools, Debian package postgresql-client)"
        ))
    })?;
    if !out.status.success() {
        return Err(BackupError::Tool(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Backs up everything into a new directory under `to`; returns it and its manifest.
pub async fn create(
    config: &ServerConfig,
    config_file: Option<&Path>,
    to: &Path,
) -> Result<(PathBuf, Manifest), BackupError> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    let created_at = qa_store::now_ms() / 1000;
    let name = format!("qa-agent-{}", utc_stamp(created_at));
    let partial = to.join(format!("{name}.partial"));
    let done = to.join(&name);
    if done.exists() {
        return Err(BackupError::Invalid(format!(
            "{} exists already; wait a second or choose another directory",
            done.display()
        )));
    }
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    // A backup holds every tenant's data: readable by its owner only.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o700))
            .map_err(io(&partial))?;
    }

    let db = Database::open(config.database_url.as_deref(), &config.data_dir, 2).await?;
    let database = match &config.database_url {
        Some(url) => {
            let snapshot = db.pg_snapshot().await?;
            let file = partial.join(PG_DUMP);
            let mut cmd = libpq("pg_dump", url);
            let target = dbname(&cmd);
            cmd.arg("--format=custom")
                .arg("--no-owner")
                .arg(format!("--snapshot={}", snapshot.id))
                .arg(format!("--schema={}", snapshot.schema))
                .arg(format!("--file={}", file.display()))
                .arg(target);
            let dumped = run(&mut cmd, "pg_dump");
            let (schema, tables) = (snapshot.schema.clone(), snapshot.counts.clone());
            snapshot.end().await;
            dumped?;
            DatabasePart {
                backend: "postgres".into(),
                schema: Some(schema),
                file: PG_DUMP.into(),
                tables,
            }
        }
        None => {
            let file = partial.join(SQLITE_COPY);
            db.sqlite_snapshot(&file).await?;
            // Counted on the copy: exactly what the backup holds.
            let copy = open_sqlite_copy(&file).await?;
            let tables = copy.row_counts().await;
            copy.close().await;
            let scratch = partial.join(".verify-sqlite");
            std::fs::remove_dir_all(&scratch).map_err(io(&scratch))?;
            let tables = tables?;
            DatabasePart {
                backend: "sqlite".into(),
                schema: None,
                file: SQLITE_COPY.into(),
                tables,
            }
        }
    };
    db.close().await;

    let redis = match &config.redis_url {
        Some(url) => {
            let keys = qa_store::redis_dump(url, &partial.join(REDIS_KEYS)).await?;
            Some(RedisPart {
                file: REDIS_KEYS.into(),
                keys,
            })
        }
        None => None,
    };

    let models_dir = config.models_dir();
    let models = if models_dir.is_dir() {
        copy_tree(&models_dir, &partial.join("models"))?
    } else {
        0
    };
    let config_dir = partial.join("config");
    std::fs::create_dir_all(&config_dir).map_err(io(&config_dir))?;
    if let Some(file) = config_file {
        let text = std::fs::read_to_string(file).map_err(io(file))?;
        let copy = config_dir.join("qa-agent.toml");
        std::fs::write(&copy, redact_toml(&text)).map_err(io(&copy))?;
    }
    let effective = serde_json::to_string_pretty(&redacted(config))
        .map_err(|e| BackupError::Invalid(e.to_string()))?;
    let eff = config_dir.join("effective.json");
    std::fs::write(&eff, effective).map_err(io(&eff))?;

    let manifest = Manifest {
        format: FORMAT,
        qa_agent_version: env!("CARGO_PKG_VERSION").into(),
        created_at,
        database,
        redis,
        models,
        files: checksums(&partial)?,
    };
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| BackupError::Invalid(e.to_string()))?;
    let m = partial.join(MANIFEST);
    std::fs::write(&m, text).map_err(io(&m))?;
    std::fs::rename(&partial, &done).map_err(io(&partial))?;
    Ok((done, manifest))
}

/// The configuration with its secrets replaced.
fn redacted(config: &ServerConfig) -> ServerConfig {
    let mut c = config.clone();
    let hide = |s: &mut Option<String>| {
        if s.is_some() {
            *s = Some("(redacted)".into());
        }
    };
    hide(&mut c.llm_api_key);
    hide(&mut c.bootstrap_key);
    for url in [&mut c.database_url, &mut c.redis_url, &mut c.llm_base_url] {
        if let Some(u) = url.as_deref() {
            *url = Some(redact_url(u));
        }
    }
    c
}

/// A URL with the password of its user info replaced.
fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// A configuration file with the values of its secret settings replaced, and the
/// passwords of its URLs.
fn redact_toml(text: &str) -> String {
    const SECRETS: &[&str] = &["llm_api_key", "bootstrap_key"];
    let mut out =
        String::from("# Copied by `qa-agent backup`: secrets replaced with \"redacted\".\n");
    for line in text.lines() {
        let key = line.split('=').next().unwrap_or_default().trim();
        let redacted = if SECRETS.contains(&key) {
            format!("{key} = \"redacted\"")
        } else if let Some((k, v)) = line.split_once('=')
            && v.trim().starts_with('"')
            && v.contains("://")
        {
            let value = v.trim().trim_matches('"');
            format!("{k}= \"{}\"", redact_url(value))
        } else {
            line.to_string()
        };
        out.push_str(&redacted);
        out.push('\n');
    }
    out
}

fn utc_stamp(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

async fn open_sqlite_copy(file: &Path) -> Result<Database, BackupError> {
    // `Database::embedded` wants a directory holding `qa-agent.db`.
    let dir = file
        .parent()
        .ok_or_else(|| BackupError::Invalid("no parent directory".into()))?
        .join(".verify-sqlite");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let target = dir.join(qa_store::SQLITE_FILE);
    std::fs::copy(file, &target).map_err(io(file))?;
    let db = Database::embedded(&dir, 1).await?;
    Ok(db)
}

fn copy_tree(from: &Path, to: &Path) -> Result<u64, BackupError> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    let mut n = 0;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let path = entry.path();
        let name = entry.file_name();
        let file_name = name.to_string_lossy();
        if file_name.ends_with(".tmp") || file_name.starts_with(".before-restore-") {
            continue;
        }
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            n += copy_tree(&path, &to.join(&name))?;
        } else if kind.is_file() {
            std::fs::copy(&path, to.join(&name)).map_err(io(&path))?;
            n += 1;
        }
    }
    Ok(n)
}

fn checksums(dir: &Path) -> Result<Vec<FileEntry>, BackupError> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io(&d))? {
            let path = entry.map_err(io(&d))?.path();
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if rel == MANIFEST || rel.starts_with(".verify-sqlite") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let (bytes, sha256) = hash_file(&path)?;
                files.push(FileEntry {
                    path: rel,
                    bytes,
                    sha256,
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn hash_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        bytes += n as u64;
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((bytes, hex))
}

/// What [`verify`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub ok: bool,
    pub files_checked: usize,
    /// Rows per table in the manifest and in the scratch restore.
    pub tables: BTreeMap<String, (i64, Option<i64>)>,
    pub redis_keys: Option<u64>,
    pub problems: Vec<String>,
}

/// Reads the manifest of a backup directory.
pub fn manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let m = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&m).map_err(|e| {
        BackupError::Invalid(format!(
            "{} is not a qa-agent backup: {e} (give the `qa-agent-<time>` directory `qa-agent backup` printed)",
            m.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| BackupError::Invalid(format!("{}: {e}", m.display())))?;
    if manifest.format != FORMAT {
        return Err(BackupError::Invalid(format!(
            "backup format {} is not this release's ({FORMAT})",
            manifest.format
        )));
    }
    Ok(manifest)
}

/// Every file present with its size and checksum: the problems found.
fn check_files(dir: &Path, manifest: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    for f in &manifest.files {
        let path = dir.join(&f.path);
        match hash_file(&path) {
            Ok((bytes, sha)) if bytes == f.bytes && sha == f.sha256 => {}
            Ok((bytes, _)) => problems.push(format!(
                "{}: {bytes} bytes, checksum differs from the manifest's ({} bytes): truncated or altered",
                f.path, f.bytes
            )),
            Err(e) => problems.push(format!("{}: {e}", f.path)),
        }
    }
    if !manifest
        .files
        .iter()
        .any(|f| f.path == manifest.database.file)
    {
        problems.push(format!(
            "the database file {} is not in the manifest",
            manifest.database.file
        ));
    }
    problems
}

/// Checks that a backup is complete (every file, size and checksum) and restorable: the
/// database is restored into a scratch database (PostgreSQL: a new database on the
/// server of `scratch_url`, dropped after; SQLite: a copy) and its row counts compared
/// with the manifest's; the Redis file must parse.
pub async fn verify(dir: &Path, scratch_url: Option<&str>) -> Result<Verification, BackupError> {
    let manifest = manifest(dir)?;
    let mut problems = check_files(dir, &manifest);
    let mut tables: BTreeMap<String, (i64, Option<i64>)> = manifest
        .database
        .tables
        .iter()
        .map(|(t, n)| (t.clone(), (*n, None)))
        .collect();
    let mut redis_keys = None;
    if problems.is_empty() {
        let restored = match manifest.database.backend.as_str() {
            "sqlite" => {
                let scratch = tempdir(dir)?;
                let copy = scratch.join(SQLITE_COPY);
                std::fs::copy(dir.join(SQLITE_COPY), &copy).map_err(io(&copy))?;
                let db = open_sqlite_copy(&copy).await;
                let counts = match db {
                    Ok(db) => {
                        let c = db.row_counts().await;
                        db.close().await;
                        c.map_err(BackupError::from)
                    }
                    Err(e) => Err(e),
                };
                let _ = std::fs::remove_dir_all(&scratch);
                counts
            }
            _ => match scratch_url {
                Some(url) => pg_scratch_counts(url, dir, &manifest).await,
                None => Err(BackupError::Invalid(
                    "verifying a PostgreSQL backup restores it into a scratch database: give DATABASE_URL (or --scratch-url) of a server where it may create one".into(),
                )),
            },
        };
        match restored {
            Ok(counts) => {
                for (t, n) in counts {
                    tables.entry(t).or_insert((0, None)).1 = Some(n);
                }
                for (t, (want, got)) in &tables {
                    if Some(*want) != *got {
                        problems.push(format!(
                            "table {t}: {want} rows in the manifest, {} restored",
                            got.map_or("none".into(), |g| g.to_string())
                        ));
                    }
                }
            }
            Err(e) => problems.push(format!("the database does not restore: {e}")),
        }
        if let Some(r) = &manifest.redis {
            match qa_store::redis_dump_keys(&dir.join(&r.file)) {
                Ok(n) if n == r.keys => redis_keys = Some(n),
                Ok(n) => problems.push(format!(
                    "{}: {n} keys, the manifest says {}",
                    r.file, r.keys
                )),
                Err(e) => problems.push(format!("{}: {e}", r.file)),
            }
        }
    }
    Ok(Verification {
        ok: problems.is_empty(),
        files_checked: manifest.files.len(),
        tables,
        redis_keys,
        problems,
    })
}

fn tempdir(near: &Path) -> Result<PathBuf, BackupError> {
    let dir = std::env::temp_dir().join(format!(
        "qa-agent-verify-{}-{}",
        std::process::id(),
        qa_store::now_ms()
    ));
    std::fs::create_dir_all(&dir).map_err(io(near))?;
    Ok(dir)
}

/// Restores a dump into a new database on `url`'s server, counts its rows, drops it.
async fn pg_scratch_counts(
    url: &str,
    dir: &Path,
    manifest: &Manifest,
) -> Result<BTreeMap<String, i64>, BackupError> {
    let admin = Database::open(Some(url), Path::new("."), 1).await?;
    let name = format!(
        "qa_agent_verify_{}_{}",
        std::process::id(),
        qa_store::now_ms()
    );
    admin
        .execute_admin(&format!("CREATE DATABASE {name}"))
        .await?;
    let scratch = with_database(url, &name, manifest.database.schema.as_deref())?;
    let result = async {
        pg_restore(&with_database(url, &name, None)?, &[], dir, manifest)?;
        let db = Database::open(Some(&scratch), Path::new("."), 1).await?;
        let counts = db.row_counts().await;
        db.close().await;
        Ok(counts?)
    }
    .await;
    if let Err(e) = admin
        .execute_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
    {
        tracing::warn!(database = %name, error = %e, "cannot drop the scratch database");
    }
    admin.close().await;
    result
}

/// `url` pointing at database `name` (and the search path `schema`, if given).
fn with_database(url: &str, name: &str, schema: Option<&str>) -> Result<String, BackupError> {
    let mut u =
        reqwest::Url::parse(url).map_err(|e| BackupError::Invalid(format!("DATABASE_URL: {e}")))?;
    u.set_path(&format!("/{name}"));
    let mut extra = Vec::new();
    if let Some(s) = schema {
        extra.push(("options".to_string(), format!("-c search_path={s}")));
    }
    Ok(replace_options(u, extra))
}

/// `u` without libpq's `options` parameter (the search path), plus `extra` parameters.
fn replace_options(mut u: reqwest::Url, extra: Vec<(String, String)>) -> String {
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != "options")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .chain(extra)
        .collect();
    u.set_query(None);
    if !kept.is_empty() {
        let mut q = u.query_pairs_mut();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
    }
    u.to_string()
}

/// What [`restore`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub database: String,
    pub tables: BTreeMap<String, (i64, i64)>,
    pub redis_keys: Option<u64>,
    pub models: u64,
    /// Where what was replaced was moved (the SQLite file, models), to undo by hand.
    pub set_aside: Vec<String>,
    pub ok: bool,
}

/// Restores a backup over the configured database, Redis and `models_dir`. On
/// PostgreSQL the dump replaces the schema's objects in one transaction (`pg_restore
/// --clean --if-exists --single-transaction`); the embedded SQLite file is set aside and
/// replaced, so the services must be stopped. Checked first: every file and checksum.
pub async fn restore(config: &ServerConfig, dir: &Path) -> Result<Restored, BackupError> {
    let manifest = manifest(dir)?;
    let problems = check_files(dir, &manifest);
    if !problems.is_empty() {
        return Err(BackupError::Invalid(format!(
            "the backup is damaged, nothing was restored: {}",
            problems.join("; ")
        )));
    }
    let stamp = utc_stamp(qa_store::now_ms() / 1000);
    let mut set_aside = Vec::new();
    let backend = if config.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    if manifest.database.backend != backend {
        return Err(BackupError::Invalid(format!(
            "the backup holds a {} database and this configuration uses {backend}",
            manifest.database.backend
        )));
    }
    // Before anything is replaced: the models directory must take the backup's files
    // (it is often a mount point, so its contents are set aside, not the directory).
    let models_dir = config.models_dir();
    let backup_models = dir.join("models");
    let models_aside = models_dir.join(format!(".before-restore-{stamp}"));
    if backup_models.is_dir() {
        std::fs::create_dir_all(&models_aside).map_err(io(&models_aside))?;
    }
    match &config.database_url {
        Some(url) => {
            pg_restore(
                url,
                &["--clean", "--if-exists", "--single-transaction"],
                dir,
                &manifest,
            )?;
        }
        None => {
            let live = config.data_dir.join(qa_store::SQLITE_FILE);
            std::fs::create_dir_all(&config.data_dir).map_err(io(&config.data_dir))?;
            // The WAL holds committed transactions not yet checkpointed: it goes aside
            // with its database, never away.
            for suffix in ["", "-wal", "-shm"] {
                let file = config
                    .data_dir
                    .join(format!("{}{suffix}", qa_store::SQLITE_FILE));
                if file.exists() {
                    let aside = config.data_dir.join(format!(
                        "{}{suffix}.before-restore-{stamp}",
                        qa_store::SQLITE_FILE
                    ));
                    std::fs::rename(&file, &aside).map_err(io(&file))?;
                    set_aside.push(aside.display().to_string());
                }
            }
            std::fs::copy(dir.join(SQLITE_COPY), &live).map_err(io(&live))?;
        }
    }
    let redis_keys = match (&manifest.redis, &config.redis_url) {
        (Some(r), Some(url)) => Some(qa_store::redis_restore(url, &dir.join(&r.file)).await?),
        _ => None,
    };
    let models = if backup_models.is_dir() {
        for entry in std::fs::read_dir(&models_dir).map_err(io(&models_dir))? {
            let entry = entry.map_err(io(&models_dir))?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".before-restore-")
            {
                continue;
            }
            let to = models_aside.join(entry.file_name());
            std::fs::rename(entry.path(), &to).map_err(io(&to))?;
        }
        set_aside.push(models_aside.display().to_string());
        copy_tree(&backup_models, &models_dir)?
    } else {
        0
    };
    let db = Database::open(config.database_url.as_deref(), &config.data_dir, 1).await?;
    let counts = db.row_counts().await?;
    db.close().await;
    let mut tables = BTreeMap::new();
    let mut ok = true;
    for (t, want) in &manifest.database.tables {
        let got = counts.get(t).copied().unwrap_or(-1);
        ok &= got == *want;
        tables.insert(t.clone(), (*want, got));
    }
    Ok(Restored {
        database: backend.into(),
        tables,
        redis_keys,
        models,
        set_aside,
        ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_and_sortable() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(1_795_000_000), "20261118T110640Z");
    }

    #[test]
    fn scratch_urls_name_the_database_and_schema() {
        let u = with_database(
            "postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dx&sslmode=disable",
            "scratch",
            Some("qa_x"),
        )
        .unwrap();
        assert!(
            u.starts_with("postgres://postgres@127.0.0.1:5432/scratch?sslmode=disable&options="),
            "{u}"
        );
        assert!(u.contains("search_path%3Dqa_x"), "{u}");
        assert_eq!(
            replace_options(
                reqwest::Url::parse("postgres://p@h:5432/d?options=-c%20search_path%3Dx").unwrap(),
                Vec::new()
            ),
            "postgres://p@h:5432/d"
        );
        let cmd = libpq("pg_dump", "postgres://u:p%40ss@h:5432/d?options=-c%20x");
        let envs: Vec<(String, String)> = cmd
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into(),
                    v.unwrap().to_string_lossy().into(),
                )
            })
            .collect();
        assert!(
            envs.contains(&("PGPASSWORD".into(), "p@ss".into())),
            "{envs:?}"
        );
        assert_eq!(dbname(&cmd), "--dbname=postgres://u@h:5432/d");
    }

    #[test]
    fn secrets_are_redacted() {
        let c = ServerConfig {
            database_url: Some("postgres://agent_user:hunter2@db:5432/agent_db".into()),
            llm_api_key: Some("sk-x".into()),
            ..ServerConfig::default()
        };
        let r = redacted(&c);
        let text = serde_json::to_string(&r).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("sk-x"),
            "{text}"
        );
        assert!(
            text.contains("agent_user:redacted@db:5432/agent_db"),
            "{text}"
        );
        let toml = redact_toml(
            "[server]\nllm_api_key = \"sk-live\"\nredis_url = \"redis://:pw@r:6379\"\nworkers = 4\n",
        );
        assert!(
            !toml.contains("sk-live") && !toml.contains(":pw@"),
            "{toml}"
        );
        assert!(
            toml.contains("workers = 4") && toml.contains("redis://:redacted@r:6379"),
            "{toml}"
        );
    }
}
