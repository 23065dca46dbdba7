//! `qa-agent backup`, `verify-backup` and `restore` (`qa_server::backup`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use qa_server::ServerConfig;
use qa_server::backup;

use crate::args::{BackupArgs, RestoreArgs, VerifyBackupArgs};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The configuration file in use: `--config`, else `./qa-agent.toml` when present.
fn config_file(given: Option<&Path>) -> Option<PathBuf> {
    given
        .map(Path::to_path_buf)
        .or_else(|| Some(PathBuf::from("qa-agent.toml")).filter(|p| p.is_file()))
}

pub fn create(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig::load(args.db.config.as_deref())?;
    let file = config_file(args.db.config.as_deref());
    let (dir, manifest) =
        runtime()?.block_on(backup::create(&config, file.as_deref(), &args.to))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        let rows: i64 = manifest.database.tables.values().sum();
        println!(
            "backup written to {}\n  database ({}): {} tables, {rows} rows\n  redis: {}\n  models: {} files\n  {} files checksummed (manifest.json)",
            dir.display(),
            manifest.database.backend,
            manifest.database.tables.len(),
            manifest
                .redis
                .as_ref()
                .map_or("not configured".into(), |r| format!("{} keys", r.keys)),
            manifest.models,
            manifest.files.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn verify(args: VerifyBackupArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig::load(args.db.config.as_deref())?;
    let scratch = args.scratch_url.or(config.database_url);
    let v = runtime()?.block_on(backup::verify(&args.dir, scratch.as_deref()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if v.ok {
        let rows: i64 = v.tables.values().map(|(n, _)| n).sum();
        println!(
            "backup {} is complete and restorable: {} files match their checksums; {} tables ({rows} rows) restored into a scratch database with the manifest's row counts{}",
            args.dir.display(),
            v.files_checked,
            v.tables.len(),
            v.redis_keys
                .map(|n| format!("; {n} Redis keys readable"))
                .unwrap_or_default()
        );
    } else {
        eprintln!("backup {} is NOT restorable:", args.dir.display());
        for p in &v.problems {
            eprintln!("  - {p}");
        }
    }
    Ok(if v.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig::load(args.db.config.as_deref())?;
    let runtime = runtime()?;
    let r = runtime.block_on(backup::restore(&config, &args.from))?;
    // Recorded in the restored database: the weekly report lists it as an intervention.
    runtime.block_on(async {
        let db =
            qa_store::Database::open(config.database_url.as_deref(), &config.data_dir, 1).await?;
        db.audit(&qa_store::AuditEntry {
            tenant_id: None,
            actor: super::admin::actor(),
            action: "backup.restore".into(),
            target: Some(args.from.display().to_string()),
            detail: Some(format!(
                "{} tables, row counts as in the backup: {}",
                r.tables.len(),
                r.ok
            )),
        })
        .await?;
        db.close().await;
        anyhow::Ok(())
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        let rows: i64 = r.tables.values().map(|(_, got)| got).sum();
        println!(
            "restored {} into the {} database: {} tables, {rows} rows{}; models: {} files",
            args.from.display(),
            r.database,
            r.tables.len(),
            r.redis_keys
                .map(|n| format!("; {n} Redis keys"))
                .unwrap_or_default(),
            r.models
        );
        for a in &r.set_aside {
            println!("  the replaced data was kept at {a}");
        }
        if !r.ok {
            eprintln!("row counts differ from the manifest:");
            for (t, (want, got)) in r.tables.iter().filter(|(_, (w, g))| w != g) {
                eprintln!("  {t}: {want} in the backup, {got} now");
            }
        }
    }
    Ok(if r.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
