//! The four services on random ports, talked to over HTTP: health routes, peer checks,
//! metrics names the runbook greps for, graceful shutdown.

use std::time::Duration;

use qa_server::ServiceKind;
use serde_json::Value;

use crate::helpers::{get, get_json, spawn, test_config};

#[tokio::test]
async fn all_in_one_answers_every_health_route_on_every_listener() {
    let (config, _data) = test_config();
    let app = spawn(&config, &ServiceKind::ALL).await;
    assert_eq!(app.listeners().len(), 5, "four services, five listeners");
    for l in app.listeners() {
        let base = l.url();
        let (code, body) = get_json(&format!("{base}/health/live")).await;
        assert_eq!((code, body["status"].as_str()), (200, Some("alive")));
        let (code, body) = get_json(&format!("{base}/health/ready")).await;
        assert_eq!((code, body["status"].as_str()), (200, Some("ready")));
        let (code, body) = get_json(&format!("{base}/health")).await;
        assert_eq!(code, 200);
        assert_eq!(body["service"], l.kind.name());
        let (code, body) = get_json(&format!("{base}/health/detailed")).await;
        assert_eq!(code, 200, "{body}");
        // Every peer of the service is reported, up, with a latency.
        for peer in l.kind.peers() {
            let check = &body[peer.health_key()];
            assert_eq!(check["status"], "up", "{} sees {}: {body}", l.kind, peer);
            assert!(check["latency_ms"].as_f64().is_some(), "{body}");
        }
        assert_eq!(body["status"], "ok", "{body}");
        // The embedded database is a required dependency of every service.
        let db = &body["database"];
        assert_eq!(db["status"], "up", "{body}");
        assert_eq!(db["backend"], "sqlite");
        assert_eq!(db["required"], true);
        assert!(db["latency_ms"].as_f64().is_some() && db["pool"]["max"].as_u64() >= Some(1));
        // Where generated tests run, the sandbox's mode and what it isolates.
        if l.kind == ServiceKind::Specialists {
            let sandbox = &body["sandbox"];
            assert!(
                matches!(sandbox["mode"].as_str(), Some("bubblewrap" | "rlimits")),
                "{body}"
            );
            assert_eq!(sandbox["network_isolated"], sandbox["mode"] == "bubblewrap");
            if std::env::var_os("CI").is_some() {
                assert_eq!(sandbox["mode"], "bubblewrap", "{body}");
            }
        }
    }
    app.shutdown();
    assert!(app.wait(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_peer_that_is_down_degrades_but_does_not_unready() {
    // The orchestrator alone, with its peers pointing at a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (mut config, _data) = test_config();
    config.peers.specialists = Some(dead.clone());
    config.peers.learning = Some(dead);
    let app = spawn(&config, &[ServiceKind::Orchestrator]).await;
    let base = app.url(ServiceKind::Orchestrator).unwrap();
    let (code, body) = get_json(&format!("{base}/health/detailed")).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["specialist_agents"]["status"], "down");
    assert!(
        body["specialist_agents"]["error"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{body}"
    );
    assert_eq!(get(&format!("{base}/health/ready")).await.0, 200);
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_database_that_is_down_fails_readiness_but_not_liveness() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (mut config, _data) = test_config();
    config.database_url = Some(format!("postgres://qa@127.0.0.1:{port}/qa"));
    let app = spawn(&config, &[ServiceKind::Learning]).await;
    let base = app.url(ServiceKind::Learning).unwrap();
    assert_eq!(get(&format!("{base}/health/live")).await.0, 200);
    let (code, body) = get_json(&format!("{base}/health/ready")).await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["failing"][0], "database");
    let (code, body) = get_json(&format!("{base}/health/detailed")).await;
    assert_eq!(code, 503);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"]["status"], "down");
    assert_eq!(body["database"]["backend"], "postgres");
    assert!(body["database"]["error"].as_str().is_some(), "{body}");
    assert_eq!(get(&format!("{base}/health")).await.0, 503);
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn metrics_show_every_runbook_name_and_only_real_samples() {
    let (config, _data) = test_config();
    let app = spawn(&config, &ServiceKind::ALL).await;
    // The runbook's `curl -s <service>/metrics | grep "<name>"` checks.
    let greps: &[(ServiceKind, &[&str])] = &[
        (
            ServiceKind::Orchestrator,
            &[
                "agent_reasoning_quality_score",
                "reasoning_queue_length",
                "collaboration_effectiveness",
                "agent_response_time_seconds",
            ],
        ),
        (
            ServiceKind::Specialists,
            &["tool_execution", "tool_success_rate"],
        ),
        (
            ServiceKind::Conversation,
            &[
                "websocket_connections",
                "websocket_errors",
                "session_persistence",
            ],
        ),
        (
            ServiceKind::Learning,
            &[
                "learning_events_total",
                "learning_velocity",
                "agent_learning_velocity",
                "memory_usage",
            ],
        ),
    ];
    for (kind, names) in greps {
        let url = format!("{}/metrics", app.ops_url(*kind).unwrap());
        let r = reqwest::get(&url).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let text = r.text().await.unwrap();
        for name in *names {
            assert!(text.contains(name), "{kind}: no `{name}` in\n{text}");
        }
        // Idle: the runbook families have descriptors but no sample lines.
        for name in *names {
            // Current readings, not observations: 0 waiting is a fact.
            if *name == "memory_usage"
                || *name == "reasoning_queue_length"
                || *name == "websocket_connections"
            {
                continue;
            }
            assert!(
                !text
                    .lines()
                    .any(|l| !l.starts_with('#') && l.starts_with(name)),
                "{kind}: `{name}` has a sample on an idle install:\n{text}"
            );
        }
        assert!(!text.contains("# EOF") && !text.contains("_total_total"));
    }
    // A request is counted under its route pattern, with its status.
    let base = app.url(ServiceKind::Learning).unwrap();
    get(&format!("{base}/health/live")).await;
    get(&format!("{base}/no/such/path")).await;
    let (_, text) = get(&format!("{base}/metrics")).await;
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("route=\"/health/live\"")
            && l.contains("status=\"200\"")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("route=\"unmatched\"")
            && l.contains("status=\"404\"")),
        "{text}"
    );
    // Pool and disk readings are real: the pool's maximum, the data directory's free space.
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    assert_eq!(
        value("db_pool_max_connections{"),
        Some(f64::from(config.db_pool_size))
    );
    assert!(
        value("data_dir_free_bytes ").is_some_and(|v| v > 0.0),
        "{text}"
    );
    // The conversation manager's WebSocket port has no /metrics; its ops port does.
    let ws = app.url(ServiceKind::Conversation).unwrap();
    assert_eq!(get(&format!("{ws}/metrics")).await.0, 404);
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_and_refuses_new_ones() {
    // A slow request in flight: /health/detailed waits on a peer that accepts the
    // connection and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let (mut config, _data) = test_config();
    config.peers.specialists = Some(format!("http://{silent_addr}"));
    config.peer_timeout_ms = 1500;
    let app = spawn(&config, &[ServiceKind::Orchestrator]).await;
    let base2 = app.url(ServiceKind::Orchestrator).unwrap();
    let in_flight = tokio::spawn({
        let url = format!("{base2}/health/detailed");
        async move {
            let r = reqwest::get(&url).await?;
            let status = r.status().as_u16();
            Ok::<_, reqwest::Error>((status, r.json::<Value>().await?))
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.shutdown();
    assert!(app.wait(Duration::from_secs(10)).await, "drained in time");
    // The request in flight got its full answer, which says the service is draining.
    let (status, body) = in_flight
        .await
        .unwrap()
        .expect("in-flight request finished");
    assert_eq!(
        (status, body["status"].as_str()),
        (503, Some("draining")),
        "{body}"
    );
    assert_eq!(body["specialist_agents"]["status"], "down", "{body}");
    assert!(
        reqwest::get(format!("{base2}/health/live")).await.is_err(),
        "no new connections after shutdown"
    );
    drop(silent);
}

/// `promtool check metrics` (Debian package `prometheus`, installed by scripts/test.sh)
/// on every service's output, idle and after traffic. Skipped with a message where
/// promtool is missing, except in CI.
#[tokio::test]
async fn promtool_accepts_every_services_metrics() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    if Command::new("promtool").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool is missing in CI: scripts/test.sh installs it (Debian package prometheus)"
        );
        eprintln!("SKIPPED: promtool not installed (bash scripts/test.sh installs it)");
        return;
    }
    let (config, _data) = test_config();
    let app = spawn(&config, &ServiceKind::ALL).await;
    for round in ["idle", "after traffic"] {
        for kind in ServiceKind::ALL {
            let base = app.ops_url(kind).unwrap();
            let text = get(&format!("{base}/metrics")).await.1;
            let mut child = Command::new("promtool")
                .args(["check", "metrics"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            let report = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success() && report.trim().is_empty(),
                "{kind} ({round}): promtool says:\n{report}\n--- metrics ---\n{text}"
            );
        }
        // Traffic for the second round: successful and unmatched requests everywhere.
        for l in app.listeners() {
            get(&format!("{}/health/detailed", l.url())).await;
            get(&format!("{}/nope", l.url())).await;
        }
    }
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;
}
