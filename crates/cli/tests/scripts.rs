//! The runbook's notification scripts against a local receiver standing in for the
//! webhook and for Grafana: what they send, and that a refusal fails them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;

/// Answers every request with `status`; sends (path, headers, body) of each.
fn receiver(status: u16) -> (u16, mpsc::Receiver<(String, String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut headers = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                headers.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let path = request_line
                .split(' ')
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let _ = tx.send((path, headers, String::from_utf8_lossy(&body).into_owned()));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
            );
        }
    });
    (port, rx)
}

fn script(name: &str, args: &[&str], env: &[(&str, String)]) -> (i32, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("scripts").join(name))
        .args(args)
        .env("QA_AGENT", env!("CARGO_BIN_EXE_qa-agent"))
        // Nothing listens here: the version is reported as unknown.
        .env("QA_AGENT_ORCHESTRATOR_URL", "http://127.0.0.1:9");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn have(tool: &str) -> bool {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is missing in CI (scripts/test.sh installs it)"
        );
        eprintln!("SKIPPED: {tool} not installed");
    }
    ok
}

#[test]
fn the_rollback_notification_reaches_the_webhook_and_a_refusal_fails_it() {
    if !(have("curl") && have("jq")) {
        return;
    }
    let (port, rx) = receiver(200);
    let (rc, out) = script(
        "send_rollback_notification.sh",
        &["orchestrator v2.1.1 rolled back to v2.1.0: error rate"],
        &[
            (
                "ROLLBACK_WEBHOOK_URL",
                format!("http://127.0.0.1:{port}/hook"),
            ),
            ("QA_AGENT_ENVIRONMENT", "staging".into()),
        ],
    );
    assert_eq!(rc, 0, "{out}");
    let (path, headers, body) = rx.recv().unwrap();
    assert_eq!(path, "/hook");
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["event"], "rollback");
    assert_eq!(v["environment"], "staging");
    assert!(
        v["text"]
            .as_str()
            .unwrap()
            .starts_with("[staging] orchestrator v2.1.1 rolled back to v2.1.0: error rate"),
        "{v}"
    );
    assert!(v["version"].as_str().unwrap().starts_with("unknown"), "{v}");

    let (port, _rx) = receiver(500);
    let (rc, out) = script(
        "send_rollback_notification.sh",
        &[],
        &[(
            "ROLLBACK_WEBHOOK_URL",
            format!("http://127.0.0.1:{port}/hook"),
        )],
    );
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("did not accept"), "{out}");
    let (rc, out) = script("send_rollback_notification.sh", &[], &[]);
    assert_eq!(rc, 2, "{out}");
}

#[test]
fn dashboards_are_pushed_to_grafana_tagged_with_the_version() {
    if !(have("curl") && have("jq")) {
        return;
    }
    let (port, rx) = receiver(200);
    let (rc, out) = script(
        "update_dashboards_for_new_version.sh",
        &["2.1.0"],
        &[
            ("GRAFANA_URL", format!("http://127.0.0.1:{port}")),
            ("GRAFANA_TOKEN", "glsa_test".into()),
        ],
    );
    assert_eq!(rc, 0, "{out}");
    let mut titles = Vec::new();
    for _ in 0..2 {
        let (path, headers, body) = rx.recv().unwrap();
        assert_eq!(path, "/api/dashboards/db");
        assert!(headers.contains("Bearer glsa_test"), "{headers}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["overwrite"], true);
        assert!(v["dashboard"]["id"].is_null());
        let tags = v["dashboard"]["tags"].as_array().unwrap();
        assert!(tags.contains(&"qa-agent-v2.1.0".into()), "{tags:?}");
        assert!(v["dashboard"]["panels"].as_array().unwrap().len() >= 10);
        titles.push(v["dashboard"]["title"].as_str().unwrap().to_string());
    }
    titles.sort();
    assert_eq!(
        titles,
        ["qa-agent: agent intelligence", "qa-agent: operations"]
    );

    let (port, _rx) = receiver(403);
    let (rc, out) = script(
        "update_dashboards_for_new_version.sh",
        &[],
        &[
            ("GRAFANA_URL", format!("http://127.0.0.1:{port}")),
            ("GRAFANA_TOKEN", "wrong".into()),
        ],
    );
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("refused"), "{out}");
}
