//! Performance Analyst: hotspots (complexity and performance rules), why a function is
//! slow (its loops, their nesting, the performance findings inside it), and a load-test
//! plan with a k6 script for the entry points it finds.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use super::security::ENTRY_POINTS;
use super::{
    Action, Claim, Draft, Section, SpecialistId, Strategy, aid, explain_actions, family_actions,
    finding_evidence, findings, findings_within, function_evidence, function_facts, hotspots,
    is_test_path, named_function_actions, source_of, top_rules,
};
use crate::engine::{Artifact, Scratch};
use crate::tools::Evidence;

pub struct PerformanceAnalyst;

static LOOP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(for\b|while\b|async for\b|\w.*\.(forEach|map|filter)\()").unwrap()
});
static ROUTE_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"['"](/[^'"\s]*)['"]"#).unwrap());
static METHOD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(get|post|put|patch|delete)\b").unwrap());

/// Loops of a function's source: (line number, nesting depth among loops, text).
fn loops(source: &str, start_line: i64) -> Vec<(i64, usize, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        if line.trim().is_empty() {
            continue;
        }
        while stack.last().is_some_and(|&d| indent <= d) {
            stack.pop();
        }
        if LOOP.is_match(line) {
            out.push((
                start_line + i as i64,
                stack.len() + 1,
                line.trim().to_string(),
            ));
            stack.push(indent);
        }
    }
    out
}

/// The k6 script for the routes found: one scenario hitting each, ramping up.
fn k6_script(routes: &[(String, String)]) -> String {
    let mut reqs = String::new();
    for (method, path) in routes {
        let call = match method.as_str() {
            "POST" | "PUT" | "PATCH" => format!(
                "  http.{}(`${{BASE}}{path}`, JSON.stringify({{}}), {{ headers: {{ 'Content-Type': 'application/json' }} }});\n",
                method.to_lowercase()
            ),
            "DELETE" => format!("  http.del(`${{BASE}}{path}`);\n"),
            _ => format!(
                "  check(http.get(`${{BASE}}{path}`), {{ 'status < 500': (r) => r.status < 500 }});\n"
            ),
        };
        reqs.push_str(&call);
    }
    format!(
        "import http from 'k6/http';\nimport {{ check, sleep }} from 'k6';\n\n\
         // Entry points found by qa-agent; replace path parameters (<id>, :id) with real values.\n\
         const BASE = __ENV.BASE_URL || 'http://localhost:8080';\n\n\
         export const options = {{\n  stages: [\n    {{ duration: '1m', target: 20 }},\n    {{ duration: '3m', target: 20 }},\n    {{ duration: '1m', target: 0 }},\n  ],\n  thresholds: {{ http_req_failed: ['rate<0.01'], http_req_duration: ['p(95)<500'] }},\n}};\n\n\
         export default function () {{\n{reqs}  sleep(1);\n}}\n"
    )
}

fn entry_points(s: &Scratch) -> Vec<Value> {
    s.observations
        .iter()
        .filter(|o| o.tool == "search_code" && o.args["kind"] == "text" && o.args["regex"] == true)
        .filter_map(|o| o.result.as_ref().ok())
        .flat_map(|o| o.data["matches"].as_array().cloned().unwrap_or_default())
        .filter(|m| !is_test_path(m["file"].as_str().unwrap_or_default()))
        .collect()
}

impl Strategy for PerformanceAnalyst {
    fn id(&self) -> SpecialistId {
        SpecialistId::PerformanceAnalyst
    }

    fn plan(&self, s: &Scratch) -> Vec<Action> {
        if let Some(p) = super::code_reviewer::explain_plan(s) {
            return p;
        }
        let id = aid(s);
        if !s.symbols.is_empty() {
            return named_function_actions(s, "Find what makes it slow");
        }
        let mut out = family_actions(
            s,
            "performance",
            "Start from the complexity hotspots.",
            "List the performance findings (work repeated in loops, blocking calls).",
        );
        out.push(Action::new(
            "Find the entry points a load test should hit.",
            "search_code",
            json!({ "analysis_id": id, "query": ENTRY_POINTS, "kind": "text", "regex": true, "limit": 200 }),
        ));
        out.extend(explain_actions(
            &top_rules(&findings(s, Some("performance")), 2),
            "Look up how to fix",
        ));
        out
    }

    fn answer(&self, s: &Scratch) -> Draft {
        if let Some(d) = super::code_reviewer::explain(s) {
            return d;
        }
        let mut d = Draft::default();
        if !s.symbols.is_empty() {
            for f in function_facts(s).iter().take(2) {
                let name = f["name"].as_str().unwrap_or_default();
                let file = f["file"].as_str().unwrap_or_default();
                let m = &f["metrics"];
                let mut sec = Section::new(format!("Why `{name}` may be slow"));
                sec.push(Claim::fact(
                    format!(
                        "`{name}` has cyclomatic complexity {} and {} lines of code, nesting depth {}.",
                        m["cyclomatic"], m["nloc"], m["max_nesting"]
                    ),
                    vec![function_evidence(f, "cyclomatic")],
                ));
                let src =
                    source_of(s, file, f["start_line"].as_i64().unwrap_or(0)).unwrap_or_default();
                let ls = loops(&src, f["start_line"].as_i64().unwrap_or(1));
                let deepest = ls.iter().map(|l| l.1).max().unwrap_or(0);
                for (line, depth, text) in ls.iter().filter(|l| l.1 >= 2 || ls.len() <= 3).take(4) {
                    sec.push(Claim::fact(
                        format!("A loop at nesting level {depth}: `{}`{}", text.chars().take(100).collect::<String>(),
                            if *depth >= 2 { " — the work inside runs once per combination of the outer iterations (quadratic or worse)" } else { "" }),
                        vec![Evidence { file: file.into(), line: Some(*line), rule_id: None, metric: Some(format!("loop_depth={depth}")), symbol: None, excerpt: Some(text.chars().take(200).collect()), detail: String::new() }],
                    ));
                }
                let perf: Vec<Value> = findings_within(s, f)
                    .into_iter()
                    .filter(|x| x["rule_id"].as_str().is_some_and(|r| r.starts_with("PERF")))
                    .collect();
                for x in perf.iter().take(6) {
                    sec.push(Claim::fact(
                        format!(
                            "{}: {}",
                            x["rule_id"].as_str().unwrap_or_default(),
                            x["message"].as_str().unwrap_or_default()
                        ),
                        vec![finding_evidence(x)],
                    ));
                }
                if ls.is_empty() && perf.is_empty() {
                    sec.push(Claim::advice("It has no loop and no performance finding: its own code is unlikely to be the bottleneck. Profile it (`py-spy record`, `cProfile`) to see whether the time goes to what it calls (I/O, the database, the network)."));
                } else if deepest >= 2 {
                    sec.push(Claim::advice("Cut the nested iteration: index the inner collection once (a dict or set keyed by what the inner loop looks for) so each lookup is O(1)."));
                }
                d.add(sec);
            }
            d.summary = "From the function's metrics, its loops and the performance rules that fire inside it.".into();
            return d;
        }
        let hs: Vec<Value> = hotspots(s)
            .into_iter()
            .filter(|h| !is_test_path(h["path"].as_str().unwrap_or_default()))
            .collect();
        let found = findings(s, Some("performance"));
        let eps = entry_points(s);
        d.summary = format!(
            "{} performance finding(s), {} complexity hotspot(s), {} entry point(s) found.",
            found.len(),
            hs.len().min(5),
            eps.len()
        );
        let sec = super::rules_section(s, "Performance findings", &found);
        d.add(sec);
        let mut sec = Section::new("Hotspots");
        for h in hs.iter().take(5) {
            sec.push(Claim::fact(
                format!(
                    "`{}`: cyclomatic {}, cognitive {}, {} lines",
                    h["qualified_name"].as_str().unwrap_or_default(),
                    h["cyclomatic"],
                    h["cognitive"],
                    h["nloc"]
                ),
                vec![Evidence::hotspot(h)],
            ));
        }
        d.add(sec);
        let mut routes: Vec<(String, String)> = Vec::new();
        let mut sec = Section::new("Load-test plan");
        for m in eps.iter().take(12) {
            let text = m["text"].as_str().unwrap_or_default();
            sec.push(Claim::fact(
                format!(
                    "Entry point: `{}`",
                    text.chars().take(100).collect::<String>()
                ),
                vec![Evidence {
                    file: m["file"].as_str().unwrap_or_default().into(),
                    line: m["line"].as_i64(),
                    rule_id: None,
                    metric: None,
                    symbol: None,
                    excerpt: Some(text.chars().take(200).collect()),
                    detail: String::new(),
                }],
            ));
            if let Some(p) = ROUTE_PATH.captures(text) {
                let method = METHOD
                    .captures(text.split('(').next().unwrap_or_default())
                    .map_or("GET".to_string(), |c| c[1].to_uppercase());
                let route = (method, p[1].to_string());
                if !routes.contains(&route) {
                    routes.push(route);
                }
            }
        }
        if !eps.is_empty() {
            sec.push(Claim::advice("Ramp to the expected peak concurrency, hold it, and watch p95 latency and the error rate; the hotspots above are where to look when p95 climbs. A locust file works the same way if your team prefers Python."));
            if !routes.is_empty() {
                d.artifacts.push(Artifact {
                    kind: "k6".into(),
                    title: "Load test for the routes found (k6)".into(),
                    content: k6_script(&routes),
                    // k6 is not run here: it needs the application running.
                    validated: None,
                });
            }
        }
        d.add(sec);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_nesting_follows_indentation() {
        let src = "def f(xs, ys):\n    for x in xs:\n        for y in ys:\n            pass\n    while True:\n        break\n";
        let l = loops(src, 10);
        assert_eq!(
            l.iter().map(|l| (l.0, l.1)).collect::<Vec<_>>(),
            [(11, 1), (12, 2), (14, 1)]
        );
    }

    #[test]
    fn k6_script_hits_each_route() {
        let s = k6_script(&[
            ("GET".into(), "/hello".into()),
            ("POST".into(), "/orders".into()),
        ]);
        assert!(
            s.contains("http.get(`${BASE}/hello`)") && s.contains("http.post(`${BASE}/orders`"),
            "{s}"
        );
    }
}
