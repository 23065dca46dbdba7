//! The runbook as written: `qa-agent serve` on the runbook's ports against real
//! PostgreSQL (role `agent_user`, database `agent_db`, made by
//! `scripts/pg-runbook-setup.sh`) and Redis, a seeded workload, then every command of the
//! runbook's health, troubleshooting and database blocks (docs/production-runbook.md),
//! run by bash with the host names replaced by 127.0.0.1.
//!
//! `kubectl` lines need a cluster and `api.external-tool.com` is outside qa-agent: they
//! are listed as skipped (docs/operations.md gives their local equivalents). Every other
//! line must exit 0 without its `|| echo "CRITICAL..."` fallback firing, and the lines
//! whose subject exists by now must show what the workload produced.
//!
//! Needs QA_AGENT_TEST_DATABASE_URL and QA_AGENT_TEST_REDIS_URL (set by .ci/run) and
//! curl, jq, psql, pg_isready and redis-cli; skipped with a message otherwise, except in CI.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const HOSTS: &[&str] = &[
    "agent-orchestrator",
    "specialist-agents",
    "conversation-manager",
    "learning-engine",
    "postgres-agent",
    "redis-agent-state",
];

/// (first heading, heading that ends the part) of each part the test runs.
const PARTS: &[(&str, &str)] = &[
    ("### Key Health Endpoints", "### Critical Alert Conditions"),
    ("## Troubleshooting Procedures", "### Database Issues"),
    ("### Database Issues", "## Maintenance Procedures"),
];

/// The command lines of the ```bash blocks between each part's headings.
fn runbook_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (from, to) in PARTS {
        let start = text
            .find(from)
            .unwrap_or_else(|| panic!("runbook lacks {from}"));
        let end = start
            + text[start..]
                .find(to)
                .unwrap_or_else(|| panic!("runbook lacks {to}"));
        let mut in_block = false;
        for line in text[start..end].lines() {
            let t = line.trim();
            if t.starts_with("```") {
                in_block = t == "```bash";
                continue;
            }
            // What follows `# Actions:` is prose for the operator, not commands.
            if t.starts_with("# Actions") {
                in_block = false;
            }
            if in_block && !t.is_empty() && !t.starts_with('#') {
                out.push(t.to_string());
            }
        }
    }
    out
}

fn sh(cmd: &str) -> (i32, String) {
    let out = Command::new("bash")
        .args(["-c", cmd])
        .env("PGDATABASE", "agent_db")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

#[test]
fn the_runbooks_health_troubleshooting_and_database_commands_answer_as_written() {
    let ci = std::env::var_os("CI").is_some();
    let (Ok(_), Ok(redis_url)) = (
        std::env::var("QA_AGENT_TEST_DATABASE_URL"),
        std::env::var("QA_AGENT_TEST_REDIS_URL"),
    ) else {
        assert!(
            !ci,
            "QA_AGENT_TEST_DATABASE_URL/QA_AGENT_TEST_REDIS_URL unset in CI"
        );
        eprintln!(
            "SKIPPED: runbook test (needs QA_AGENT_TEST_DATABASE_URL and QA_AGENT_TEST_REDIS_URL)"
        );
        return;
    };
    for tool in ["curl", "jq", "psql", "pg_isready", "redis-cli"] {
        if !Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            assert!(!ci, "{tool} is missing in CI (scripts/test.sh installs it)");
            eprintln!("SKIPPED: runbook test ({tool} not installed)");
            return;
        }
    }
    for port in [8000, 8001, 8080, 8081, 8002] {
        assert!(
            port_free(port),
            "port {port} is taken: the runbook's commands use the runbook's ports"
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let setup = Command::new("bash")
        .arg(root.join("scripts/pg-runbook-setup.sh"))
        .arg("--fresh")
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );

    // A workspace with a small project for the seeded analysis.
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("workspace");
    std::fs::create_dir_all(ws.join("shop")).unwrap();
    std::fs::write(
        ws.join("shop/pricing.py"),
        "def calculate(request):\n    return eval(request.args['expr'])\n",
    )
    .unwrap();
    let logs = dir.path().join("logs");
    let mut child = Command::new(env!("CARGO_BIN_EXE_qa-agent"))
        .arg("serve")
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            "postgres://agent_user@127.0.0.1:5432/agent_db",
        )
        .env("REDIS_URL", &redis_url)
        .env("QA_AGENT_WORKSPACE_ROOTS", &ws)
        .env("QA_AGENT_LOG_DIR", &logs)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut key = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while key.is_none() {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the first start prints an admin key");
        if line.contains("shown once") {
            key = line.rsplit(' ').next().map(str::to_string);
        }
    }
    let key = key.unwrap();
    let auth = format!("Authorization: Bearer {key}");

    // The seeded workload: one analysis through the job queue, its SARIF (cached in
    // Redis with a TTL), and the weekly maintenance call.
    let (rc, out) = sh(&format!(
        "curl -sf -X POST -H '{auth}' -H 'Content-Type: application/json' \
         -d '{{\"path\": \"{}\"}}' http://127.0.0.1:8000/api/v1/analyses",
        ws.join("shop").display()
    ));
    assert_eq!(rc, 0, "{out}");
    let id = serde_json::from_str::<serde_json::Value>(&out).unwrap()["id"]
        .as_i64()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, out) = sh(&format!(
            "curl -s -H '{auth}' http://127.0.0.1:8000/api/v1/analyses/{id}"
        ));
        if out.contains(r#""status":"done""#) {
            break;
        }
        assert!(
            Instant::now() < deadline && !out.contains(r#""status":"failed""#),
            "{out}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (rc, out) = sh(&format!(
        "curl -sf -H '{auth}' http://127.0.0.1:8000/api/v1/analyses/{id}/sarif"
    ));
    assert!(rc == 0 && out.contains("2.1.0"), "{out}");
    let (rc, out) = sh("curl -sf -X POST http://127.0.0.1:8002/api/v1/maintenance/optimize");
    assert_eq!(rc, 0, "{out}");

    let runbook = std::fs::read_to_string(root.join("docs/production-runbook.md")).unwrap();
    let commands = runbook_commands(&runbook);
    assert!(
        commands.len() >= 30,
        "found only {} commands",
        commands.len()
    );
    let mut ran = 0;
    let mut skipped = Vec::new();
    for original in &commands {
        if original.starts_with("kubectl") || original.contains("api.external-tool.com") {
            skipped.push(original.clone());
            continue;
        }
        let mut cmd = original.clone();
        for host in HOSTS {
            cmd = cmd.replace(host, "127.0.0.1");
        }
        let (rc, out) = sh(&cmd);
        ran += 1;
        assert_eq!(rc, 0, "`{original}` failed:\n{out}");
        for fallback in ["CRITICAL:", "WARNING:"] {
            assert!(!out.contains(fallback), "`{original}` fell back:\n{out}");
        }
        check(original, &out);
    }
    eprintln!(
        "runbook: {ran} commands ran and passed, {} skipped:",
        skipped.len()
    );
    for s in &skipped {
        eprintln!("  skipped: {s}");
    }
    assert!(ran >= 25, "only {ran} commands ran");

    // `qa-agent doctor` finds this deployment healthy (exit 0, JSON for automation).
    let doctor = Command::new(env!("CARGO_BIN_EXE_qa-agent"))
        .args(["doctor", "--json", "--api-key", &key])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&doctor.stdout).unwrap();
    assert_eq!(
        (doctor.status.code(), report["status"].as_str()),
        (Some(0), Some("healthy")),
        "{report:#}"
    );

    // The runbook's scripts against this deployment, each with its failure case.
    let backups = dir.path().join("backups");
    let script = |name: &str, args: &[&str], env: &[(&str, &std::path::Path)]| {
        let mut cmd = Command::new("bash");
        cmd.arg(root.join("scripts").join(name))
            .args(args)
            .current_dir(dir.path())
            .env("QA_AGENT", env!("CARGO_BIN_EXE_qa-agent"))
            .env(
                "DATABASE_URL",
                "postgres://agent_user@127.0.0.1:5432/agent_db",
            )
            .env("REDIS_URL", &redis_url)
            .env("BACKUP_DIR", &backups);
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
    };
    let (rc, out) = script("verify_backups.sh", &[], &[]);
    assert_eq!(rc, 1, "no backup yet must fail: {out}");
    assert!(out.contains("no backup"), "{out}");
    let (rc, out) = script("full_backup.sh", &[], &[]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("complete and restorable"), "{out}");
    let (rc, out) = script("verify_backups.sh", &[], &[]);
    assert_eq!(rc, 0, "{out}");
    // Restoring over the live `public` schema, with an extension living in it (as the
    // shipped PostgreSQL has pg_stat_statements), replaces the tables and keeps the rest.
    let (rc, out) = sh(
        "psql -h 127.0.0.1 -U postgres -d agent_db -qc 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'",
    );
    assert_eq!(rc, 0, "{out}");
    let newest_backup = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let restore = Command::new(env!("CARGO_BIN_EXE_qa-agent"))
        .arg("restore")
        .arg("--from")
        .arg(&newest_backup)
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            "postgres://agent_user@127.0.0.1:5432/agent_db",
        )
        .env("REDIS_URL", &redis_url)
        .output()
        .unwrap();
    assert!(
        restore.status.success(),
        "{}{}",
        String::from_utf8_lossy(&restore.stdout),
        String::from_utf8_lossy(&restore.stderr)
    );
    let backups_arg = backups.display().to_string();
    for (name, args) in [
        (
            "health_check.sh",
            vec!["--api-key", key.as_str(), "--backups", &backups_arg],
        ),
        ("post_deployment_health_check.sh", vec![]),
        ("recovery_validation.sh", vec![]),
    ] {
        let (rc, out) = script(name, &args, &[]);
        assert_eq!(rc, 0, "{name}: {out}");
        assert!(out.contains("healthy"), "{name}: {out}");
    }
    let (rc, out) = script(
        "health_check.sh",
        &["--learning", "http://127.0.0.1:1"],
        &[],
    );
    assert_eq!(rc, 4, "a service down is P0: {out}");
    let newest = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let dump = newest.join("database.dump");
    let len = std::fs::metadata(&dump).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&dump)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let (rc, out) = script("verify_backups.sh", &[], &[]);
    assert_eq!(rc, 1, "a truncated backup must fail: {out}");
    assert!(out.contains("truncated or altered"), "{out}");

    // The runbook's smoke suite (`tests/integration/run_all_tests.sh ENV`) passes on
    // this deployment, and fails with a key the deployment does not know.
    let smoke = |key: &str| {
        let out = Command::new("bash")
            .arg(root.join("tests/integration/run_all_tests.sh"))
            .arg("local")
            .env("QA_AGENT", env!("CARGO_BIN_EXE_qa-agent"))
            .env("QA_AGENT_API_KEY", key)
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (rc, out) = smoke(&key);
    assert_eq!(rc, Some(0), "{out}");
    assert!(out.contains("all smoke tests passed on local"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
    let (rc, out) = smoke("qak_not_a_key_of_this_deployment_0000");
    assert_eq!(rc, Some(1), "{out}");
    assert!(out.contains("FAIL  the given key is accepted"), "{out}");

    // Performance baselines and the capacity review over a short interval.
    let baselines = dir.path().join("baselines");
    let one_second: &[(&str, &std::path::Path)] = &[
        ("INTERVAL", std::path::Path::new("1")),
        ("BASELINE_DIR", &baselines),
    ];
    let (rc, out) = script("update_performance_baselines.sh", &[], one_second);
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("first baseline") && out.contains("headroom:"),
        "{out}"
    );
    std::thread::sleep(Duration::from_millis(1100));
    let (rc, out) = script("update_performance_baselines.sh", &[], one_second);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("no regression against the baseline"), "{out}");
    // A baseline from when the orchestrator used 1 byte: its memory now is a regression.
    let newest = std::fs::read_dir(&baselines)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let mut b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&newest).unwrap()).unwrap();
    b["services"]["agent-orchestrator"]["memory_bytes"] = 1.into();
    std::fs::write(
        baselines.join("baseline-99999999T999999Z.json"),
        b.to_string(),
    )
    .unwrap();
    let (rc, out) = script("update_performance_baselines.sh", &[], one_second);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("REGRESSION agent-orchestrator memory_bytes"),
        "{out}"
    );
    let (rc, out) = script("capacity_planning_analysis.sh", &[], one_second);
    assert_eq!(rc, 0, "{out}");
    for part in [
        "agent-orchestrator",
        "learning-engine",
        "headroom:",
        "cpu",
        "memory",
        "db_pool",
        "database:",
    ] {
        assert!(out.contains(part), "{part}: {out}");
    }

    // The weekly report counts what the workload and the smoke suite did.
    let report = Command::new(env!("CARGO_BIN_EXE_qa-agent"))
        .args(["admin", "report", "--json"])
        .env(
            "DATABASE_URL",
            "postgres://agent_user@127.0.0.1:5432/agent_db",
        )
        .output()
        .unwrap();
    assert!(report.status.success(), "{report:?}");
    let r: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let period = &r["period"];
    assert!(period["analyses_done"].as_i64().unwrap() >= 2, "{r:#}");
    assert!(period["questions_answered"].as_i64().unwrap() >= 1, "{r:#}");
    assert_eq!(period["mean_rating"].as_f64(), Some(5.0), "{r:#}");
    assert!(
        period["interventions"]["maintenance.optimize"]
            .as_i64()
            .unwrap()
            >= 1,
        "{r:#}"
    );
    assert!(period["answer_p95_ms"].as_i64().is_some(), "{r:#}");
    let (rc, out) = script(
        "generate_weekly_report.sh",
        &["--api-key", key.as_str()],
        &[],
    );
    assert_eq!(rc, 0, "{out}");
    for section in [
        "# qa-agent report",
        "| questions answered |",
        "## Incidents and interventions",
        "## Current state (qa-agent doctor, exit 0)",
    ] {
        assert!(out.contains(section), "{section}: {out}");
    }

    // Every metric the alerts use is in a live scrape (its HELP/TYPE at least).
    let mut scraped = std::collections::BTreeSet::new();
    for port in [8000, 8001, 8081, 8002] {
        let (rc, out) = sh(&format!("curl -sf http://127.0.0.1:{port}/metrics"));
        assert_eq!(rc, 0, "{out}");
        scraped.extend(metric_families(&out));
    }
    let alerts = std::fs::read_to_string(root.join("deploy/prometheus/alerts.yml")).unwrap();
    let used = promql_metrics(&alerts);
    assert!(used.len() >= 15, "{used:?}");
    // Certificate metrics exist only on HTTPS listeners: tests/tls.rs scrapes those.
    let missing: Vec<&String> = used
        .iter()
        .filter(|m| !scraped.contains(*m) && !m.starts_with("tls_"))
        .collect();
    assert!(
        missing.is_empty(),
        "alerts use metrics no service exports: {missing:?}"
    );
    // And every metric a Grafana panel queries.
    for board in ["operations", "intelligence"] {
        let text =
            std::fs::read_to_string(root.join(format!("deploy/grafana/dashboards/{board}.json")))
                .unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut exprs = Vec::new();
        for panel in json["panels"].as_array().unwrap() {
            for t in panel["targets"].as_array().unwrap() {
                exprs.push(format!("expr: {}", t["expr"].as_str().unwrap()));
            }
        }
        assert!(exprs.len() >= 10, "{board}: {exprs:?}");
        let used = promql_metrics(&exprs.join("\n"));
        let missing: Vec<&String> = used.iter().filter(|m| !scraped.contains(*m)).collect();
        assert!(
            missing.is_empty(),
            "the {board} dashboard queries metrics no service exports: {missing:?}"
        );
    }
    drop(server);
}

/// The metric families in a Prometheus text scrape.
fn metric_families(scrape: &str) -> Vec<String> {
    scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect()
}

/// The metric families the `expr:` of a rules file reads (histogram `_bucket`, `_sum` and
/// `_count` series as their family), leaving out PromQL's own words, label names and
/// Prometheus' `up`.
fn promql_metrics(rules: &str) -> std::collections::BTreeSet<String> {
    const PROMQL: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "rate",
        "increase",
        "by",
        "on",
        "and",
        "or",
        "unless",
        "vector",
        "histogram_quantile",
        "without",
        "ignoring",
        "time",
        "up",
        "le",
        "job",
        "instance",
        "m",
        "s",
        "h",
    ];
    let mut exprs = String::new();
    let mut in_expr = false;
    for line in rules.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("expr:") {
            exprs.push_str(rest);
            exprs.push('\n');
            in_expr = rest.trim() == ">" || rest.trim().is_empty();
        } else if in_expr && !t.contains(':') && !t.is_empty() {
            exprs.push_str(t);
            exprs.push('\n');
        } else {
            in_expr = false;
        }
    }
    // Label matchers and `by (...)` lists name labels, not metrics.
    let mut text = String::new();
    let mut depth = 0;
    for ch in exprs.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ if depth > 0 => {}
            _ => text.push(ch),
        }
    }
    // `by (job, state)`, `on(job, instance)`: label lists, not metrics.
    for keyword in ["by", "on", "without", "ignoring"] {
        loop {
            let found = text.match_indices(keyword).find_map(|(i, _)| {
                let before = text[..i].chars().last();
                let rest = text[i + keyword.len()..].trim_start();
                (before.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_')
                    && rest.starts_with('('))
                .then(|| (i, text.len() - rest.len()))
            });
            let Some((start, open)) = found else { break };
            let close = text[open..].find(')').map_or(text.len(), |j| open + j + 1);
            text.replace_range(start..close, " ");
        }
    }
    let mut out = std::collections::BTreeSet::new();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        let after_by = i > 0 && matches!(words[i - 1], "by" | "on" | "without" | "ignoring");
        if after_by || PROMQL.contains(w) || w.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| w.strip_suffix(s))
            .unwrap_or(w);
        out.insert(family.to_string());
    }
    out
}

/// What a command must show after the workload, beyond exiting 0 without a fallback.
fn check(cmd: &str, out: &str) {
    let json = || -> serde_json::Value {
        serde_json::from_str(out).unwrap_or_else(|e| panic!("`{cmd}`: not JSON ({e}):\n{out}"))
    };
    let sample = |name: &str| {
        out.lines()
            .any(|l| l.starts_with(name) && !l.starts_with('#'))
    };
    if cmd.ends_with("jq '.database'") {
        let v = json();
        assert_eq!(v["status"], "up", "{out}");
        assert_eq!(v["backend"], "postgres", "{out}");
        assert!(v["latency_ms"].as_f64().is_some(), "{out}");
    } else if cmd.ends_with("jq '.feedback_processing'") {
        assert!(json()["pending"].as_i64().is_some(), "{out}");
    } else if cmd.ends_with("learning-engine:8002/health/detailed") {
        let v = json();
        for k in ["database", "redis", "feedback_processing"] {
            assert_eq!(v[k]["status"], "up", "{k}: {out}");
        }
    } else if cmd.ends_with("/api/v1/agent/specialists") {
        assert!(json()["specialists"].is_array(), "{out}");
    } else if cmd.contains("grep \"tool_execution\"") {
        assert!(
            sample("tool_execution_total{tool=\"analyze_repository\",outcome=\"success\"}"),
            "{out}"
        );
    } else if cmd.contains("grep \"tool_success_rate\"") {
        assert!(
            sample("tool_success_rate{tool=\"analyze_repository\"} 1"),
            "{out}"
        );
    } else if cmd.contains("grep \"memory_usage\"") {
        assert!(sample("memory_usage_bytes "), "{out}");
    } else if cmd.contains("pg_stat_activity;") {
        let n: i64 = out.lines().nth(2).unwrap_or("").trim().parse().unwrap_or(0);
        assert!(n >= 1, "{out}");
    } else if cmd.contains("NOT granted") || cmd.contains("interval '5 minutes'") {
        assert!(out.contains("(0 rows)"), "`{cmd}`:\n{out}");
    } else if cmd.ends_with("info keyspace") {
        let expires = out
            .split([',', '\n'])
            .find_map(|f| f.trim().strip_prefix("expires="))
            .and_then(|n| n.trim().parse::<u64>().ok());
        assert!(expires.is_some_and(|n| n > 0), "no key with a TTL: {out}");
    } else if cmd.ends_with("info memory") {
        assert!(
            out.contains("used_memory:") && out.contains("maxmemory_policy:"),
            "{out}"
        );
    } else if cmd.contains("grep evicted") {
        assert!(out.contains("evicted_keys:"), "{out}");
    } else if cmd.contains("pg_isready") {
        assert!(out.contains("accepting connections"), "{out}");
    } else if cmd.contains(" ping") {
        assert!(out.contains("PONG"), "{out}");
    }
}
