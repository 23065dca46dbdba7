//! The runbook's operational calls (keyless from trusted networks), specialist
//! registration, feedback processing health, and Redis going away and coming back.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qa_server::ServiceKind;
use qa_store::{Database, Ephemeral};
use serde_json::Value;

use crate::helpers::{ADMIN_KEY, call, get_json, spawn, test_config};

#[tokio::test]
async fn keyless_operational_calls_take_a_trusted_address_or_a_key() {
    let (config, _data) = test_config();
    let app = spawn(&config, &ServiceKind::ALL).await;
    let orch = app.url(ServiceKind::Orchestrator).unwrap();
    let learning = app.url(ServiceKind::Learning).unwrap();

    // The specialist service registers its four specialists when it starts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let body = loop {
        let (code, _, body) = call(
            "GET",
            &format!("{orch}/api/v1/agent/specialists"),
            None,
            None,
        )
        .await;
        assert_eq!(code, 200, "{body}");
        if body["total"] == 4 || std::time::Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let mut names: Vec<&str> = body["specialists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "code-reviewer",
            "performance-analyst",
            "security-specialist",
            "test-architect"
        ],
        "{body}"
    );
    assert_eq!(body["available"], 4, "{body}");

    // A registration is listed with its availability, from its service's readiness
    // and its heartbeat.
    let db = Database::open(None, &config.data_dir, 1).await.unwrap();
    let spec = app.url(ServiceKind::Specialists).unwrap();
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone_url = format!("http://{}", gone.local_addr().unwrap());
    drop(gone);
    db.register_specialists(
        &spec,
        &[(
            "test-architect".into(),
            "test strategy".into(),
            vec!["strategy".into()],
        )],
    )
    .await
    .unwrap();
    db.register_specialists(
        &gone_url,
        &[("elsewhere".into(), "on a stopped service".into(), vec![])],
    )
    .await
    .unwrap();
    let (_, _, body) = call(
        "GET",
        &format!("{orch}/api/v1/agent/specialists"),
        None,
        None,
    )
    .await;
    assert_eq!(body["total"], 5, "{body}");
    assert_eq!(body["available"], 4, "{body}");
    let by_name = |n: &str| {
        body["specialists"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("test-architect")["available"], true);
    assert_eq!(by_name("test-architect")["capabilities"][0], "strategy");
    assert_eq!(by_name("elsewhere")["available"], false);
    assert_eq!(
        by_name("elsewhere")["unavailable_reason"],
        "its service is not ready"
    );

    // Weekly maintenance, keyless from loopback, does real work and is audited with the
    // source address as the actor.
    let (code, _, body) = call(
        "POST",
        &format!("{learning}/api/v1/maintenance/optimize"),
        None,
        None,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let steps: Vec<&str> = body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert!(steps.iter().any(|s| s.contains("ANALYZE")), "{body}");
    let (code, _, body) = call(
        "POST",
        &format!("{learning}/api/v1/optimize/reasoning_cache"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (code, body["backend"].as_str()),
        (200, Some("memory")),
        "{body}"
    );
    let audit = db.audit_log(None, 10).await.unwrap();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|r| (r.entry.action.as_str(), r.entry.actor.as_str()))
        .collect();
    assert!(
        actions.contains(&("maintenance.optimize", "network:127.0.0.1")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("optimize.reasoning_cache", "network:127.0.0.1")),
        "{actions:?}"
    );

    // The learning engine reports its feedback pipeline from the feedback table.
    let (_, body) = get_json(&format!("{learning}/health/detailed")).await;
    let fp = &body["feedback_processing"];
    assert_eq!(
        (fp["status"].as_str(), fp["pending"].as_i64()),
        (Some("up"), Some(0)),
        "{body}"
    );
    assert!(fp["oldest_pending_age_seconds"].is_null() && fp["last_processed_at_ms"].is_null());
    let tenant = db.tenant_by_name("default").await.unwrap().unwrap();
    if let Database::Sqlite(pool) = &db {
        sqlx::query("INSERT INTO feedback (tenant_id, target_kind, target_id, kind, rating, created_at) VALUES ($1, 'answer', 'm1', 'rating', 4, $2)")
            .bind(tenant.id)
            .bind(chrono_ms() - 5_000)
            .execute(pool)
            .await
            .unwrap();
    }
    let (_, body) = get_json(&format!("{learning}/health/detailed")).await;
    let fp = &body["feedback_processing"];
    assert_eq!(fp["pending"], 1, "{body}");
    assert!(
        fp["oldest_pending_age_seconds"].as_f64().unwrap() >= 5.0,
        "{body}"
    );
    db.close().await;
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;

    // From an address outside the trusted networks, the same calls need a key.
    let (mut config, _data) = test_config();
    config.trusted_networks = vec!["10.0.0.0/8".into()];
    let app = spawn(
        &config,
        &[
            ServiceKind::Orchestrator,
            ServiceKind::Specialists,
            ServiceKind::Learning,
        ],
    )
    .await;
    let orch = app.url(ServiceKind::Orchestrator).unwrap();
    let learning = app.url(ServiceKind::Learning).unwrap();
    let spec = app.url(ServiceKind::Specialists).unwrap();
    // Strangers cannot make the workers poll the database.
    assert_eq!(
        call("POST", &format!("{spec}/internal/v1/wake"), None, None)
            .await
            .0,
        401
    );
    let (code, ctype, body) = call(
        "POST",
        &format!("{learning}/api/v1/maintenance/optimize"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (code, ctype.as_str()),
        (401, "application/problem+json"),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("QA_AGENT_TRUSTED_NETWORKS")
    );
    assert_eq!(
        call(
            "GET",
            &format!("{orch}/api/v1/agent/specialists"),
            None,
            None
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call(
            "GET",
            &format!("{orch}/api/v1/agent/specialists"),
            Some(ADMIN_KEY),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            "POST",
            &format!("{learning}/api/v1/maintenance/optimize"),
            Some(ADMIN_KEY),
            None
        )
        .await
        .0,
        200
    );
    let text = reqwest::get(format!("{learning}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("auth_failures_total{reason=\"untrusted_network\"} 1"),
        "{text}"
    );
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A redis-server of the test's own on `port`, killed on drop.
pub struct RedisServer(Child);

impl RedisServer {
    pub fn start(port: u16) -> Option<RedisServer> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(RedisServer(child))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A redis-server of the test's own on a free port, with its port; none (after saying
/// SKIPPED) where redis-server is not installed, which is an error in CI.
pub fn own_redis(test: &str) -> Option<(RedisServer, u16)> {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is missing in CI (scripts/test.sh installs it)"
        );
        eprintln!("SKIPPED: {test} (redis-server not installed)");
        return None;
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    Some((RedisServer::start(port)?, port))
}

pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn redis_going_away_fails_readiness_and_redis_calls_then_recovers_without_restart() {
    let Some((redis, port)) = own_redis("Redis going away") else {
        return;
    };
    let url = format!("redis://127.0.0.1:{port}");
    let (mut config, _data) = test_config();
    config.redis_url = Some(url.clone());
    let app = spawn(&config, &[ServiceKind::Learning, ServiceKind::Orchestrator]).await;
    let base = app.url(ServiceKind::Learning).unwrap();

    let (code, body) = get_json(&format!("{base}/health/detailed")).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (
            body["redis"]["status"].as_str(),
            body["redis"]["backend"].as_str()
        ),
        (Some("up"), Some("redis"))
    );
    assert_eq!(body["redis"]["required"], true);

    // Cached reasoning results are cleared, other keys are left alone.
    let cache = Ephemeral::open(Some(&url)).unwrap();
    for key in ["reasoning:q1", "reasoning:q2", "sessions:s1"] {
        cache.set(key, b"x", Duration::from_secs(60)).await.unwrap();
    }
    let clear = format!("{base}/api/v1/optimize/reasoning_cache");
    let (code, _, body) = call("POST", &clear, None, None).await;
    assert_eq!((code, body["removed"].as_u64()), (200, Some(2)), "{body}");
    assert!(cache.get("sessions:s1").await.unwrap().is_some());

    // Events cross processes through Redis.
    let listener = Ephemeral::open(Some(&url)).unwrap();
    let mut rx = listener.subscribe("session:s1").await.unwrap();
    cache.publish("session:s1", b"hello").await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (event.channel.as_str(), event.payload.as_slice()),
        ("session:s1", &b"hello"[..])
    );

    // Redis dies: not ready, Redis-backed calls answer 503, liveness is untouched.
    drop(redis);
    let (code, body) = get_json(&format!("{base}/health/ready")).await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["failing"], serde_json::json!(["redis"]));
    let (code, body) = get_json(&format!("{base}/health/detailed")).await;
    assert_eq!(
        (code, body["redis"]["status"].as_str()),
        (503, Some("down")),
        "{body}"
    );
    assert_eq!(get_json(&format!("{base}/health/live")).await.0, 200);
    let (code, ctype, body) = call("POST", &clear, None, None).await;
    assert_eq!(
        (code, ctype.as_str()),
        (503, "application/problem+json"),
        "{body}"
    );
    assert_eq!(body["type"], "/problems/redis-unavailable");

    // Redis is back on the same address: everything recovers without a restart, and the
    // subscription was renewed by itself.
    let _redis = RedisServer::start(port).unwrap();
    eventually("ready again", async || {
        get_json(&format!("{base}/health/ready")).await.0 == 200
    })
    .await;
    assert_eq!(call("POST", &clear, None, None).await.0, 200);
    // Pub/sub is fire-and-forget: publish until the renewed subscription hears it.
    let deadline = Instant::now() + Duration::from_secs(15);
    let got = loop {
        if Instant::now() > deadline {
            break Value::Bool(false);
        }
        let _ = cache.publish("session:s1", b"again").await;
        match tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
            Ok(Ok(e)) if e.payload == b"again" => break Value::Bool(true),
            _ => continue,
        }
    };
    assert_eq!(got, true, "no event after Redis came back");
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;
}

/// A TCP proxy to PostgreSQL that a test can cut (every connection dropped, new ones
/// refused) and restore: a database outage without touching the shared server.
pub struct CuttableProxy {
    pub port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl CuttableProxy {
    pub async fn start(target: String) -> CuttableProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (c, k) = (cut.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if c.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped at once
                }
                let target = target.clone();
                k.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        CuttableProxy { port, cut, conns }
    }

    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_database_outage_fails_readiness_and_api_calls_then_recovers_without_restart() {
    let backends = crate::helpers::backends("db_outage").await;
    let Some(pg) = backends.iter().find(|b| b.name == "postgres") else {
        return; // helpers::backends already said why (and fails in CI).
    };
    let url = pg.config.database_url.clone().unwrap();
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let proxy =
        CuttableProxy::start(format!("{}:{}", options.get_host(), options.get_port())).await;
    let via_proxy = url.replacen(
        &format!("{}:{}", options.get_host(), options.get_port()),
        &format!("127.0.0.1:{}", proxy.port),
        1,
    );
    assert_ne!(
        via_proxy, url,
        "QA_AGENT_TEST_DATABASE_URL must name host:port"
    );
    let mut config = pg.config.clone();
    config.database_url = Some(via_proxy);
    let app = spawn(&config, &[ServiceKind::Orchestrator]).await;
    let base = app.url(ServiceKind::Orchestrator).unwrap();
    let me = format!("{base}/api/v1/me");
    eventually("ready", async || {
        get_json(&format!("{base}/health/ready")).await.0 == 200
    })
    .await;
    assert_eq!(call("GET", &me, Some(ADMIN_KEY), None).await.0, 200);

    proxy.cut();
    let (code, body) = get_json(&format!("{base}/health/ready")).await;
    assert_eq!(
        (code, body["failing"][0].as_str()),
        (503, Some("database")),
        "{body}"
    );
    let (code, ctype, body) = call("GET", &me, Some(ADMIN_KEY), None).await;
    assert_eq!(
        (code, ctype.as_str()),
        (503, "application/problem+json"),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("database"),
        "{body}"
    );
    assert_eq!(get_json(&format!("{base}/health/live")).await.0, 200);

    proxy.restore();
    eventually("ready again", async || {
        get_json(&format!("{base}/health/ready")).await.0 == 200
    })
    .await;
    assert_eq!(call("GET", &me, Some(ADMIN_KEY), None).await.0, 200);
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;
}
