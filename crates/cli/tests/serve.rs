//! `qa-agent serve` as operators run it: the real binary, every listener on a free port,
//! health over HTTP, SIGTERM for a clean exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PORT_VARS: [&str; 5] = [
    "QA_AGENT_ORCHESTRATOR_PORT",
    "QA_AGENT_SPECIALISTS_PORT",
    "QA_AGENT_CONVERSATION_PORT",
    "QA_AGENT_CONVERSATION_OPS_PORT",
    "QA_AGENT_LEARNING_PORT",
];

fn serve(args: &[&str], dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qa-agent"));
    cmd.arg("serve").args(args).current_dir(dir);
    for var in PORT_VARS {
        cmd.env(var, "0");
    }
    cmd
}

/// Starts the server and returns it with the URLs it printed, once `expected` listeners
/// are up.
fn start(args: &[&str], expected: usize) -> (Child, Vec<String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = serve(args, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut urls = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while urls.len() < expected {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("listener lines on stdout");
        let url = line
            .split(" listening on ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_else(|| panic!("unexpected line: {line}"));
        urls.push(url.to_string());
    }
    (child, urls, dir)
}

fn http_get(url: &str, path: &str) -> String {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn terminate(child: &mut Child) -> i32 {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "no exit within 15 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_runs_all_four_services_and_exits_cleanly_on_sigterm() {
    let (mut child, urls, _dir) = start(&[], 5);
    for url in &urls {
        let r = http_get(url, "/health/live");
        assert!(r.starts_with("HTTP/1.1 200"), "{url}: {r}");
        assert!(r.contains(r#""status":"alive""#), "{r}");
    }
    // The learning engine (the last line) exposes the runbook's learning metrics.
    let metrics = http_get(urls.last().unwrap(), "/metrics");
    assert!(metrics.contains("learning_events_total"), "{metrics}");
    assert_eq!(terminate(&mut child), 0);
}

#[test]
fn logs_go_to_daily_files_in_the_log_directory() {
    let logs = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut child = serve(&["learning"], dir.path())
        .env("QA_AGENT_LOG_DIR", logs.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first stdout line means the service is up (and has logged that it listens).
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("learning-engine listening on"), "{first}");
    assert_eq!(terminate(&mut child), 0);
    let files: Vec<_> = std::fs::read_dir(logs.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    // `find /var/log/qa-agent -name "*.log" -mtime +7 -delete` (runbook) must find them.
    assert!(
        name.starts_with("qa-agent.") && name.ends_with(".log"),
        "{name}"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        text.contains(" INFO ") && text.contains("listening"),
        "{text}"
    );
    assert!(text.contains("shutting down"), "{text}");
}

#[test]
fn serve_one_service_opens_only_its_listener() {
    let (mut child, urls, _dir) = start(&["learning"], 1);
    let r = http_get(&urls[0], "/health");
    assert!(r.contains(r#""service":"learning-engine""#), "{r}");
    assert_eq!(terminate(&mut child), 0);
}

#[test]
fn bad_configuration_is_refused_with_the_setting_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = serve(&[], dir.path())
        .env("QA_AGENT_PEER_TIMEOUT_MS", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("QA_AGENT_PEER_TIMEOUT_MS"), "{err}");

    std::fs::write(dir.path().join("qa-agent.toml"), "[server]\nprot = 1\n").unwrap();
    let out = serve(&[], dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("prot"), "{err}");

    // A port already taken: the error names the service and the setting.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    std::fs::remove_file(dir.path().join("qa-agent.toml")).unwrap();
    let out = serve(&["specialists"], dir.path())
        .env("QA_AGENT_SPECIALISTS_PORT", &port)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("specialist-agents") && err.contains("ports.specialists"),
        "{err}"
    );
}

#[test]
fn analyze_accepts_a_config_file_with_a_server_table() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("qa-agent.toml"),
        "[server.ports]\norchestrator = 9000\n[thresholds]\ncyclomatic = 3\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("a.py"), "def f(x):\n    return x\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_qa-agent"))
        .args(["analyze", ".", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
