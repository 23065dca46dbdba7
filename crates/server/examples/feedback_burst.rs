//! Feedback throughput of the learning engine: a running learning service takes a
//! burst of feedback (stored straight into the feedback table, as the services store
//! it), and this measures how fast the backlog drains and how long until the lag is
//! back to zero and the learned state rebuilt. Run by `bench/learning/burst.sh`.
//!
//! Usage: `feedback_burst [EVENTS]` with `DATABASE_URL` (PostgreSQL) or nothing (the
//! embedded SQLite file in a temporary directory).

use std::time::{Duration, Instant};

use qa_server::{ServerConfig, ServiceKind};
use qa_store::{Database, NewFeedback, Role};

#[tokio::main]
async fn main() {
    let events: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut config = ServerConfig {
        data_dir: data.path().to_path_buf(),
        database_url: std::env::var("DATABASE_URL").ok(),
        bootstrap_key: Some("qak_burst_admin_key_0123456789abcdef".into()),
        ..ServerConfig::default()
    };
    config.ports.learning = 0;
    let db = Database::open(config.database_url.as_deref(), &config.data_dir, 4)
        .await
        .expect("database opens");
    db.migrate().await.expect("migrations");
    let tenant = match db.tenant_by_name("burst").await.expect("tenants") {
        Some(t) => t,
        None => db.create_tenant("burst").await.expect("tenant"),
    };
    let mut users = Vec::new();
    for u in 0..20 {
        let email = format!("user{u}-{}@burst.test", std::process::id());
        users.push(
            db.create_user(tenant.id, &email, Role::Member)
                .await
                .expect("user"),
        );
    }
    let app = qa_server::start(&config, &[ServiceKind::Learning])
        .await
        .expect("learning engine starts");
    // Let it settle (migrations checked, initial rebuild done).
    tokio::time::sleep(Duration::from_secs(2)).await;

    let rows: Vec<NewFeedback> = (0..events)
        .map(|i| {
            let user = &users[i % users.len()];
            let rule = format!("R{:03}", i % 40);
            if i % 2 == 0 {
                NewFeedback {
                    tenant_id: tenant.id,
                    user_id: Some(user.id),
                    target_kind: "finding".into(),
                    target_id: i.to_string(),
                    kind: if i % 3 == 0 { "confirm" } else { "dismiss" }.into(),
                    reason: Some("false_positive".into()),
                    context: Some(format!(
                        "{{\"rule_id\":\"{rule}\",\"severity\":\"medium\"}}"
                    )),
                    scope: Some(format!("repo:{}", i % 7)),
                    subject: Some(format!("fp{i}")),
                    ..Default::default()
                }
            } else {
                NewFeedback {
                    tenant_id: tenant.id,
                    user_id: Some(user.id),
                    target_kind: "answer".into(),
                    target_id: i.to_string(),
                    kind: "rating".into(),
                    rating: Some((i % 5) as i32 + 1),
                    context: Some(format!(
                        "{{\"intent\":\"review\",\"specialists\":[\"{}\"],\"mode\":\"single\"}}",
                        ["code-reviewer", "test-architect"][(i / 2) % 2]
                    )),
                    ..Default::default()
                }
            }
        })
        .collect();
    let start = Instant::now();
    // The burst: 8 writers at once, as several services taking feedback would.
    let chunks: Vec<Vec<NewFeedback>> =
        rows.chunks(events.div_ceil(8)).map(<[_]>::to_vec).collect();
    let mut writers = tokio::task::JoinSet::new();
    for chunk in chunks {
        let db = db.clone();
        writers.spawn(async move {
            let mut newest = 0;
            for f in &chunk {
                newest = newest.max(db.add_feedback(f).await.expect("feedback stored"));
            }
            newest
        });
    }
    // The learned state includes the burst once a snapshot's watermark reaches this.
    let newest_id = writers.join_all().await.into_iter().max().unwrap_or(0);
    let stored = start.elapsed();
    let mut max_pending = 0;
    loop {
        let b = db.feedback_backlog().await.expect("backlog");
        max_pending = max_pending.max(b.pending);
        if b.pending == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "backlog never drained"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = start.elapsed();
    loop {
        if let Ok(Some(s)) = db.latest_learned_state("learning").await
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&s.state)
            && v["watermark"].as_i64() >= Some(newest_id)
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "never rebuilt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let learned = start.elapsed();
    app.shutdown();
    let report = serde_json::json!({
        "backend": db.backend(),
        "events": events,
        "stored_seconds": stored.as_secs_f64(),
        "drained_seconds": drained.as_secs_f64(),
        "lag_after_burst_seconds": (drained - stored).as_secs_f64(),
        "learned_state_current_seconds": learned.as_secs_f64(),
        "processed_per_second": events as f64 / drained.as_secs_f64(),
        "max_pending": max_pending,
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("report"));
}
