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
    let (child, urls, _) = start_in(args, expected, dir.path());
    (child, urls, dir)
}

/// As [`start`], in `dir`, also returning the receiver of the later stdout lines.
fn start_in(
    args: &[&str],
    expected: usize,
    dir: &std::path::Path,
) -> (Child, Vec<String>, mpsc::Receiver<String>) {
    let mut child = serve(args, dir)
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
    (child, urls, rx)
}

fn http_get(url: &str, path: &str) -> String {
    http(url, "GET", path, None)
}

/// One HTTP/1.1 request, with a bearer key when given; the whole response as text.
fn http(url: &str, method: &str, path: &str, key: Option<&str>) -> String {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// `qa-agent admin ARGS` in `dir`; its stdout, or a panic with its stderr.
fn admin(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_qa-agent"))
        .arg("admin")
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
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

#[test]
fn first_start_prints_an_admin_key_once_and_it_works() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, urls, lines) = start_in(&["orchestrator"], 1, dir.path());
    let line = lines.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(line.contains("shown once"), "{line}");
    let key = line.rsplit(' ').next().unwrap();
    assert!(key.starts_with("qak_") && key.len() == 68, "{line}");
    let r = http(&urls[0], "GET", "/api/v1/me", Some(key));
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains(r#""role":"admin""#), "{r}");
    assert_eq!(terminate(&mut child), 0);
    // The second start finds tenants and creates (and prints) nothing.
    let (mut child, _, lines) = start_in(&["orchestrator"], 1, dir.path());
    assert!(lines.recv_timeout(Duration::from_millis(1500)).is_err());
    assert_eq!(terminate(&mut child), 0);
}

#[test]
fn admin_commands_manage_keys_and_read_only_mode_of_a_running_service() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(admin(d, &["create-tenant", "acme"]).0, 0);
    let (code, _, err) = admin(d, &["create-tenant", "acme"]);
    assert_eq!(code, 2);
    assert!(err.contains("tenant `acme` already exists"), "{err}");
    let (code, out, err) = admin(
        d,
        &[
            "create-user",
            "--tenant",
            "acme",
            "--email",
            "dev@acme.test",
            "--role",
            "member",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created member dev@acme.test"), "{out}");
    let (code, _, err) = admin(
        d,
        &["create-key", "--tenant", "nope", "--email", "dev@acme.test"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no tenant named `nope`"), "{err}");
    let (code, key, err) = admin(
        d,
        &["create-key", "--tenant", "acme", "--email", "dev@acme.test"],
    );
    assert_eq!(code, 0, "{err}");
    let key = key.trim().to_string();
    assert!(err.contains("shown once"), "{err}");

    let (mut child, urls, _) = start_in(&["orchestrator"], 1, d);
    let r = http(&urls[0], "GET", "/api/v1/me", Some(&key));
    assert!(
        r.starts_with("HTTP/1.1 200") && r.contains(r#""tenant":"acme""#),
        "{r}"
    );

    // Read-only mode: writes answer 503 with the way out named; reads keep working.
    assert_eq!(admin(d, &["read-only", "on"]).0, 0);
    let r = http(&urls[0], "POST", "/api/v1/analyses", Some(&key));
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    assert!(r.contains("read-only mode"), "{r}");
    assert!(r.to_ascii_lowercase().contains("retry-after: 5"), "{r}");
    let r = http(&urls[0], "GET", "/api/v1/me", Some(&key));
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert_eq!(admin(d, &["read-only", "off"]).0, 0);
    // Writes are accepted again (this one then fails for its empty body).
    let r = http(&urls[0], "POST", "/api/v1/analyses", Some(&key));
    assert!(r.starts_with("HTTP/1.1 415"), "{r}");
    // A stranger gets 401 in read-only mode too, not a hint about the mode.
    assert_eq!(admin(d, &["read-only", "on"]).0, 0);
    let r = http(&urls[0], "POST", "/api/v1/analyses", None);
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    assert_eq!(admin(d, &["read-only", "off"]).0, 0);

    let (code, list, _) = admin(d, &["list-keys", "--tenant", "acme"]);
    assert_eq!(code, 0);
    assert!(
        list.contains(&key[..12]) && list.contains("active"),
        "{list}"
    );
    let (code, _, err) = admin(d, &["revoke-key", "qak_"]);
    assert_eq!(code, 2);
    assert!(err.contains("at least its first 12 characters"), "{err}");
    let (code, out, err) = admin(d, &["revoke-key", &key[..12]]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("revoked"), "{out}");
    let r = http(&urls[0], "GET", "/api/v1/me", Some(&key));
    assert!(
        r.starts_with("HTTP/1.1 401") && r.contains("revoked"),
        "{r}"
    );
    assert_eq!(terminate(&mut child), 0);
}

/// A minimal OTLP/HTTP receiver: answers 200 to every POST and keeps the bodies.
fn otlp_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let kept = kept.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        reader.read_line(&mut line).unwrap();
                        if line == "\r\n" || line.is_empty() {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    kept.lock().unwrap().push(body);
                    stream
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                }
            });
        }
    });
    (url, bodies)
}

#[test]
fn one_trace_spans_the_orchestrator_request_and_the_specialists_job() {
    let (otlp, bodies) = otlp_receiver();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws/app");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("a.py"), "def f(x):\n    return eval(x)\n").unwrap();
    let key = "qak_trace_test_key_0123456789abcdef";
    let mut child = serve(&[], dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("QA_AGENT_BOOTSTRAP_KEY", key)
        .env("QA_AGENT_WORKSPACE_ROOTS", dir.path().join("ws"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let urls: Vec<String> = stdout
        .lines()
        .map_while(Result::ok)
        .take(5)
        .filter_map(|l| {
            l.split(" listening on ")
                .nth(1)
                .map(|u| u.split(' ').next().unwrap().to_string())
        })
        .collect();
    let orchestrator = &urls[0];
    // The caller's trace: 32 hex digits of trace id, 16 of parent span id.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let host = orchestrator.trim_start_matches("http://");
    let body = format!("{{\"path\": \"{}\"}}", ws.display());
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST /api/v1/analyses HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\
         traceparent: 00-{trace_id}-00f067aa0ba902b7-01\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    // Wait for the job to finish, then stop (which flushes the exporter).
    let id = response
        .split("\"id\":")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http(
        orchestrator,
        "GET",
        &format!("/api/v1/analyses/{id}"),
        Some(key),
    )
    .contains("\"status\":\"done\"")
    {
        assert!(Instant::now() < deadline, "analysis not done");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(terminate(&mut child), 0);
    let trace_bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace_id[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    // Every exported span, decoded: (name, trace id, service attribute).
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    let mut spans = Vec::new();
    for body in bodies.lock().unwrap().iter() {
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
        for rs in request.resource_spans {
            for ss in rs.scope_spans {
                for span in ss.spans {
                    let service = span
                        .attributes
                        .iter()
                        .find(|a| a.key == "service")
                        .and_then(|a| a.value.as_ref())
                        .map(|v| format!("{:?}", v.value));
                    spans.push((span.name, span.trace_id, service.unwrap_or_default()));
                }
            }
        }
    }
    // The orchestrator's request, the wake-up call on the specialist service and the job
    // it ran all carry the caller's trace id.
    for (name, service) in [
        ("POST /api/v1/analyses", "agent-orchestrator"),
        ("POST /internal/v1/wake", "specialist-agents"),
        ("analysis job", "specialist-agents"),
    ] {
        assert!(
            spans
                .iter()
                .any(|(n, t, s)| n == name && *t == trace_bytes && s.contains(service)),
            "no `{name}` span of {service} in the caller's trace: {spans:?}"
        );
    }
}
