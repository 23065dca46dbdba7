//! A conversation survives `kill -9` of the server mid-answer: after a restart on the same
//! data, the session, its question and every completed event are there, and the turn
//! that was cut off is reported as interrupted, not silently lost.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::Message;
use tungstenite::client::IntoClientRequest;

const KEY: &str = "qak_conversation_test_key_0123456789abcdef";

/// A model that accepts the question and never answers: the turn hangs until the kill.
fn hanging_model() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut s = stream;
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = s.read(&mut buf);
            held.push(s);
        }
    });
    format!("http://{addr}/v1")
}

/// `qa-agent serve` on free ports over `dir`; the conversation manager's URL.
fn serve(dir: &std::path::Path, model: &str) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qa-agent"));
    cmd.arg("serve").current_dir(dir);
    for var in [
        "QA_AGENT_ORCHESTRATOR_PORT",
        "QA_AGENT_SPECIALISTS_PORT",
        "QA_AGENT_CONVERSATION_PORT",
        "QA_AGENT_CONVERSATION_OPS_PORT",
        "QA_AGENT_LEARNING_PORT",
    ] {
        cmd.env(var, "0");
    }
    cmd.env("QA_AGENT_BOOTSTRAP_KEY", KEY)
        .env("QA_AGENT_WORKSPACE_ROOTS", dir.join("ws"))
        .env("QA_AGENT_LLM_PROVIDER", "openai")
        .env("QA_AGENT_LLM_MODEL", "stub")
        .env("QA_AGENT_LLM_BASE_URL", model)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        assert!(Instant::now() < deadline, "no conversation-manager line");
        let line = lines.next().expect("stdout line").unwrap();
        if line.contains("conversation-manager listening on") && !line.contains("(health") {
            break line
                .split(" listening on ")
                .nth(1)
                .unwrap()
                .trim()
                .to_string();
        }
    };
    // Keep reading stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

type Socket = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>;

fn connect(url: &str) -> Socket {
    let mut req = format!("{}/ws", url.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {KEY}").parse().unwrap());
    let (mut ws, _) = tungstenite::connect(req).expect("upgrade");
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    }
    ws
}

fn next(ws: &mut Socket) -> Value {
    loop {
        match ws.read().expect("a frame") {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

#[test]
fn kill_9_mid_answer_loses_nothing_completed_and_reports_the_turn_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ws/shop")).unwrap();
    std::fs::write(
        dir.path().join("ws/shop/app.py"),
        "def run(request):\n    return eval(request.args['q'])\n",
    )
    .unwrap();
    let model = hanging_model();
    let (mut server, url) = serve(dir.path(), &model);

    let mut ws = connect(&url);
    ws.send(Message::text(json!({ "type": "hello" }).to_string()))
        .unwrap();
    let conversation = next(&mut ws)["conversation_id"].as_i64().unwrap();
    let path = dir.path().join("ws/shop").display().to_string();
    ws.send(Message::text(
        json!({ "type": "message", "text": "review app.py for security", "path": path })
            .to_string(),
    ))
    .unwrap();
    // The question is stored, the analysis step too; then the model hangs.
    let mut completed = Vec::new();
    while !completed
        .iter()
        .any(|e: &Value| e["action"] == "analyze_repository")
    {
        completed.push(next(&mut ws));
    }
    server.kill().unwrap(); // SIGKILL: no drain, no goodbye.
    server.wait().unwrap();

    let (mut server, url) = serve(dir.path(), &model);
    let mut ws = connect(&url);
    ws.send(Message::text(
        json!({ "type": "resume", "conversation_id": conversation }).to_string(),
    ))
    .unwrap();
    let session = next(&mut ws);
    assert_eq!(session["resumed"], true, "{session}");
    // Every event it had sent is there again, in order, then the interruption.
    let mut replay = Vec::new();
    loop {
        let e = next(&mut ws);
        let end = e["type"] == "error";
        replay.push(e);
        if end {
            break;
        }
    }
    let (interrupted, before) = replay.split_last().unwrap();
    assert_eq!(interrupted["code"], "interrupted", "{interrupted}");
    assert_eq!(interrupted["id"], before.len() as i64 + 1);
    for (sent, again) in completed.iter().zip(before) {
        assert_eq!(sent, again);
    }
    assert_eq!(before[0]["text"], "review app.py for security");
    server.kill().unwrap();
    server.wait().unwrap();
}
