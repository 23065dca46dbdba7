//! The web UI: its files under a strict Content-Security-Policy, the orchestrator's
//! analyses through the conversation manager's origin, the operations overview, and the
//! whole UI in headless Chromium (tests/ui/e2e.mjs: log in, ask, steps stream, answer,
//! feedback, reload, analysis and operations pages, axe-core on each).

use std::path::{Path, PathBuf};

use qa_server::ServiceKind;
use serde_json::{Value, json};

use crate::analyses::{analyse, workspace};
use crate::helpers::{ADMIN_KEY, call, get, spawn, test_config};

#[tokio::test]
async fn the_ui_is_served_with_a_strict_policy_and_reaches_the_analyses_through_its_origin() {
    let ws_dir = workspace();
    let (mut config, _data) = test_config();
    config.workspace_roots = vec![ws_dir.path().to_path_buf()];
    let running = spawn(&config, &ServiceKind::ALL).await;
    let chat = running.url(ServiceKind::Conversation).unwrap();

    let page = reqwest::get(format!("{chat}/")).await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<script src=\"/ui/app.js\"")
    );
    for (file, kind) in [
        ("app.js", "text/javascript"),
        ("app.css", "text/css"),
        ("purify.js", "text/javascript"),
    ] {
        let r = reqwest::get(format!("{chat}/ui/{file}")).await.unwrap();
        assert_eq!(r.status(), 200, "{file}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind),
            "{file}"
        );
    }
    for bad in [
        "/ui/nope.js",
        "/ui/..%2F..%2FCargo.toml",
        "/ui/%2e%2e/app.js",
    ] {
        let (code, _) = get(&format!("{chat}{bad}")).await;
        assert_eq!(code, 404, "{bad}");
    }
    // The UI is the conversation manager's, not on its metrics port.
    let ops = running.ops_url(ServiceKind::Conversation).unwrap();
    assert_eq!(get(&format!("{ops}/")).await.0, 404);

    // Analyses through the conversation manager: submitted, listed, read, as on :8000.
    let id = analyse(&chat, ADMIN_KEY, &ws_dir.path().join("shop")).await;
    let url = format!("{chat}/api/v1/analyses/{id}/findings");
    let (code, _, all) = call("GET", &url, Some(ADMIN_KEY), None).await;
    assert_eq!(code, 200, "{all}");
    let severity = all["items"][0]["severity"]
        .as_str()
        .expect("a finding")
        .to_string();
    let (_, _, some) = call(
        "GET",
        &format!("{url}?severity={severity}"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    let items = some["items"].as_array().unwrap();
    assert!(
        !items.is_empty() && items.iter().all(|f| f["severity"] == severity.as_str()),
        "{some}"
    );
    let (code, _, missing) = call(
        "GET",
        &format!("{chat}/api/v1/analyses/999999"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(
        (code, missing["status"].clone()),
        (404, json!(404)),
        "{missing}"
    );
    // Never relayed without a credential (the orchestrator trusts this process's address
    // for keyless operational calls), nor with a wrong one.
    for key in [None, Some("qak_wrong")] {
        let (code, _, body) = call("GET", &format!("{chat}/api/v1/analyses"), key, None).await;
        assert_eq!(code, 401, "{body}");
    }
    // Only the analyses routes are relayed.
    let (code, _, _) = call(
        "GET",
        &format!("{chat}/api/v1/agent/tasks"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(code, 404);

    // The operations overview: every service up, with its traffic and saturation.
    let (code, _, overview) = call(
        "GET",
        &format!("{chat}/api/v1/operations"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(code, 200, "{overview}");
    let services = overview["services"].as_array().unwrap();
    assert_eq!(services.len(), 4, "{overview}");
    for s in services {
        assert_eq!(s["up"], true, "{s}");
        assert!(
            s["metrics"]["resident_memory_bytes"].as_f64().unwrap() > 0.0,
            "{s}"
        );
    }
    let orchestrator = services
        .iter()
        .find(|s| s["service"] == "agent-orchestrator")
        .unwrap();
    assert!(
        orchestrator["metrics"]["requests_total"].as_f64().unwrap() >= 3.0,
        "{orchestrator}"
    );
    let (code, _, _) = call("GET", &format!("{chat}/api/v1/operations"), None, None).await;
    assert_eq!(code, 401);
    running.shutdown();
}

/// Node, Chromium and the test's npm packages, or why they are missing.
fn browser_kit() -> Result<(PathBuf, PathBuf), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui");
    let chromium = std::env::var_os("QA_UI_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        return Err(format!("no browser at {}", chromium.display()));
    }
    if !dir.join("node_modules/playwright-core").exists() {
        return Err("tests/ui/node_modules is missing (npm ci in tests/ui)".into());
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err("node is not installed".into());
    }
    Ok((dir, chromium))
}

#[tokio::test]
async fn the_web_ui_works_end_to_end_in_headless_chromium() {
    let (dir, chromium) = match browser_kit() {
        Ok(kit) => kit,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("the browser test cannot run in CI: {why}; scripts/test.sh installs it")
        }
        Err(why) => {
            eprintln!("SKIPPED the browser test: {why} (bash scripts/test.sh installs it)");
            return;
        }
    };
    let ws_dir = workspace();
    // A web route, so that a load test can be written for it.
    std::fs::write(
        ws_dir.path().join("shop/pkg/web.py"),
        "from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.route(\"/total\")\ndef total():\n    return str(sum(range(10)))\n",
    )
    .unwrap();
    let (mut config, _data) = test_config();
    config.workspace_roots = vec![ws_dir.path().to_path_buf()];
    let running = spawn(&config, &ServiceKind::ALL).await;
    let chat = running.url(ServiceKind::Conversation).unwrap();
    analyse(&chat, ADMIN_KEY, &ws_dir.path().join("shop")).await;

    // Every browser step has its own timeout (30 s), so the script always ends.
    let (url, script) = (chat.clone(), dir.join("e2e.mjs"));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .current_dir(&dir)
            .env("QA_UI_URL", url)
            .env("QA_UI_KEY", ADMIN_KEY)
            .env("QA_UI_CHROMIUM", chromium)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    eprintln!("browser test: {seen}");

    // The thumbs up is stored as a rating of that answer.
    let conversation = seen["conversation"].as_i64().unwrap();
    let (_, _, export) = call(
        "GET",
        &format!("{chat}/api/v1/conversations/{conversation}/export?format=json"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    let answers: Vec<&Value> = export["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "answer")
        .collect();
    assert_eq!(answers.len(), 2);
    let db = qa_store::Database::open(None, &config.data_dir, 1)
        .await
        .unwrap();
    let tenant = db.tenant_by_name("default").await.unwrap().unwrap();
    let about = async |target: String| {
        let f = db
            .feedback_about(tenant.id, "answer", &target)
            .await
            .unwrap();
        f.into_iter()
            .map(|f| (f.kind, f.rating))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        about(answers[0]["task_id"].to_string()).await,
        [("rating".to_string(), Some(5))]
    );
    // The k6 script was accepted.
    assert_eq!(
        about(format!("{}:artifact:0", answers[1]["task_id"])).await,
        [("accept".to_string(), None)]
    );
    // The conversation is named after its question.
    let (_, _, list) = call(
        "GET",
        &format!("{chat}/api/v1/conversations"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(
        list["conversations"][0]["title"],
        "What should I test first?"
    );
    running.shutdown();
}
