//! Backup → wipe → restore loses nothing, on the embedded database and on PostgreSQL,
//! with Redis: every table's rows, a user's API key (it works again), Redis keys with
//! their TTLs, the learned models. A truncated backup fails verification and is refused.

use std::process::Command;
use std::time::Duration;

use qa_server::ServiceKind;
use qa_server::backup;
use qa_store::{Database, Role};

use crate::helpers::{backends, call, spawn};
use crate::operations::own_redis;

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn backup_wipe_restore_loses_nothing_and_a_damaged_backup_is_refused() {
    let Some((_redis, port)) = own_redis("backup_round_trip") else {
        return;
    };
    for mut b in backends("backup").await {
        b.config.redis_url = Some(format!("redis://127.0.0.1:{port}"));
        redis_cli(port, &["FLUSHALL"]);
        // Data: the schema (the services migrate it), a tenant with a user and key, the
        // audit trail of a maintenance call, Redis state, a learned-models file.
        let app = spawn(
            &b.config,
            &[ServiceKind::Orchestrator, ServiceKind::Learning],
        )
        .await;
        let learning = app.url(ServiceKind::Learning).unwrap();
        let (code, _, body) = call(
            "POST",
            &format!("{learning}/api/v1/maintenance/optimize"),
            None,
            None,
        )
        .await;
        assert_eq!(code, 200, "{body}");
        let db = Database::open(b.config.database_url.as_deref(), &b.config.data_dir, 1)
            .await
            .unwrap();
        let t = db.create_tenant("backup-co").await.unwrap();
        let u = db
            .create_user(t.id, "ops@backup.test", Role::Admin)
            .await
            .unwrap();
        let key = qa_store::generate_api_key();
        db.add_api_key(&u, &key).await.unwrap();
        redis_cli(port, &["SET", "qa:test:session", "state", "EX", "3600"]);
        redis_cli(port, &["RPUSH", "qa:test:list", "a", "b", "c"]);
        let models = b.config.models_dir();
        std::fs::create_dir_all(&models).unwrap();
        std::fs::write(models.join("learned-state.json"), "{\"snapshot_id\":1}").unwrap();
        app.shutdown();
        app.wait(Duration::from_secs(5)).await;
        let before = db.row_counts().await.unwrap();
        assert!(
            before["users"] >= 2 && before["audit_log"] >= 1,
            "{before:?}"
        );

        let out = tempfile::tempdir().unwrap();
        let (dir, manifest) = backup::create(&b.config, None, out.path()).await.unwrap();
        assert_eq!(manifest.database.tables, before, "{}", b.name);
        assert_eq!(manifest.redis.as_ref().unwrap().keys, 2);
        assert!(manifest.models >= 1);
        let v = backup::verify(&dir, b.config.database_url.as_deref())
            .await
            .unwrap();
        assert!(v.ok, "{}: {:?}", b.name, v.problems);

        // Wipe everything.
        match db.current_schema().await.unwrap() {
            Some(schema) => {
                db.execute_admin(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                    .await
                    .unwrap();
                db.execute_admin(&format!("CREATE SCHEMA \"{schema}\""))
                    .await
                    .unwrap();
                db.close().await;
            }
            None => {
                db.close().await;
                for f in std::fs::read_dir(&b.config.data_dir).unwrap() {
                    let p = f.unwrap().path();
                    if p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with("qa-agent.db")
                    {
                        std::fs::remove_file(p).unwrap();
                    }
                }
            }
        }
        redis_cli(port, &["FLUSHALL"]);
        std::fs::remove_dir_all(&models).unwrap();

        let r = backup::restore(&b.config, &dir).await.unwrap();
        assert!(r.ok, "{}: {:?}", b.name, r.tables);
        let db = Database::open(b.config.database_url.as_deref(), &b.config.data_dir, 1)
            .await
            .unwrap();
        assert_eq!(db.row_counts().await.unwrap(), before, "{}", b.name);
        db.close().await;
        assert_eq!(redis_cli(port, &["GET", "qa:test:session"]), "state");
        let ttl: i64 = redis_cli(port, &["TTL", "qa:test:session"])
            .parse()
            .unwrap();
        assert!((3000..=3600).contains(&ttl), "{ttl}");
        assert_eq!(
            redis_cli(port, &["LRANGE", "qa:test:list", "0", "-1"]),
            "a\nb\nc"
        );
        assert_eq!(
            std::fs::read_to_string(models.join("learned-state.json")).unwrap(),
            "{\"snapshot_id\":1}"
        );
        // The restored key works against the services again.
        let app = spawn(&b.config, &[ServiceKind::Orchestrator]).await;
        let base = app.url(ServiceKind::Orchestrator).unwrap();
        let (code, _, me) = call("GET", &format!("{base}/api/v1/me"), Some(&key), None).await;
        assert_eq!(code, 200, "{}: {me}", b.name);
        app.shutdown();

        // A truncated database file: verification fails, restore refuses and changes nothing.
        let file = dir.join(&manifest.database.file);
        let len = std::fs::metadata(&file).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        let v = backup::verify(&dir, b.config.database_url.as_deref())
            .await
            .unwrap();
        assert!(!v.ok);
        assert!(
            v.problems[0].contains("truncated or altered"),
            "{:?}",
            v.problems
        );
        let e = backup::restore(&b.config, &dir).await.unwrap_err();
        assert!(e.to_string().contains("nothing was restored"), "{e}");
        redis_cli(port, &["FLUSHALL"]);
    }
}
