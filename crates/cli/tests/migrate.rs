//! `qa-agent migrate` on the embedded database and with bad database settings.

use std::process::{Command, Output};

fn migrate(dir: &std::path::Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qa-agent"));
    cmd.arg("migrate")
        .current_dir(dir)
        .env_remove("DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn migrate_creates_the_embedded_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state");
    let data = data.to_str().unwrap();
    let first = migrate(dir.path(), &[("QA_AGENT_DATA_DIR", data)]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let out = String::from_utf8_lossy(&first.stdout);
    assert!(out.contains("7 migrations applied to sqlite"), "{out}");
    assert!(dir.path().join("state/qa-agent.db").is_file());
    let again = migrate(dir.path(), &[("QA_AGENT_DATA_DIR", data)]);
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(out.contains("0 migrations applied"), "{out}");
}

#[test]
fn bad_database_settings_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = migrate(dir.path(), &[("DATABASE_URL", "mysql://u:hunter2@db/x")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unsupported database URL"), "{err}");
    assert!(!err.contains("hunter2"), "password echoed: {err}");

    let out = migrate(dir.path(), &[("DB_POOL_SIZE", "0")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DB_POOL_SIZE"));
}
