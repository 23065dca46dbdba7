//! Security Specialist: security findings triaged by exploitability (severity, whether the
//! line handles outside input, whether its file has entry points), a threat summary, and
//! the security tests to add.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use super::{
    Action, Claim, Draft, Section, SpecialistId, Strategy, aid, explain_actions, finding_evidence,
    findings, named_function_actions, severity_rank, top_rules,
};
use crate::engine::Scratch;
use crate::tools::Evidence;

pub struct SecuritySpecialist;

/// Lines that handle data from outside the process.
static OUTSIDE_INPUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(request|req|query|params|form|body|argv|environ|getenv|input\(|stdin|headers|cookies|payload|upload|recv|user)").unwrap()
});

/// Entry points: HTTP handlers by decorator or route table, CLI mains.
pub(super) const ENTRY_POINTS: &str = r"@\w*\.?(route|get|post|put|patch|delete)\(|add_url_rule\(|HandleFunc\(|def do_(GET|POST)\b|(app|router)\.(get|post|put|delete)\(";

fn triage(s: &Scratch, f: &Value, entry_files: &[String]) -> (u8, Vec<&'static str>) {
    let e = finding_evidence(f);
    let mut score = severity_rank(f["severity"].as_str().unwrap_or_default());
    let mut why = Vec::new();
    if s.line_context(&e)
        .is_some_and(|t| OUTSIDE_INPUT.is_match(t))
    {
        score += 2;
        why.push("the line or the ones before it handle outside input");
    }
    if entry_files.contains(&e.file) {
        score += 1;
        why.push("its file has entry points");
    }
    (score, why)
}

/// The security test a rule calls for.
fn test_for(rule_name: &str) -> &'static str {
    let n = rule_name;
    if n.contains("sql") {
        "pass `' OR '1'='1` and `1; DROP TABLE x` through the query's inputs and assert they are bound as parameters (no extra rows, no error from the database)"
    } else if n.contains("shell") || n.contains("command") || n.contains("exec") {
        "call it with an argument such as `x; touch /tmp/pwned` (mock the process call) and assert it runs one program with an argument list, never a shell string"
    } else if n.contains("eval") {
        "feed it `__import__('os').system('id')` and assert it is rejected or parsed as data (e.g. `ast.literal_eval`), never executed"
    } else if n.contains("pickle") || n.contains("deserial") || n.contains("yaml") {
        "feed it a crafted payload (a pickle or `!!python/object` YAML that would run code) and assert it is refused; only a safe loader or a signed format passes"
    } else if n.contains("password") || n.contains("secret") || n.contains("token") {
        "assert the credential comes from the environment or a secret store (the test sets it; no literal in the code), and add secret scanning to CI"
    } else if n.contains("hash") || n.contains("cipher") || n.contains("random") {
        "assert tokens come from `secrets`/a CSPRNG and digests from SHA-256 or better (a test that fails if MD5/SHA-1/`random` is used for security)"
    } else if n.contains("tls") || n.contains("jwt") {
        "assert that a self-signed certificate or an unsigned/`alg=none` token is refused"
    } else if n.contains("html") || n.contains("markup") {
        "render `<script>alert(1)</script>` through it and assert the output is escaped"
    } else if n.contains("temp") || n.contains("writable") {
        "assert files are created with `mkstemp`/mode 0o600 and never world-writable"
    } else if n.contains("debug") {
        "assert the production configuration starts with debug off"
    } else {
        "reproduce the finding's input in a regression test and assert it is refused"
    }
}

impl Strategy for SecuritySpecialist {
    fn id(&self) -> SpecialistId {
        SpecialistId::SecuritySpecialist
    }

    fn plan(&self, s: &Scratch) -> Vec<Action> {
        let id = aid(s);
        let e = &s.understanding.entities;
        if let Some(p) = super::code_reviewer::explain_plan(s) {
            return p;
        }
        let mut out = Vec::new();
        if !s.symbols.is_empty() {
            out.extend(named_function_actions(
                s,
                "The question is about specific code",
            ));
        } else {
            let mut args = json!({ "analysis_id": id, "family": "security", "limit": 200 });
            if let Some(scope) = s.scope() {
                args["file"] = scope.into();
            }
            if let Some(sev) = &e.severity {
                args["severity"] = sev.clone().into();
            }
            out.push(Action::new(
                "List the security findings to triage.",
                "find_violations",
                args,
            ));
        }
        let found = relevant(s);
        if found.is_empty() {
            return out;
        }
        out.push(Action::new(
            "Find the entry points (HTTP handlers, CLI mains): findings reachable from them matter more.",
            "search_code",
            json!({ "analysis_id": id, "query": super::security::ENTRY_POINTS, "kind": "text", "regex": true, "limit": 200 }),
        ));
        // The flagged lines' text tells whether they handle outside input.
        let items: Vec<Value> = found
            .iter()
            .take(60)
            .map(|f| json!({ "file": f["file"], "line": f["line"], "rule_id": f["rule_id"] }))
            .collect();
        out.push(Action::new(
            "Read the flagged lines to see whether they handle outside input.",
            "verify_evidence",
            json!({ "analysis_id": id, "items": items }),
        ));
        out.extend(explain_actions(&top_rules(&found, 3), "Explain"));
        out
    }

    fn answer(&self, s: &Scratch) -> Draft {
        if let Some(d) = super::code_reviewer::explain(s) {
            return d;
        }
        let mut d = Draft::default();
        let found = relevant(s);
        let entry_files: Vec<String> = s
            .observations
            .iter()
            .filter(|o| o.tool == "search_code" && o.args["kind"] == "text")
            .filter_map(|o| o.result.as_ref().ok())
            .flat_map(|o| o.data["matches"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| m["file"].as_str().map(str::to_string))
            .collect();
        if found.is_empty() {
            let scope = match (&s.symbols.first(), s.scope()) {
                (Some((n, f, l)), _) => {
                    let ev = Evidence {
                        file: f.clone(),
                        line: Some(*l),
                        rule_id: None,
                        metric: None,
                        symbol: Some(n.clone()),
                        excerpt: None,
                        detail: String::new(),
                    };
                    let mut sec = Section::new("Findings");
                    sec.push(Claim::fact(
                        format!("No security rule fires inside `{n}`."),
                        vec![ev],
                    ));
                    d.add(sec);
                    format!("`{n}`")
                }
                (None, Some(p)) => format!("`{p}`"),
                (None, None) => "this repository".into(),
            };
            d.summary = format!(
                "The analysis found no security issue in {scope}. Static rules cannot prove the absence of flaws: authentication, authorisation and business logic still need review and tests."
            );
            return d;
        }
        let mut ranked: Vec<(u8, Vec<&'static str>, &Value)> = found
            .iter()
            .map(|f| {
                let (score, why) = triage(s, f, &entry_files);
                (score, why, f)
            })
            .collect();
        ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
        let likely = ranked.iter().filter(|r| r.0 >= 5).count();
        d.summary = format!(
            "{} security finding(s){}; {} likely exploitable (high severity on a line that handles outside input or in a file with entry points).",
            found.len(),
            s.scope().map(|p| format!(" in `{p}`")).unwrap_or_default(),
            likely
        );
        let mut triaged = Section::new("Findings by exploitability");
        for (score, why, f) in ranked.iter().take(10) {
            let level = match score {
                5.. => "likely exploitable",
                3..=4 => "needs review",
                _ => "low",
            };
            let why = if why.is_empty() {
                String::new()
            } else {
                format!(" — {}", why.join(", "))
            };
            triaged.push(Claim::fact(
                format!(
                    "**{level}** ({}): {}{why}",
                    f["severity"].as_str().unwrap_or_default(),
                    f["message"].as_str().unwrap_or_default()
                ),
                vec![finding_evidence(f)],
            ));
        }
        d.add(triaged);
        // Threat summary: one line per rule.
        let mut by_rule: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        for f in &found {
            by_rule
                .entry(f["rule_id"].as_str().unwrap_or_default().to_string())
                .or_default()
                .push(f);
        }
        let mut threats = Section::new("Threat summary");
        let mut tests = Section::new("Security tests to add");
        for rule in top_rules(&found, 6) {
            let fs = &by_rule[&rule];
            let meta = qa_analysis::rule(&rule);
            let title = meta.map_or(rule.clone(), |m| m.title.to_string());
            threats.push(Claim::fact(
                format!("{} × {rule} ({title})", fs.len()),
                vec![finding_evidence(fs[0])],
            ));
            if let Some(m) = meta {
                tests.push(Claim::advice(format!(
                    "For {rule} ({}): {}.",
                    m.name,
                    test_for(m.name)
                )));
            }
            if let Some(fix) = super::how_to_fix(s, &rule) {
                tests.push(Claim::advice(format!("Fix for {rule}: {fix}")));
            }
        }
        d.add(threats);
        d.add(tests);
        d
    }
}

/// The security findings that matter to the question: inside the named functions, else all.
fn relevant(s: &Scratch) -> Vec<Value> {
    let fs: Vec<Value> = if s.symbols.is_empty() {
        findings(s, Some("security"))
    } else {
        super::function_facts(s)
            .iter()
            .flat_map(|f| super::findings_within(s, f))
            .filter(|f| f["rule_id"].as_str().is_some_and(|r| r.starts_with("SEC")))
            .collect()
    };
    let mut fs = fs;
    fs.sort_by_key(|f| {
        std::cmp::Reverse(severity_rank(f["severity"].as_str().unwrap_or_default()))
    });
    fs
}
