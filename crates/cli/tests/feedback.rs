//! Feedback from the command line changes what the next `qa-agent analyze` reports:
//! `qa-agent serve` as a process, an analysis through its API, then `qa-agent feedback`
//! dismisses a finding and `qa-agent analyze --dismissals` leaves it out, until undone.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const KEY: &str = "qak_feedback_test_key_0123456789abcdef";

struct Served {
    child: Child,
    orchestrator: String,
    learning: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &std::path::Path) -> Served {
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
    let mut child = cmd
        .env("QA_AGENT_BOOTSTRAP_KEY", KEY)
        .env("QA_AGENT_WORKSPACE_ROOTS", dir.join("ws"))
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut orchestrator, mut learning) = (String::new(), String::new());
    for line in lines.map_while(Result::ok) {
        let url = |l: &str| {
            l.split(" listening on ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .unwrap_or_default()
                .to_string()
        };
        if line.contains("agent-orchestrator listening") {
            orchestrator = url(&line);
        }
        if line.contains("learning-engine listening") {
            learning = url(&line);
        }
        if !orchestrator.is_empty() && !learning.is_empty() {
            break;
        }
    }
    assert!(!orchestrator.is_empty() && !learning.is_empty());
    Served {
        child,
        orchestrator,
        learning,
    }
}

fn api(method: &str, url: &str, body: Option<Value>) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new()
            .request(method.parse().unwrap(), url)
            .bearer_auth(KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        r.json().await.unwrap_or_default()
    })
}

fn qa(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qa-agent"))
        .args(args)
        .current_dir(dir)
        .env_remove("QA_AGENT_API_KEY")
        .output()
        .unwrap()
}

/// The `qa-agent analyze --dismissals` report's finding with this fingerprint.
fn analysed(dir: &std::path::Path, learning: &str, fingerprint: &str) -> Value {
    let repo = dir.join("ws/shop");
    let out = qa(
        dir,
        &[
            "analyze",
            repo.to_str().unwrap(),
            "--format",
            "json",
            "-q",
            "--dismissals",
            learning,
            "--api-key",
            KEY,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["findings"].as_array().unwrap().clone())
        .find(|f| f["fingerprint"] == fingerprint)
        .unwrap_or_else(|| panic!("no finding {fingerprint} in {report}"))
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_finding_dismissed_with_qa_agent_feedback_is_left_out_of_the_next_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("ws/shop");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join("tools.py"),
        "def make_getter(name):\n    exec(f\"def get_{name}(self): return self._{name}\")\n",
    )
    .unwrap();
    let s = serve(dir.path());
    let submitted = api(
        "POST",
        &format!("{}/api/v1/analyses", s.orchestrator),
        Some(json!({ "path": repo })),
    );
    let id = submitted["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{submitted}"));
    eventually("the analysis is done", || {
        api(
            "GET",
            &format!("{}/api/v1/analyses/{id}", s.orchestrator),
            None,
        )["status"]
            == "done"
    });
    let findings = api(
        "GET",
        &format!("{}/api/v1/analyses/{id}/findings", s.orchestrator),
        None,
    );
    let exec = findings["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("exec"))
        .unwrap_or_else(|| panic!("{findings}"))
        .clone();
    let fingerprint = exec["fingerprint"].as_str().unwrap();
    assert!(
        analysed(dir.path(), &s.learning, fingerprint)["suppressions"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );

    // Dismissed from the command line: the next analysis has it suppressed, saying why.
    let finding_id = exec["id"].to_string();
    let out = qa(
        dir.path(),
        &[
            "feedback",
            "--server",
            &s.learning,
            "--api-key",
            KEY,
            "dismiss",
            &finding_id,
            "--reason",
            "test_code",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains("stored"), "{said}");
    let feedback_id: String = said
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_matches('"')
        .to_string();
    eventually("the dismissal is learned", || {
        analysed(dir.path(), &s.learning, fingerprint)["suppressions"]
            .to_string()
            .contains("test_code")
    });

    // Undone: reported again.
    let out = qa(
        dir.path(),
        &[
            "feedback",
            "--server",
            &s.learning,
            "--api-key",
            KEY,
            "undo",
            &feedback_id,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually("the undo is learned", || {
        analysed(dir.path(), &s.learning, fingerprint)["suppressions"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    });

    // A finding that does not exist, and no key: clear errors, exit 2 (a usage or
    // service error, as for every command).
    let out = qa(
        dir.path(),
        &[
            "feedback",
            "--server",
            &s.learning,
            "--api-key",
            KEY,
            "dismiss",
            "999999",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("404") && err.contains("finding 999999"),
        "{err}"
    );
    let out = qa(dir.path(), &["feedback", "--server", &s.learning, "state"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("API key"));
}
