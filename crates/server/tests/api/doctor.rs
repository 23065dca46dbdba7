//! `qa-agent doctor`'s checks against running services: a healthy deployment is
//! reported healthy, and each P0 condition induced here (a service down, Redis stopped,
//! the database unreachable, the key store failing) is reported as P0.

use std::time::Duration;

use qa_server::ServiceKind;
use qa_server::doctor::{Report, Severity, Target, diagnose};
use sqlx::Executor;

use crate::helpers::{ADMIN_KEY, backends, spawn};
use crate::operations::{CuttableProxy, own_redis};

const ALL: &[ServiceKind] = &[
    ServiceKind::Orchestrator,
    ServiceKind::Specialists,
    ServiceKind::Conversation,
    ServiceKind::Learning,
];

fn target(app: &qa_server::Running, kinds: &[ServiceKind]) -> Target {
    let mut t = Target::on_host("127.0.0.1", "http");
    t.services.clear();
    for k in kinds {
        t.services.insert(*k, app.ops_url(*k).unwrap());
    }
    t.api_key = Some(ADMIN_KEY.into());
    t.timeout = Duration::from_secs(3);
    t
}

fn p0(report: &Report, check: &str) -> bool {
    report
        .problems
        .iter()
        .any(|p| p.severity == Severity::P0 && p.check == check)
}

/// Diagnoses until `done` holds (services notice an outage at their next check).
async fn diagnose_until(t: &Target, done: impl Fn(&Report) -> bool) -> Report {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = diagnose(t).await;
        if done(&r) || std::time::Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_healthy_deployment_is_healthy_and_a_service_down_is_p0() {
    let b = backends("doctor_healthy").await.remove(0);
    let app = spawn(&b.config, ALL).await;
    let t = target(&app, ALL);
    let r = diagnose_until(&t, |r| r.problems.is_empty()).await;
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    assert_eq!((r.status.as_str(), r.exit_code()), ("healthy", 0));
    for check in ["database", "redis", "authentication", "learning", "sandbox"] {
        assert!(r.passed.iter().any(|p| p.check == check), "{check}: {r:#?}");
    }

    // The learning engine is not running: P0, with the runbook's outage procedure.
    let without = &[
        ServiceKind::Orchestrator,
        ServiceKind::Specialists,
        ServiceKind::Conversation,
    ];
    let app2 = spawn(&b.config, without).await;
    let mut t = target(&app2, without);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    t.services
        .insert(ServiceKind::Learning, format!("http://127.0.0.1:{port}"));
    let r = diagnose(&t).await;
    assert!(p0(&r, "service:learning-engine"), "{r:#?}");
    assert_eq!(r.exit_code(), 4);
    let p = r
        .problems
        .iter()
        .find(|p| p.check == "service:learning-engine")
        .unwrap();
    assert!(p.runbook.contains("Service Outage Response"), "{p:?}");
    app.shutdown();
    app2.shutdown();
}

#[tokio::test]
async fn stopped_redis_is_p0() {
    let Some((redis, port)) = own_redis("doctor_redis") else {
        return;
    };
    let mut b = backends("doctor_redis").await.remove(0);
    b.config.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    let app = spawn(&b.config, ALL).await;
    let t = target(&app, ALL);
    let r = diagnose_until(&t, |r| r.problems.is_empty()).await;
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    drop(redis);
    let r = diagnose_until(&t, |r| p0(r, "redis")).await;
    assert!(p0(&r, "redis"), "{r:#?}");
    app.shutdown();
}

#[tokio::test]
async fn an_unreachable_database_is_p0() {
    let backends = backends("doctor_db").await;
    let Some(pg) = backends.iter().find(|b| b.name == "postgres") else {
        return; // helpers::backends already said why (and fails in CI).
    };
    let url = pg.config.database_url.clone().unwrap();
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let proxy =
        CuttableProxy::start(format!("{}:{}", options.get_host(), options.get_port())).await;
    let mut config = pg.config.clone();
    config.database_url = Some(url.replacen(
        &format!("{}:{}", options.get_host(), options.get_port()),
        &format!("127.0.0.1:{}", proxy.port),
        1,
    ));
    let kinds = &[ServiceKind::Orchestrator, ServiceKind::Learning];
    let app = spawn(&config, kinds).await;
    let t = target(&app, kinds);
    let r = diagnose_until(&t, |r| r.problems.is_empty()).await;
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    proxy.cut();
    let r = diagnose_until(&t, |r| p0(r, "database")).await;
    assert!(p0(&r, "database"), "{r:#?}");
    app.shutdown();
}

#[tokio::test]
async fn a_failing_key_store_is_p0_authentication() {
    for b in backends("doctor_auth").await {
        let kinds = &[ServiceKind::Orchestrator];
        let app = spawn(&b.config, kinds).await;
        let t = target(&app, kinds);
        let r = diagnose_until(&t, |r| r.problems.is_empty()).await;
        assert!(r.problems.is_empty(), "{}: {:#?}", b.name, r.problems);
        // The keys table disappears while the database itself stays up.
        let db = qa_store::Database::open(b.config.database_url.as_deref(), &b.config.data_dir, 1)
            .await
            .unwrap();
        let rename = "ALTER TABLE api_keys RENAME TO api_keys_gone";
        match &db {
            qa_store::Database::Postgres(pool) => {
                pool.execute(rename).await.unwrap();
            }
            qa_store::Database::Sqlite(pool) => {
                pool.execute(rename).await.unwrap();
            }
        }
        let r = diagnose(&t).await;
        assert!(p0(&r, "authentication"), "{}: {r:#?}", b.name);
        assert!(!p0(&r, "database"), "{}: {r:#?}", b.name);
        app.shutdown();
    }
}
