//! `qa-agent doctor`: the runbook's checks against a running deployment, as a P0/P1/P2
//! report with the runbook's action for each problem. It reads only what an operator
//! could: each service's `/health/*` and `/metrics`, one authentication probe, and the
//! backup directory when given one.
//!
//! Metrics thresholds are judged on one scrape, so rates are since each service started
//! (Prometheus' alerts in `deploy/prometheus/alerts.yml` judge the same conditions over
//! time windows).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::ServiceKind;
use crate::scrape::{Scrape, server_error};

/// A problem's urgency, as the runbook ranks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Severity {
    P2,
    P1,
    P0,
}

impl Severity {
    /// The process exit code for a report whose worst problem has this severity (2 is
    /// the CLI's usage error, so P1 is 3).
    pub fn exit_code(self) -> i32 {
        match self {
            Severity::P2 => 1,
            Severity::P1 => 3,
            Severity::P0 => 4,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub severity: Severity,
    /// What was checked (`service:learning-engine`, `database`, `metrics:memory`, ...).
    pub check: String,
    pub detail: String,
    /// What the runbook says to do.
    pub action: String,
    /// The runbook section with the procedure.
    pub runbook: String,
}

/// One check that passed or could not run.
#[derive(Debug, Clone, Serialize)]
pub struct Passed {
    pub check: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `healthy`, or the worst severity found (`P0`, `P1`, `P2`).
    pub status: String,
    pub problems: Vec<Problem>,
    pub passed: Vec<Passed>,
    /// Checks that could not run (a service down hides its metrics), with why.
    pub skipped: Vec<Passed>,
}

impl Report {
    pub fn worst(&self) -> Option<Severity> {
        self.problems.iter().map(|p| p.severity).max()
    }

    pub fn exit_code(&self) -> i32 {
        self.worst().map_or(0, Severity::exit_code)
    }
}

/// Where the deployment is and what to check.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URLs by service (the conversation manager's ops port, 8081).
    pub services: BTreeMap<ServiceKind, String>,
    /// An API key to check that a valid key is accepted (optional).
    pub api_key: Option<String>,
    /// The directory `qa-agent backup` writes to, for the backup-age check.
    pub backups: Option<PathBuf>,
    /// The newest backup may be this old before it counts as stale.
    pub backup_max_age: Duration,
    pub timeout: Duration,
    /// Extra roots to trust for services that serve HTTPS with a private CA.
    pub ca: Option<PathBuf>,
}

impl Target {
    /// The runbook's ports on one host (`127.0.0.1` in all-in-one mode), over
    /// `scheme` (`http`, or `https` when the services serve a certificate).
    pub fn on_host(host: &str, scheme: &str) -> Target {
        let url = |port: u16| format!("{scheme}://{host}:{port}");
        Target {
            services: BTreeMap::from([
                (ServiceKind::Orchestrator, url(8000)),
                (ServiceKind::Specialists, url(8001)),
                (ServiceKind::Conversation, url(8081)),
                (ServiceKind::Learning, url(8002)),
            ]),
            api_key: None,
            backups: None,
            backup_max_age: Duration::from_secs(26 * 3600),
            timeout: Duration::from_secs(5),
            ca: None,
        }
    }

    /// The HTTP client for the checks: the target's timeout and trusted roots.
    pub fn client(&self) -> Result<reqwest::Client, String> {
        crate::tls::client_builder(self.ca.as_deref())
            .map_err(|e| e.to_string())?
            .timeout(self.timeout)
            .build()
            .map_err(|e| e.to_string())
    }
}

const RUNBOOK: &str = "docs/production-runbook.md";

struct Findings {
    problems: Vec<Problem>,
    passed: Vec<Passed>,
    skipped: Vec<Passed>,
}

impl Findings {
    fn problem(
        &mut self,
        severity: Severity,
        check: &str,
        detail: String,
        action: &str,
        section: &str,
    ) {
        self.problems.push(Problem {
            severity,
            check: check.into(),
            detail,
            action: action.into(),
            runbook: format!("{RUNBOOK} § {section}"),
        });
    }

    fn ok(&mut self, check: &str, detail: impl Into<String>) {
        self.passed.push(Passed {
            check: check.into(),
            detail: detail.into(),
        });
    }

    fn skip(&mut self, check: &str, why: impl Into<String>) {
        self.skipped.push(Passed {
            check: check.into(),
            detail: why.into(),
        });
    }
}

/// Runs every check against `target`.
pub async fn diagnose(target: &Target) -> Report {
    let http = match target.client() {
        Ok(http) => http,
        Err(e) => {
            return Report {
                status: format!("{:?}", Severity::P0),
                problems: vec![Problem {
                    severity: Severity::P0,
                    check: "tls".into(),
                    detail: e,
                    action: "give --cacert (QA_AGENT_TLS_CA) a readable PEM bundle".into(),
                    runbook: format!("{RUNBOOK} § Troubleshooting Procedures"),
                }],
                passed: Vec::new(),
                skipped: Vec::new(),
            };
        }
    };
    let mut f = Findings {
        problems: Vec::new(),
        passed: Vec::new(),
        skipped: Vec::new(),
    };
    let mut details: BTreeMap<ServiceKind, Value> = BTreeMap::new();
    let mut scrapes: BTreeMap<ServiceKind, Scrape> = BTreeMap::new();
    for (kind, base) in &target.services {
        let check = format!("service:{}", kind.name());
        match get(&http, &format!("{base}/health/live")).await {
            Ok((200, _)) => {}
            Ok((code, body)) => {
                f.problem(
                    Severity::P0,
                    &check,
                    format!("{} answers /health/live with {code}: {}", kind.name(), body.trim()),
                    "restart the service (kubectl rollout restart deployment/<name> -n qa-agent) and read its logs",
                    "Service Outage Response",
                );
                continue;
            }
            Err(e) => {
                f.problem(
                    Severity::P0,
                    &check,
                    format!("{} at {base} does not answer: {e}", kind.name()),
                    "System Down: check the pod (kubectl get pods -n qa-agent), restart it, read its logs",
                    "Service Outage Response",
                );
                continue;
            }
        }
        let detail = match get(&http, &format!("{base}/health/detailed")).await {
            Ok((_, body)) => serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        let ready = get(&http, &format!("{base}/health/ready")).await;
        match ready {
            Ok((200, _)) => f.ok(&check, format!("{} live and ready", kind.name())),
            Ok((code, body)) => f.problem(
                Severity::P1,
                &check,
                format!("{} is live but not ready ({code}): {}", kind.name(), body.trim()),
                "see the failing dependency below; the service takes traffic again once it recovers",
                "Troubleshooting Procedures",
            ),
            Err(e) => f.problem(
                Severity::P1,
                &check,
                format!("{} readiness does not answer: {e}", kind.name()),
                "read the service's logs",
                "Troubleshooting Procedures",
            ),
        }
        details.insert(*kind, detail);
        match get(&http, &format!("{base}/metrics")).await {
            Ok((200, text)) => {
                scrapes.insert(*kind, Scrape::parse(&text));
            }
            other => f.skip(
                &format!("metrics:{}", kind.name()),
                format!("/metrics did not answer: {other:?}"),
            ),
        }
    }
    dependencies(&mut f, &details);
    authentication(&mut f, &http, target).await;
    learning(&mut f, &details);
    sandbox(&mut f, &details);
    certificates(&mut f, &details);
    thresholds(&mut f, &scrapes);
    backups(&mut f, target);
    let worst = f.problems.iter().map(|p| p.severity).max();
    f.problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
    Report {
        status: worst.map_or("healthy".into(), |s| format!("{s:?}")),
        problems: f.problems,
        passed: f.passed,
        skipped: f.skipped,
    }
}

async fn get(http: &reqwest::Client, url: &str) -> Result<(u16, String), String> {
    let r = http.get(url).send().await.map_err(|e| short(&e))?;
    let code = r.status().as_u16();
    Ok((code, r.text().await.unwrap_or_default()))
}

fn short(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        e.to_string()
    }
}

/// PostgreSQL and Redis, as each live service sees them.
fn dependencies(f: &mut Findings, details: &BTreeMap<ServiceKind, Value>) {
    for (dep, label, action) in [
        (
            "database",
            "the database",
            "Database Failure: pg_isready -h postgres-agent; check its pod, disk and connections; see Database Issues",
        ),
        (
            "redis",
            "Redis",
            "Database Failure: redis-cli -h redis-agent-state ping; check its pod and memory; conversations refuse questions until it is back",
        ),
    ] {
        let mut down = Vec::new();
        let mut seen = None;
        for (kind, d) in details {
            let c = &d[dep];
            if c.is_null() {
                continue;
            }
            seen = Some(c["backend"].as_str().unwrap_or("?").to_string());
            if c["required"] == true && c["status"] != "up" {
                down.push(format!(
                    "{}: {}",
                    kind.name(),
                    c["error"].as_str().unwrap_or("down")
                ));
            }
        }
        match (seen, down.is_empty()) {
            (None, _) => f.skip(dep, "no live service reported it"),
            (Some(backend), true) => f.ok(dep, format!("{label} ({backend}) is up")),
            (Some(_), false) => f.problem(
                Severity::P0,
                dep,
                format!("{label} is unreachable ({})", down.join("; ")),
                action,
                "Database Issues",
            ),
        }
    }
}

/// Whether credentials can be checked: a made-up key must be refused with 401 (the key
/// store answered); a 5xx means users cannot authenticate. A given key must be accepted.
async fn authentication(f: &mut Findings, http: &reqwest::Client, target: &Target) {
    let Some(base) = target.services.get(&ServiceKind::Orchestrator) else {
        return;
    };
    let me = format!("{base}/api/v1/me");
    let probe = http
        .get(&me)
        .bearer_auth("qak_doctor_probe_not_a_real_key_000000")
        .send()
        .await;
    match probe {
        Ok(r) if r.status().as_u16() == 401 => f.ok(
            "authentication",
            "a made-up key is refused (the key store answers)",
        ),
        Ok(r) => {
            let code = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            f.problem(
                Severity::P0,
                "authentication",
                format!("credentials cannot be checked: a made-up key got {code}: {}", body.trim()),
                "Authentication Failure: check the database the keys live in (api_keys) and the orchestrator's logs",
                "Critical Alert Conditions",
            );
            return;
        }
        Err(e) => {
            f.skip(
                "authentication",
                format!("the orchestrator does not answer: {}", short(&e)),
            );
            return;
        }
    }
    if let Some(key) = &target.api_key {
        match http.get(&me).bearer_auth(key).send().await {
            Ok(r) if r.status().is_success() => f.ok("authentication", "the given API key is accepted"),
            Ok(r) if r.status().as_u16() == 401 => f.problem(
                Severity::P2,
                "authentication",
                "the API key given to doctor is refused (revoked or mistyped)".into(),
                "check the key with `qa-agent admin list-keys`",
                "Critical Alert Conditions",
            ),
            Ok(r) => f.problem(
                Severity::P0,
                "authentication",
                format!("a valid key cannot be checked: {}", r.status()),
                "Authentication Failure: check the database the keys live in and the orchestrator's logs",
                "Critical Alert Conditions",
            ),
            Err(e) => f.skip("authentication", short(&e)),
        }
    }
}

/// The learning engine's pipeline: feedback waiting for over 30 minutes.
fn learning(f: &mut Findings, details: &BTreeMap<ServiceKind, Value>) {
    let Some(fp) = details
        .get(&ServiceKind::Learning)
        .map(|d| &d["feedback_processing"])
        .filter(|v| !v.is_null())
    else {
        f.skip("learning", "the learning engine is not live");
        return;
    };
    let lag = fp["lag_seconds"].as_f64().unwrap_or(0.0);
    let pending = fp["pending"].as_i64().unwrap_or(0);
    if fp["status"] != "up" {
        f.problem(
            Severity::P1,
            "learning",
            format!("feedback processing is down: {}", fp["error"]),
            "Learning System Failure: check the learning engine's database access and logs",
            "Learning Engine Issues",
        );
    } else if pending > 0 && lag > 1800.0 {
        f.problem(
            Severity::P1,
            "learning",
            format!("{pending} pieces of feedback wait, the oldest for {:.0} min: no learning for over 30 minutes", lag / 60.0),
            "Learning System Failure: POST /api/v1/learning/cycle, then read the learning engine's logs",
            "Learning Engine Issues",
        );
    } else {
        f.ok(
            "learning",
            format!("{pending} pieces of feedback waiting, lag {lag:.1} s"),
        );
    }
}

/// How generated tests are contained on the specialist service.
fn sandbox(f: &mut Findings, details: &BTreeMap<ServiceKind, Value>) {
    let Some(s) = details
        .get(&ServiceKind::Specialists)
        .map(|d| &d["sandbox"])
        .filter(|v| !v.is_null())
    else {
        f.skip("sandbox", "the specialist service is not live");
        return;
    };
    let mode = s["mode"].as_str().unwrap_or("unknown");
    if mode == "bubblewrap" && s["network_isolated"] == true {
        f.ok(
            "sandbox",
            "generated tests run in bubblewrap, without network",
        );
    } else {
        f.problem(
            Severity::P2,
            "sandbox",
            format!("generated tests run in `{mode}` mode (network isolated: {}), weaker than bubblewrap", s["network_isolated"]),
            "install bubblewrap in the specialist image and allow user namespaces",
            "Specialist Agents Issues",
        );
    }
}

/// The served certificate of each HTTPS service: expired, close to expiry, or failing
/// to reload.
fn certificates(f: &mut Findings, details: &BTreeMap<ServiceKind, Value>) {
    let mut any = false;
    for (kind, d) in details {
        let tls = &d["tls"];
        if tls.is_null() {
            continue;
        }
        any = true;
        let name = kind.name();
        let check = format!("tls:{name}");
        let action = "renew it: scripts/renew_certificates.sh (docs/operations.md § Certificates)";
        match tls["certificate"]["days_left"].as_i64() {
            Some(days) if days < 0 => f.problem(
                Severity::P0,
                &check,
                format!("{name} serves an expired certificate: clients refuse to connect"),
                action,
                "Security Incident Response",
            ),
            Some(days) if days < 7 => f.problem(
                Severity::P1,
                &check,
                format!("{name}'s certificate expires in {days} days"),
                action,
                "Maintenance Procedures",
            ),
            Some(days) if days < 21 => f.problem(
                Severity::P2,
                &check,
                format!("{name}'s certificate expires in {days} days"),
                action,
                "Maintenance Procedures",
            ),
            Some(days) => f.ok(
                &check,
                format!("{name}'s certificate is valid for {days} more days"),
            ),
            None => f.skip(&check, "no certificate details"),
        }
        if let Some(e) = tls["last_reload_error"].as_str() {
            f.problem(Severity::P2, &check,
                format!("{name} could not load the renewed certificate files and still serves the previous one: {e}"),
                "fix the files (qa-agent tls check --cert … --key …); the service retries on its own", "Maintenance Procedures");
        }
    }
    if !any {
        f.skip(
            "tls",
            "the services serve plain HTTP (TLS ends before them, or is off)",
        );
    }
}

/// The alert conditions that one scrape can judge.
fn thresholds(f: &mut Findings, scrapes: &BTreeMap<ServiceKind, Scrape>) {
    for (kind, s) in scrapes {
        let name = kind.name();
        if let (Some(used), Some(limit)) = (
            s.sum("memory_usage_bytes"),
            s.sum("process_memory_limit_bytes"),
        ) && limit > 0.0
        {
            let r = used / limit;
            let check = format!("memory:{name}");
            if r > 0.9 {
                f.problem(
                    Severity::P1,
                    &check,
                    format!("{name} uses {:.0}% of its memory limit", r * 100.0),
                    "High Memory Usage: kubectl top pods; restart the pod or raise its limit",
                    "Performance Optimization",
                );
            } else if r > 0.8 {
                f.problem(
                    Severity::P2,
                    &check,
                    format!("{name} uses {:.0}% of its memory limit", r * 100.0),
                    "Resource Usage High: plan more memory or replicas",
                    "Performance Optimization",
                );
            } else {
                f.ok(&check, format!("{:.0}% of the memory limit", r * 100.0));
            }
        }
        if let (Some(free), Some(size)) =
            (s.sum("data_dir_free_bytes"), s.sum("data_dir_size_bytes"))
            && size > 0.0
        {
            let r = free / size;
            let check = format!("disk:{name}");
            if r < 0.1 {
                f.problem(Severity::P1, &check, format!("{:.1}% disk space left in {name}'s data directory", r * 100.0),
                    "Disk Space Critical: prune old analyses and backups (POST /api/v1/maintenance/optimize), grow the volume", "Routine Maintenance Tasks");
            } else {
                f.ok(&check, format!("{:.0}% free", r * 100.0));
            }
        }
        let requests = s.sum("http_requests_total").unwrap_or(0.0);
        let errors = s.sum_where("http_requests_total", server_error);
        if requests >= 20.0 && errors / requests > 0.2 {
            f.problem(
                Severity::P1,
                &format!("errors:{name}"),
                format!(
                    "{:.0}% of {name}'s {requests:.0} requests since it started failed (5xx)",
                    errors / requests * 100.0
                ),
                "Performance Degradation: read the service's logs for the failing routes",
                "Agent Orchestrator Issues",
            );
        }
        for (family, what) in [
            (
                "session_persistence_failures_total",
                "session state writes failed",
            ),
            (
                "feedback_failures_total",
                "pieces of feedback could not be learned from",
            ),
        ] {
            if let Some(n) = s.sum(family).filter(|n| *n > 0.0) {
                f.problem(Severity::P0, &format!("data:{name}"),
                    format!("{n:.0} {what} since {name} started"),
                    "Data Loss: find the failing writes in the logs; `qa-agent admin read-only on` if data is being corrupted", "Emergency Response Procedures");
            }
        }
        if *kind == ServiceKind::Orchestrator {
            if let Some(p95) = s.quantile(0.95, "agent_response_time_seconds") {
                if p95 > 10.0 {
                    f.problem(Severity::P1, "latency", format!("p95 answer time {p95:.1} s since the orchestrator started (over 10 s)"),
                        "High Response Times: check reasoning_queue_length and the database pool; scale the orchestrator", "Agent Orchestrator Issues");
                } else if p95 > 5.0 {
                    f.problem(
                        Severity::P2,
                        "latency",
                        format!("p95 answer time {p95:.1} s (5 to 10 s)"),
                        "Elevated Response Times: watch the trend; scale before it passes 10 s",
                        "Performance Monitoring",
                    );
                } else {
                    f.ok("latency", format!("p95 answer time {p95:.2} s"));
                }
            } else {
                f.skip("latency", "no answers yet");
            }
            match (
                s.sum("agent_reasoning_quality_score_sum"),
                s.sum("agent_reasoning_quality_score_count"),
            ) {
                (Some(sum), Some(n)) if n > 0.0 => {
                    let q = sum / n;
                    if q < 0.5 {
                        f.problem(Severity::P1, "reasoning_quality", format!("mean reasoning quality {q:.2} (below 0.5)"),
                            "Agent Intelligence Failure: check the specialists' tool success and the learning engine; roll back recent learning", "Agent Orchestrator Issues");
                    } else if q < 0.7 {
                        f.problem(
                            Severity::P2,
                            "reasoning_quality",
                            format!("mean reasoning quality {q:.2} (0.5 to 0.7)"),
                            "Reasoning Quality Decline: review low-rated answers and tool failures",
                            "Agent Orchestrator Issues",
                        );
                    } else {
                        f.ok("reasoning_quality", format!("mean {q:.2}"));
                    }
                }
                _ => f.skip("reasoning_quality", "no reasoning yet"),
            }
        }
        if *kind == ServiceKind::Learning {
            match s.sum("agent_user_satisfaction_score") {
                Some(score) if score < 3.0 => f.problem(Severity::P2, "satisfaction",
                    format!("user satisfaction {score:.2} over the last day (below 3.0)"),
                    "User Satisfaction Drop: read the low ratings' comments (GET /api/v1/learning/state)", "Learning Engine Issues"),
                Some(score) => f.ok("satisfaction", format!("{score:.2}")),
                None => f.skip("satisfaction", "no ratings in the last day"),
            }
        }
    }
}

/// The newest backup's age (`<dir>/<name>/manifest.json`, `created_at` in Unix seconds).
fn backups(f: &mut Findings, target: &Target) {
    let Some(dir) = &target.backups else {
        f.skip("backups", "no --backups directory given");
        return;
    };
    let newest = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("manifest.json")).ok())
        .filter_map(|t| serde_json::from_str::<Value>(&t).ok())
        .filter_map(|m| m["created_at"].as_i64())
        .max();
    let now = qa_store::now_ms() / 1000;
    match newest {
        None => f.problem(Severity::P0, "backups", format!("no backup in {}", dir.display()),
            "Data Loss risk: run scripts/full_backup.sh now and check the backup schedule", "Backup and Recovery"),
        Some(t) if (now - t) as u64 > target.backup_max_age.as_secs() => f.problem(Severity::P0, "backups",
            format!("the newest backup is {:.1} h old", (now - t) as f64 / 3600.0),
            "Data Loss risk: run scripts/full_backup.sh now and check why the scheduled one did not run", "Backup and Recovery"),
        Some(t) => f.ok("backups", format!("newest backup {:.1} h old", (now - t) as f64 / 3600.0)),
    }
}

/// The report as an operator reads it.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    if report.problems.is_empty() {
        out.push_str("healthy: no problem found\n");
    }
    for p in &report.problems {
        out.push_str(&format!(
            "{:?}  {}: {}\n      action: {}\n      runbook: {}\n",
            p.severity, p.check, p.detail, p.action, p.runbook
        ));
    }
    out.push_str(&format!(
        "\n{} check(s) passed, {} skipped",
        report.passed.len(),
        report.skipped.len()
    ));
    for s in &report.skipped {
        out.push_str(&format!("\n  skipped {}: {}", s.check, s.detail));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_stale_backup_is_p0_and_a_fresh_one_passes() {
        let dir = tempfile::tempdir().unwrap();
        let mut target = Target::on_host("127.0.0.1", "http");
        target.backups = Some(dir.path().to_path_buf());
        let check = |target: &Target| {
            let mut f = Findings {
                problems: Vec::new(),
                passed: Vec::new(),
                skipped: Vec::new(),
            };
            backups(&mut f, target);
            f
        };
        let f = check(&target);
        assert_eq!(f.problems[0].severity, Severity::P0);
        assert!(
            f.problems[0].detail.contains("no backup"),
            "{:?}",
            f.problems
        );
        let write = |name: &str, age_s: i64| {
            let d = dir.path().join(name);
            std::fs::create_dir_all(&d).unwrap();
            let at = qa_store::now_ms() / 1000 - age_s;
            std::fs::write(d.join("manifest.json"), format!("{{\"created_at\": {at}}}")).unwrap();
        };
        write("qa-agent-old", 30 * 3600);
        let f = check(&target);
        assert!(
            f.problems[0].detail.contains("30.0 h old"),
            "{:?}",
            f.problems
        );
        write("qa-agent-new", 60);
        let f = check(&target);
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        assert_eq!(f.passed[0].check, "backups");
    }

    #[test]
    fn the_exit_code_is_the_worst_severity() {
        let mut r = Report {
            status: "healthy".into(),
            problems: Vec::new(),
            passed: Vec::new(),
            skipped: Vec::new(),
        };
        assert_eq!(r.exit_code(), 0);
        for (s, code) in [
            (Severity::P2, 1),
            (Severity::P1, 3),
            (Severity::P0, 4),
            (Severity::P2, 4),
        ] {
            r.problems.push(Problem {
                severity: s,
                check: "x".into(),
                detail: String::new(),
                action: String::new(),
                runbook: String::new(),
            });
            assert_eq!(r.exit_code(), code);
        }
    }
}
