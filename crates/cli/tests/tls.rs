//! HTTPS as an operator runs it: `qa-agent serve` with a certificate from a private CA, the
//! services calling each other over it, and `scripts/renew_certificates.sh` replacing the
//! certificate (SIGHUP) while fresh connections keep being answered; a pair that does not
//! match is refused and changes nothing; `--check` and `qa-agent doctor` report expiry.
//!
//! Needs openssl and curl (scripts/test.sh installs them); skipped otherwise, except in CI.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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

fn run(cmd: &mut Command) -> (i32, String) {
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

fn openssl(dir: &Path, args: &[&str]) {
    let (rc, out) = run(Command::new("openssl").current_dir(dir).args(args));
    assert_eq!(rc, 0, "openssl {args:?}: {out}");
}

/// A P-256 key and a certificate for localhost/127.0.0.1 signed by the test CA.
fn issue(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (crt, key, csr) = (
        format!("{name}.crt"),
        format!("{name}.key"),
        format!("{name}.csr"),
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=qa-agent",
            "-keyout",
            &key,
            "-out",
            &csr,
        ],
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "leaf.ext",
            "-out",
            &crt,
        ],
    );
    (dir.join(crt), dir.join(key))
}

fn qa_agent(args: &[&str], ca: &Path) -> (i32, String) {
    run(Command::new(env!("CARGO_BIN_EXE_qa-agent"))
        .args(args)
        .env("QA_AGENT_TLS_CA", ca))
}

fn served(url: &str, ca: &Path) -> String {
    let (rc, out) = qa_agent(&["tls", "served", url, "--json"], ca);
    assert_eq!(rc, 0, "{out}");
    serde_json::from_str::<serde_json::Value>(&out).unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

fn fingerprint(crt: &Path, key: &Path, ca: &Path) -> String {
    let (rc, out) = qa_agent(
        &[
            "tls",
            "check",
            "--cert",
            crt.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--json",
        ],
        ca,
    );
    assert_eq!(rc, 0, "{out}");
    serde_json::from_str::<serde_json::Value>(&out).unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

fn curl(args: &[&str]) -> (i32, String) {
    run(Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .args(args))
}

#[test]
fn the_services_serve_https_and_a_renewal_reaches_new_connections_without_a_restart() {
    if !(have("openssl") && have("curl")) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path();
    openssl(
        pki,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=qa-agent test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    let ca = pki.join("ca.crt");
    let (old_crt, old_key) = issue(pki, "old");
    let (new_crt, new_key) = issue(pki, "new");
    let (_, stray_key) = issue(pki, "stray");
    let tls_dir = pki.join("tls");
    std::fs::create_dir(&tls_dir).unwrap();
    std::fs::copy(&old_crt, tls_dir.join("tls.crt")).unwrap();
    std::fs::copy(&old_key, tls_dir.join("tls.key")).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_qa-agent"))
        .arg("serve")
        .current_dir(pki)
        .env("QA_AGENT_DATA_DIR", pki.join("data"))
        .env("QA_AGENT_ORCHESTRATOR_PORT", "0")
        .env("QA_AGENT_SPECIALISTS_PORT", "0")
        .env("QA_AGENT_CONVERSATION_PORT", "0")
        .env("QA_AGENT_CONVERSATION_OPS_PORT", "0")
        .env("QA_AGENT_LEARNING_PORT", "0")
        .env("QA_AGENT_TLS_CERT", tls_dir.join("tls.crt"))
        .env("QA_AGENT_TLS_KEY", tls_dir.join("tls.key"))
        .env("QA_AGENT_TLS_CA", &ca)
        // Only SIGHUP reloads within this test's time: it proves the signal path.
        .env("QA_AGENT_TLS_RELOAD_SECS", "3600")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let mut urls = std::collections::BTreeMap::new();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while urls.len() < 5 && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some((name, url)) = line
            .strip_prefix("qa-agent: ")
            .and_then(|l| l.split_once(" listening on "))
        {
            let url = url.split(' ').next().unwrap().to_string();
            assert!(url.starts_with("https://"), "{line}");
            let key = if line.ends_with("(health, metrics)") {
                format!("{name}-ops")
            } else {
                name.to_string()
            };
            urls.insert(key, url);
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let orchestrator = urls["agent-orchestrator"].clone();
    let learning = urls["learning-engine"].clone();
    let ca_s = ca.to_str().unwrap();

    // HTTPS with the CA; plain HTTP on the same port gets no answer.
    let (rc, out) = curl(&[
        "-f",
        "--cacert",
        ca_s,
        &format!("{orchestrator}/health/ready"),
    ]);
    assert_eq!(rc, 0, "{out}");
    let (rc, _) = curl(&["-f", &orchestrator.replace("https://", "http://")]);
    assert_ne!(
        rc, 0,
        "plain HTTP must not be answered on an HTTPS listener"
    );
    // The orchestrator reaches its peers over HTTPS, trusting the configured CA.
    let (_, out) = curl(&["--cacert", ca_s, &format!("{orchestrator}/health/detailed")]);
    let detail: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(detail["status"], "ok", "{detail:#}");
    for peer in ["specialist_agents", "learning_engine"] {
        assert_eq!(detail[peer]["status"], "up", "{detail:#}");
    }
    let old = fingerprint(&old_crt, &old_key, &ca);
    assert_eq!(detail["tls"]["certificate"]["sha256"], old.as_str());
    assert_eq!(served(&orchestrator, &ca), old);

    // Fresh connections, one after another, all through the renewal.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let hammer = {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let (url, ca) = (format!("{orchestrator}/health/live"), ca_s.to_string());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let counter = if curl(&["-f", "--cacert", &ca, &url]).0 == 0 {
                    &ok
                } else {
                    &failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/renew_certificates.sh");
    let renew = |args: &[&str]| {
        run(Command::new("bash")
            .arg(&script)
            .args(args)
            .env("TLS_DIR", &tls_dir)
            .env("QA_AGENT", env!("CARGO_BIN_EXE_qa-agent"))
            .env("QA_AGENT_TLS_CA", &ca))
    };
    let (rc, out) = renew(&[
        "--from",
        new_crt.to_str().unwrap(),
        new_key.to_str().unwrap(),
        "--url",
        &orchestrator,
        "--url",
        &learning,
        "--pid",
        &pid,
        "--timeout",
        "20",
    ]);
    assert_eq!(rc, 0, "{out}");
    let new = fingerprint(&new_crt, &new_key, &ca);
    assert_ne!(new, old);
    assert_eq!(served(&orchestrator, &ca), new);
    assert_eq!(served(&learning, &ca), new);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    hammer.join().unwrap();
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed during the renewal"
    );
    assert!(ok.load(Ordering::Relaxed) > 0);
    eprintln!(
        "{} fresh connections answered during the renewal, none failed",
        ok.load(Ordering::Relaxed)
    );
    assert_eq!(
        std::fs::read(tls_dir.join("tls.crt.previous")).unwrap(),
        std::fs::read(&old_crt).unwrap()
    );
    let (_, metrics) = curl(&["--cacert", ca_s, &format!("{orchestrator}/metrics")]);
    assert!(
        metrics.contains("tls_certificate_reloads_total{result=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("tls_certificate_expiry_timestamp_seconds "));

    // A key that does not belong to the certificate: refused, nothing changes.
    let (rc, out) = renew(&[
        "--from",
        old_crt.to_str().unwrap(),
        stray_key.to_str().unwrap(),
        "--pid",
        &pid,
    ]);
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("nothing was changed"), "{out}");
    assert_eq!(
        std::fs::read(tls_dir.join("tls.crt")).unwrap(),
        std::fs::read(&new_crt).unwrap()
    );
    assert_eq!(served(&orchestrator, &ca), new);

    // Expiry: 30-day certificates pass a 7-day check and fail a 60-day one.
    let (rc, out) = renew(&["--check", "--min-days", "7", "--url", &orchestrator]);
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = renew(&["--check", "--min-days", "60"]);
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("fewer than --min-days 60"), "{out}");

    // The doctor reads each service's certificate.
    let (_, out) = qa_agent(
        &[
            "doctor",
            "--json",
            "--orchestrator",
            &orchestrator,
            "--specialists",
            &urls["specialist-agents"],
            "--conversation",
            &urls["conversation-manager-ops"],
            "--learning",
            &learning,
        ],
        &ca,
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let passed: Vec<&str> = report["passed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["check"].as_str())
        .collect();
    for service in [
        "agent-orchestrator",
        "specialist-agents",
        "conversation-manager",
        "learning-engine",
    ] {
        assert!(
            passed.contains(&format!("tls:{service}").as_str()),
            "{report:#}"
        );
    }
}
