//! Code Reviewer: maintainability review of a repository, directory, file, function or
//! change (two analyses), with concrete refactorings; also answers rule explanations,
//! code search and "show me this function".

use serde_json::{Value, json};

use super::{
    Action, Claim, Draft, Section, SpecialistId, Strategy, aid, explain_actions, family_actions,
    finding_evidence, findings, findings_within, function_evidence, function_facts, hotspots,
    is_test_path, named_function_actions, refactorings, source_of, top_rules,
};
use crate::engine::Scratch;
use crate::planner::Intent;
use crate::tools::Evidence;

pub struct CodeReviewer;

/// The plan for "what does SEC003 mean": the rule's docs, and where it fires here.
pub(super) fn explain_plan(s: &Scratch) -> Option<Vec<Action>> {
    let rules = &s.understanding.entities.rules;
    if s.intent() != Intent::ExplainRule || rules.is_empty() {
        return None;
    }
    let mut out = explain_actions(rules, "Look up");
    if let Some(id) = s.analysis_id {
        for r in rules.iter().take(2) {
            out.push(Action::new(
                format!("Find where {r} fires in this repository."),
                "find_violations",
                json!({ "analysis_id": id, "rule": r, "limit": 10 }),
            ));
        }
    }
    Some(out)
}

pub(super) fn explain(s: &Scratch) -> Option<Draft> {
    let rules = &s.understanding.entities.rules;
    if s.intent() != Intent::ExplainRule || rules.is_empty() {
        return None;
    }
    let mut d = Draft::default();
    let mut summary = Vec::new();
    for r in rules {
        let Some(out) = s.ok("explain_rule").find(|o| o.data["id"] == r.as_str()) else {
            summary.push(format!(
                "There is no rule {r} (ids look like SEC001, PERF003, MNT012)."
            ));
            continue;
        };
        let docs = out.data["docs"].as_str().unwrap_or_default();
        let section_of = |name: &str| {
            docs.split(&format!("## {name}"))
                .nth(1)
                .and_then(|t| t.split("\n## ").next())
                .map(|t| {
                    t.lines()
                        .map(str::trim)
                        .take_while(|l| !l.starts_with("```"))
                        .filter(|l| !l.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        summary.push(format!(
            "**{r} `{}`** ({}, {}): {}",
            out.data["name"].as_str().unwrap_or_default(),
            out.data["family"].as_str().unwrap_or_default(),
            out.data["severity"].as_str().unwrap_or_default(),
            out.data["title"].as_str().unwrap_or_default()
        ));
        let mut sec = Section::new(format!("{r}: why it matters and how to fix it"));
        for part in ["What it does", "Why is this bad?", "How to fix"] {
            let text = section_of(part);
            if !text.is_empty() {
                sec.push(Claim::advice(format!("*{part}* {text}")));
            }
        }
        d.add(sec);
        let here: Vec<Value> = findings(s, None)
            .into_iter()
            .filter(|f| f["rule_id"] == r.as_str())
            .collect();
        if s.analysis_id.is_some() {
            let mut sec = Section::new(format!("Where {r} fires in this repository"));
            if here.is_empty() {
                summary.push(format!("{r} does not fire in this repository."));
            }
            for f in here.iter().take(10) {
                sec.push(Claim::fact(
                    f["message"].as_str().unwrap_or_default().to_string(),
                    vec![finding_evidence(f)],
                ));
            }
            d.add(sec);
        }
    }
    d.summary = summary.join("\n\n");
    Some(d)
}

/// Words that say how to search, not what for.
const SEARCH_WORDS: &[&str] = &[
    "find",
    "search",
    "grep",
    "locate",
    "look",
    "where",
    "used",
    "use",
    "uses",
    "usage",
    "call",
    "calls",
    "called",
    "defined",
    "define",
    "definition",
    "mention",
    "mentions",
    "file",
    "files",
    "code",
    "every",
    "place",
    "places",
    "list",
    "occurrence",
    "occurrences",
];

/// What to search for: quoted text, a name the question gives, else its last word that
/// is not about searching.
fn search_target(s: &Scratch) -> Option<String> {
    let e = &s.understanding.entities;
    if let Some(q) = &e.quoted {
        return Some(q.clone());
    }
    if let Some((n, ..)) = s.symbols.first() {
        return Some(crate::tools::symbol_stem(n).to_string());
    }
    if let Some(n) = e.symbols.first().or(e.weak_symbols.first()) {
        return Some(crate::tools::symbol_stem(n).to_string());
    }
    s.question
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.len() >= 2)
        .map(str::to_lowercase)
        .rfind(|w| !crate::planner::intent::is_stopword(w) && !SEARCH_WORDS.contains(&w.as_str()))
}

fn search_plan(s: &Scratch) -> Vec<Action> {
    let q = s.question.to_lowercase();
    let wants_uses = q.contains("use") || q.contains("call") || q.contains("mention");
    // A definition was already found while resolving names; occurrences need a search.
    if !s.symbols.is_empty() && !wants_uses {
        return Vec::new();
    }
    search_target(s)
        .map(|q| {
            vec![Action::new(
                format!("Search the analysed files for `{q}`."),
                "search_code",
                json!({ "analysis_id": aid(s), "query": q, "kind": "text", "limit": 30 }),
            )]
        })
        .unwrap_or_default()
}

fn search_answer(s: &Scratch, d: &mut Draft) {
    let mut defs = Section::new("Definitions");
    for (name, file, line) in &s.symbols {
        defs.push(Claim::fact(
            format!("`{name}` is defined in `{file}`."),
            vec![Evidence {
                file: file.clone(),
                line: Some(*line),
                rule_id: None,
                metric: None,
                symbol: Some(name.clone()),
                excerpt: None,
                detail: String::new(),
            }],
        ));
    }
    let mut uses = Section::new("Occurrences");
    let mut n = 0;
    for o in s
        .observations
        .iter()
        .filter(|o| o.tool == "search_code" && o.args["kind"] == "text")
    {
        let Ok(out) = &o.result else { continue };
        for m in out.data["matches"]
            .as_array()
            .into_iter()
            .flatten()
            .take(15)
        {
            n += 1;
            let text = m["text"].as_str().unwrap_or_default();
            uses.push(Claim::fact(
                format!("`{}`", text.chars().take(120).collect::<String>()),
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
        }
    }
    d.summary = match (defs.claims.len(), n) {
        (0, 0) => "Nothing in the analysed files matches.".into(),
        (a, b) => format!("{a} definition(s) and {b} occurrence(s) found."),
    };
    d.add(defs);
    d.add(uses);
}

fn compare_answer(s: &Scratch, d: &mut Draft) {
    let Some(out) = s.ok("compare_analyses").next() else {
        d.summary = "Comparing needs two analysis ids, e.g. \"compare analysis 3 and 5\"; I could not compare these.".into();
        return;
    };
    let new = out.data["new"].as_array().cloned().unwrap_or_default();
    let fixed = out.data["fixed"].as_array().cloned().unwrap_or_default();
    d.summary = format!(
        "From analysis {} to {}: {} new finding(s), {} fixed, {} unchanged.",
        out.data["base"],
        out.data["head"],
        new.len(),
        fixed.len(),
        out.data["unchanged"]
    );
    let mut sec = Section::new("New findings");
    for f in new.iter().take(10) {
        sec.push(Claim::fact(
            format!(
                "{} ({}): {}",
                f["rule_id"].as_str().unwrap_or_default(),
                f["severity"].as_str().unwrap_or_default(),
                f["message"].as_str().unwrap_or_default()
            ),
            vec![finding_evidence(f)],
        ));
    }
    d.add(sec);
    let mut sec = Section::new("Fixed");
    for f in fixed.iter().take(10) {
        sec.push(Claim::advice(format!(
            "{} at `{}:{}` (in the earlier analysis) is gone.",
            f["rule_id"].as_str().unwrap_or_default(),
            f["file"].as_str().unwrap_or_default(),
            f["line"]
        )));
    }
    d.add(sec);
}

/// A function review: metrics, the findings inside it, refactorings.
pub(super) fn function_review(s: &Scratch, d: &mut Draft, focus: &str) {
    for f in function_facts(s).iter().take(2) {
        let name = f["name"].as_str().unwrap_or_default();
        let m = &f["metrics"];
        let mut sec = Section::new(format!("`{name}`"));
        sec.push(Claim::fact(
            format!(
                "`{name}` spans lines {}–{}: {} lines of code, cyclomatic complexity {}, cognitive complexity {}, nesting depth {}, {} parameter(s).",
                f["start_line"], f["end_line"], m["nloc"], m["cyclomatic"], m["cognitive"], m["max_nesting"], m["parameters"]
            ),
            vec![function_evidence(f, "cyclomatic")],
        ));
        for x in findings_within(s, f)
            .iter()
            .filter(|x| {
                focus.is_empty() || x["rule_id"].as_str().is_some_and(|r| r.starts_with(focus))
            })
            .take(8)
        {
            sec.push(Claim::fact(
                format!(
                    "{} ({}): {}",
                    x["rule_id"].as_str().unwrap_or_default(),
                    x["severity"].as_str().unwrap_or_default(),
                    x["message"].as_str().unwrap_or_default()
                ),
                vec![finding_evidence(x)],
            ));
        }
        let fixes = refactorings(m);
        if fixes.is_empty() {
            sec.push(Claim::advice("Its metrics are within the usual limits (cyclomatic ≤ 10, nesting ≤ 3, ≤ 60 lines, ≤ 5 parameters); no structural refactoring is called for."));
        }
        for fix in fixes {
            sec.push(Claim::advice(format!("Refactor: {fix}.")));
        }
        if let Some(src) = source_of(
            s,
            f["file"].as_str().unwrap_or_default(),
            f["start_line"].as_i64().unwrap_or(0),
        ) {
            let lines = src.lines().count();
            if lines <= 40 {
                d.artifacts.push(crate::engine::Artifact {
                    kind: "source".into(),
                    title: format!(
                        "{name} ({}:{})",
                        f["file"].as_str().unwrap_or_default(),
                        f["start_line"]
                    ),
                    content: src,
                    validated: None,
                });
            }
        }
        d.add(sec);
    }
}

impl Strategy for CodeReviewer {
    fn id(&self) -> SpecialistId {
        SpecialistId::CodeReviewer
    }

    fn plan(&self, s: &Scratch) -> Vec<Action> {
        if let Some(p) = explain_plan(s) {
            return p;
        }
        let id = aid(s);
        let e = &s.understanding.entities;
        match s.intent() {
            Intent::Search => return search_plan(s),
            Intent::Compare => {
                let ids = &e.analysis_ids;
                let (base, head) = match ids.as_slice() {
                    [a, b, ..] => (*a.min(b), *a.max(b)),
                    [a] if *a != id => ((*a).min(id), (*a).max(id)),
                    _ => return Vec::new(),
                };
                return vec![Action::new(
                    format!("Compare the findings of analysis {base} and {head} by fingerprint."),
                    "compare_analyses",
                    json!({ "base": base, "head": head }),
                )];
            }
            _ => {}
        }
        if !s.symbols.is_empty() {
            return named_function_actions(s, "Review the function");
        }
        let mut out = family_actions(
            s,
            "maintainability",
            "Start from the repository's complexity hotspots.",
            "List the maintainability findings.",
        );
        let found = findings(s, Some("maintainability"));
        out.extend(explain_actions(&top_rules(&found, 2), "Look up how to fix"));
        out
    }

    fn answer(&self, s: &Scratch) -> Draft {
        if let Some(d) = explain(s) {
            return d;
        }
        let mut d = Draft::default();
        match s.intent() {
            Intent::Search => {
                search_answer(s, &mut d);
                return d;
            }
            Intent::Compare => {
                compare_answer(s, &mut d);
                return d;
            }
            _ => {}
        }
        if !s.symbols.is_empty() {
            function_review(s, &mut d, "");
            d.summary = if d.sections.is_empty() {
                "I found the function but could not read its metrics.".into()
            } else {
                "Review of the function from its metrics, the findings inside it and its source."
                    .into()
            };
            return d;
        }
        let scope = s.scope();
        let in_scope = |p: &str| {
            scope
                .as_deref()
                .is_none_or(|sc| p == sc || (sc.ends_with('/') && p.starts_with(sc)))
        };
        let hs: Vec<Value> = hotspots(s)
            .into_iter()
            .filter(|h| in_scope(h["path"].as_str().unwrap_or_default()))
            .filter(|h| !is_test_path(h["path"].as_str().unwrap_or_default()))
            .collect();
        let found = findings(s, Some("maintainability"));
        d.summary = format!(
            "{} maintainability finding(s){}; {} complexity hotspot(s) to refactor first.",
            found.len(),
            scope
                .as_deref()
                .map(|p| format!(" in `{p}`"))
                .unwrap_or_default(),
            hs.len().min(5)
        );
        let mut sec = Section::new("Refactor first (complexity hotspots)");
        for h in hs.iter().take(5) {
            let m = json!({ "cyclomatic": h["cyclomatic"], "cognitive": h["cognitive"], "nloc": h["nloc"] });
            let fixes = refactorings(&m);
            sec.push(Claim::fact(
                format!(
                    "`{}`: cyclomatic {}, cognitive {}, {} lines{}",
                    h["qualified_name"].as_str().unwrap_or_default(),
                    h["cyclomatic"],
                    h["cognitive"],
                    h["nloc"],
                    if fixes.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", fixes.join("; "))
                    }
                ),
                vec![Evidence::hotspot(h)],
            ));
        }
        d.add(sec);
        let sec = super::rules_section(s, "Maintainability findings", &found);
        d.add(sec);
        d
    }
}
