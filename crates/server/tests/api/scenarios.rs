//! The agents' scenario suite: realistic questions about two real repositories (Bottle and
//! TinyDB from PyPI, fetched by scripts/fetch-scenario-repos.sh), each with the evidence
//! its answer must cite, and held-out paraphrases of them written without seeing the
//! planner's vocabulary. Every cited file:line is checked against the files here, not
//! through the tool that produced it. Targets: 90% of the questions, 75% of the
//! paraphrases. Run with `--nocapture` for the table and the numbers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use qa_server::ServiceKind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::analyses::analyse;
use crate::helpers::{ADMIN_KEY, call, spawn, test_config};

/// Rule ids reported at each (file, line) of an analysis.
type FindingsAt = HashMap<(String, i64), Vec<String>>;

#[derive(Debug, Clone, Deserialize)]
struct Scenario {
    id: String,
    repo: String,
    question: String,
    #[serde(default)]
    specialists: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    symbols: Vec<String>,
    #[serde(default)]
    mention: Vec<String>,
    artifact: Option<String>,
    min_claims: Option<usize>,
    #[serde(default)]
    no_analysis: bool,
}

#[derive(Deserialize)]
struct Suite {
    scenario: Vec<Scenario>,
}

#[derive(Deserialize)]
struct Paraphrase {
    id: String,
    question: String,
}

#[derive(Deserialize)]
struct Paraphrases {
    paraphrase: Vec<Paraphrase>,
}

/// Where the repositories are, or `None` (skipped outside CI) when they were not fetched.
fn repositories() -> Option<PathBuf> {
    let dir = std::env::var_os("QA_AGENT_SCENARIO_REPOS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/qa-agent/scenario-repos"))
        });
    let ready = dir.as_ref().is_some_and(|d| {
        ["bottle", "tinydb"]
            .iter()
            .all(|r| d.join(r).join(".complete").exists())
    });
    if ready {
        return dir;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the scenario repositories are missing in CI (scripts/test.sh fetches them)"
    );
    eprintln!("SKIPPED: the agents' scenario suite (run scripts/fetch-scenario-repos.sh)");
    None
}

/// What is wrong with one cited location, checked against the files.
fn check_citation(root: &Path, e: &Value, findings: &FindingsAt) -> Option<String> {
    let file = e["file"].as_str()?;
    let Ok(text) = std::fs::read_to_string(root.join(file)) else {
        return Some(format!("{file} does not exist"));
    };
    let lines: Vec<&str> = text.lines().collect();
    let n = e["line"].as_i64().unwrap_or(0) as usize;
    if n == 0 || n > lines.len() {
        return Some(format!("{file}:{n} is past the end"));
    }
    if let Some(sym) = e["symbol"].as_str() {
        let stem = sym.rsplit('.').next().unwrap_or(sym);
        let def = lines[n - 1..(n + 5).min(lines.len())]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !l.starts_with('@') && !l.starts_with('#'));
        if !def.is_some_and(|l| l.contains(stem)) {
            return Some(format!("{file}:{n} does not define {sym}"));
        }
    }
    if let Some(x) = e["excerpt"].as_str()
        && !lines[n - 1].contains(x)
    {
        return Some(format!("{file}:{n} does not contain `{x}`"));
    }
    if let Some(rule) = e["rule_id"].as_str()
        && !findings
            .get(&(file.to_string(), n as i64))
            .is_some_and(|rules| rules.iter().any(|r| r == rule))
    {
        return Some(format!("{file}:{n} has no {rule} finding"));
    }
    None
}

/// The failures of one answer against its scenario (empty: it passes).
fn judge(s: &Scenario, body: &Value, root: &Path, findings: &FindingsAt) -> Vec<String> {
    let mut out = Vec::new();
    let a = &body["answer"];
    if body["status"] != "done" {
        return vec![format!("status {}: {body}", body["status"])];
    }
    let text = a["text"].as_str().unwrap_or_default();
    let lower = text.to_lowercase();
    let evidence = a["evidence"].as_array().cloned().unwrap_or_default();
    for e in &evidence {
        if let Some(problem) = check_citation(root, e, findings) {
            out.push(problem);
        }
        let cite = format!("{}:{}", e["file"].as_str().unwrap_or_default(), e["line"]);
        if !text.contains(&cite) {
            out.push(format!("evidence {cite} is not cited in the text"));
        }
    }
    let specialists: Vec<&str> = a["specialists"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for want in &s.specialists {
        if !specialists.contains(&want.as_str()) {
            out.push(format!(
                "{want} did not answer (got {specialists:?}, intent {})",
                a["intent"]
            ));
        }
    }
    for f in &s.files {
        if !evidence.iter().any(|e| e["file"] == f.as_str()) {
            out.push(format!("no evidence in {f}"));
        }
    }
    for r in &s.rules {
        if !evidence.iter().any(|e| e["rule_id"] == r.as_str()) {
            out.push(format!("no evidence of {r}"));
        }
    }
    for sym in &s.symbols {
        let cited = evidence.iter().any(|e| {
            e["symbol"]
                .as_str()
                .is_some_and(|x| x == sym || x.ends_with(&format!(".{sym}")))
        }) || text.contains(&format!("`{sym}`"));
        if !cited {
            out.push(format!("{sym} is not cited"));
        }
    }
    for m in &s.mention {
        if !lower.contains(&m.to_lowercase()) {
            out.push(format!("the answer does not mention `{m}`"));
        }
    }
    if let Some(kind) = &s.artifact
        && !a["artifacts"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| x["kind"] == kind.as_str())
    {
        out.push(format!("no {kind} artifact"));
    }
    if let Some(n) = s.min_claims
        && evidence.len() < n
    {
        out.push(format!("{} cited location(s), wanted {n}", evidence.len()));
    }
    if s.no_analysis {
        if a["tool_calls"] != 0 {
            out.push("ran tools for a question that needs none".into());
        }
    } else if evidence.is_empty() && s.mention.is_empty() {
        out.push("no evidence at all".into());
    }
    out
}

struct Outcome {
    id: String,
    question: String,
    failures: Vec<String>,
    quality: Option<f64>,
    latency_ms: f64,
}

async fn run_all(
    api: &str,
    cases: &[(Scenario, String)],
    repos: &Path,
    analyses: &HashMap<String, (i64, FindingsAt)>,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    for (s, question) in cases {
        let (id, findings) = &analyses[&s.repo];
        let body = if s.no_analysis {
            json!({ "question": question })
        } else {
            json!({ "question": question, "analysis_id": id })
        };
        let started = Instant::now();
        let (code, _, answer) = call(
            "POST",
            &format!("{api}/api/v1/agent/tasks"),
            Some(ADMIN_KEY),
            Some(body),
        )
        .await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let failures = if code == 200 {
            judge(s, &answer, &repos.join(&s.repo), findings)
        } else {
            vec![format!("HTTP {code}: {answer}")]
        };
        out.push(Outcome {
            id: s.id.clone(),
            question: question.clone(),
            failures,
            quality: answer["answer"]["quality"]["score"].as_f64(),
            latency_ms,
        });
    }
    out
}

fn report(title: &str, outcomes: &[Outcome]) -> f64 {
    let passed = outcomes.iter().filter(|o| o.failures.is_empty()).count();
    let rate = passed as f64 / outcomes.len() as f64;
    let qualities: Vec<f64> = outcomes.iter().filter_map(|o| o.quality).collect();
    let mean_quality = qualities.iter().sum::<f64>() / qualities.len().max(1) as f64;
    let mut latencies: Vec<f64> = outcomes.iter().map(|o| o.latency_ms).collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    eprintln!(
        "\n== {title}: {passed}/{} passed ({:.1}%), mean quality {mean_quality:.3}, latency p50 {:.0} ms, p95 {:.0} ms",
        outcomes.len(),
        rate * 100.0,
        pct(0.5),
        pct(0.95)
    );
    for o in outcomes {
        let mark = if o.failures.is_empty() {
            "PASS"
        } else {
            "FAIL"
        };
        eprintln!(
            "{mark} {:<30} q={:<5} {:>6.0} ms  {}",
            o.id,
            o.quality.map_or("-".into(), |q| format!("{q:.2}")),
            o.latency_ms,
            o.question
        );
        for f in &o.failures {
            eprintln!("       - {f}");
        }
    }
    rate
}

#[tokio::test]
async fn the_scenario_suite_meets_its_targets() {
    let Some(repos) = repositories() else { return };
    let suite: Suite = toml::from_str(include_str!("../scenarios/questions.toml")).unwrap();
    // Set A was seen while the planner was still changing; set B was written after it
    // was final, by a writer who saw neither the planner nor set A.
    let set_a: Paraphrases = toml::from_str(include_str!("../scenarios/paraphrases.toml")).unwrap();
    let set_b: Paraphrases =
        toml::from_str(include_str!("../scenarios/paraphrases-b.toml")).unwrap();
    assert!(set_a.paraphrase.len() >= 15 && set_b.paraphrase.len() >= 15);

    let (mut config, _data) = test_config();
    config.workspace_roots = vec![repos.clone()];
    let running = spawn(&config, &ServiceKind::ALL).await;
    let api = running.url(ServiceKind::Orchestrator).unwrap();
    // One analysis per repository, and its findings by location for the rule checks.
    let mut analyses = HashMap::new();
    for repo in ["bottle", "tinydb"] {
        let id = analyse(&api, ADMIN_KEY, &repos.join(repo)).await;
        let mut findings = FindingsAt::new();
        let mut cursor: Option<i64> = None;
        loop {
            let url = match cursor {
                Some(c) => format!("{api}/api/v1/analyses/{id}/findings?limit=500&cursor={c}"),
                None => format!("{api}/api/v1/analyses/{id}/findings?limit=500"),
            };
            let (_, _, page) = call("GET", &url, Some(ADMIN_KEY), None).await;
            for f in page["items"].as_array().unwrap() {
                findings
                    .entry((
                        f["file"].as_str().unwrap().to_string(),
                        f["line"].as_i64().unwrap(),
                    ))
                    .or_default()
                    .push(f["rule_id"].as_str().unwrap().to_string());
            }
            cursor = page["next_cursor"].as_i64();
            if cursor.is_none() {
                break;
            }
        }
        analyses.insert(repo.to_string(), (id, findings));
    }

    let by_id: HashMap<&str, &Scenario> =
        suite.scenario.iter().map(|s| (s.id.as_str(), s)).collect();
    let questions: Vec<(Scenario, String)> = suite
        .scenario
        .iter()
        .map(|s| (s.clone(), s.question.clone()))
        .collect();
    let cases = |set: &Paraphrases| -> Vec<(Scenario, String)> {
        set.paraphrase
            .iter()
            .map(|p| {
                let s = by_id
                    .get(p.id.as_str())
                    .unwrap_or_else(|| panic!("paraphrase of unknown scenario {}", p.id));
                ((*s).clone(), p.question.clone())
            })
            .collect()
    };
    let q = report(
        "questions",
        &run_all(&api, &questions, &repos, &analyses).await,
    );
    let a = report(
        "paraphrases, set A",
        &run_all(&api, &cases(&set_a), &repos, &analyses).await,
    );
    let b = report(
        "held-out paraphrases, set B",
        &run_all(&api, &cases(&set_b), &repos, &analyses).await,
    );
    assert!(q >= 0.90, "questions: {:.1}% passed, target 90%", q * 100.0);
    assert!(
        a >= 0.75,
        "paraphrases A: {:.1}% passed, target 75%",
        a * 100.0
    );
    assert!(
        b >= 0.75,
        "paraphrases B: {:.1}% passed, target 75%",
        b * 100.0
    );
    running.shutdown();
}
