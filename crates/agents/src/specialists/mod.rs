//! The four specialists. Each is a strategy over the tools: from what has been observed it
//! proposes the next actions (the engine runs the first not yet taken), and from the
//! observations alone it writes its part of the answer as claims, each citing the
//! evidence (file:line, rule, metric) a tool returned.

mod code_reviewer;
mod performance;
mod security;
mod test_architect;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::engine::{Artifact, Collaboration, Scratch};
use crate::planner::{Intent, Mode};
use crate::tools::Evidence;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum SpecialistId {
    TestArchitect,
    CodeReviewer,
    PerformanceAnalyst,
    SecuritySpecialist,
}

impl SpecialistId {
    pub const ALL: [SpecialistId; 4] = [
        SpecialistId::TestArchitect,
        SpecialistId::CodeReviewer,
        SpecialistId::PerformanceAnalyst,
        SpecialistId::SecuritySpecialist,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SpecialistId::TestArchitect => "test-architect",
            SpecialistId::CodeReviewer => "code-reviewer",
            SpecialistId::PerformanceAnalyst => "performance-analyst",
            SpecialistId::SecuritySpecialist => "security-specialist",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            SpecialistId::TestArchitect => "Test Architect",
            SpecialistId::CodeReviewer => "Code Reviewer",
            SpecialistId::PerformanceAnalyst => "Performance Analyst",
            SpecialistId::SecuritySpecialist => "Security Specialist",
        }
    }

    pub fn parse(s: &str) -> Option<SpecialistId> {
        let s = s.trim().to_lowercase().replace([' ', '_'], "-");
        SpecialistId::ALL
            .into_iter()
            .find(|i| i.name() == s || i.name().split('-').next() == Some(s.as_str()))
    }

    pub fn description(self) -> &'static str {
        match self {
            SpecialistId::TestArchitect => {
                "Test strategy: frameworks found, the test pyramid, which untested code to cover first and why, CI advice"
            }
            SpecialistId::CodeReviewer => {
                "Maintainability review of a repository, file, function or change, with concrete refactorings"
            }
            SpecialistId::PerformanceAnalyst => {
                "Hotspots from complexity and performance rules, why a function is slow, a load-test plan for the entry points"
            }
            SpecialistId::SecuritySpecialist => {
                "Security findings triaged by exploitability, a threat summary, and the security tests to add"
            }
        }
    }

    pub fn capabilities(self) -> Vec<String> {
        let c: &[&str] = match self {
            SpecialistId::TestArchitect => &[
                "test-strategy",
                "untested-code",
                "test-priorities",
                "ci-advice",
            ],
            SpecialistId::CodeReviewer => &[
                "code-review",
                "refactoring",
                "rule-explanations",
                "code-search",
                "analysis-comparison",
            ],
            SpecialistId::PerformanceAnalyst => {
                &["hotspots", "performance-rules", "load-test-plan"]
            }
            SpecialistId::SecuritySpecialist => {
                &["security-triage", "threat-summary", "security-tests"]
            }
        };
        c.iter().map(|s| s.to_string()).collect()
    }

    /// Who knows a rule family best.
    pub fn for_rule(rule: &str) -> SpecialistId {
        if rule.starts_with("SEC") {
            SpecialistId::SecuritySpecialist
        } else if rule.starts_with("PERF") {
            SpecialistId::PerformanceAnalyst
        } else {
            SpecialistId::CodeReviewer
        }
    }
}

/// An action a specialist wants: a tool, its input, and why.
#[derive(Debug, Clone)]
pub struct Action {
    pub thought: String,
    pub tool: &'static str,
    pub args: Value,
}

impl Action {
    pub fn new(thought: impl Into<String>, tool: &'static str, args: Value) -> Action {
        Action {
            thought: thought.into(),
            tool,
            args,
        }
    }
}

/// A sentence of the answer. With evidence it is a factual claim (verified before it is
/// shown); without, advice that follows from the claims around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub text: String,
    pub evidence: Vec<Evidence>,
}

impl Claim {
    pub fn fact(text: impl Into<String>, evidence: Vec<Evidence>) -> Claim {
        Claim {
            text: text.into(),
            evidence,
        }
    }
    pub fn advice(text: impl Into<String>) -> Claim {
        Claim {
            text: text.into(),
            evidence: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Section {
    pub heading: String,
    pub claims: Vec<Claim>,
}

impl Section {
    pub fn new(heading: impl Into<String>) -> Section {
        Section {
            heading: heading.into(),
            claims: Vec::new(),
        }
    }
    fn push(&mut self, c: Claim) {
        self.claims.push(c);
    }
}

/// One specialist's part of an answer.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// One or two sentences, no citation needed (they summarise the claims below).
    pub summary: String,
    pub sections: Vec<Section>,
    pub artifacts: Vec<Artifact>,
}

impl Draft {
    pub fn claims(&self) -> impl Iterator<Item = &Claim> {
        self.sections.iter().flat_map(|s| &s.claims)
    }
    fn add(&mut self, s: Section) {
        if !s.claims.is_empty() {
            self.sections.push(s);
        }
    }
}

pub trait Strategy: Send + Sync {
    fn id(&self) -> SpecialistId;
    /// What it wants to run given the observations so far, in order.
    fn plan(&self, s: &Scratch) -> Vec<Action>;
    /// The next action: by default the first planned one not yet attempted. (A planner
    /// that proposes an attempted action again is stopped by the engine's loop breaker.)
    fn next(&self, s: &Scratch, attempted: &HashSet<String>) -> Option<Action> {
        self.plan(s)
            .into_iter()
            .find(|a| !attempted.contains(&format!("{} {}", a.tool, a.args)))
    }
    fn answer(&self, s: &Scratch) -> Draft;
}

pub fn strategy(id: SpecialistId) -> Box<dyn Strategy> {
    match id {
        SpecialistId::TestArchitect => Box::new(test_architect::TestArchitect),
        SpecialistId::CodeReviewer => Box::new(code_reviewer::CodeReviewer),
        SpecialistId::PerformanceAnalyst => Box::new(performance::PerformanceAnalyst),
        SpecialistId::SecuritySpecialist => Box::new(security::SecuritySpecialist),
    }
}

// ---- Reading observations -------------------------------------------------------------

/// The analysis every action works on (set before any specialist runs).
fn aid(s: &Scratch) -> i64 {
    s.analysis_id.unwrap_or_default()
}

/// Findings observed from `find_violations` calls whose `family` argument is `family`
/// (`None`: any call), deduplicated, in the order observed.
fn findings(s: &Scratch, family: Option<&str>) -> Vec<Value> {
    let mut seen = HashSet::new();
    s.observations
        .iter()
        .filter(|o| o.tool == "find_violations")
        .filter(|o| family.is_none_or(|f| o.args["family"] == f))
        .filter_map(|o| o.result.as_ref().ok())
        .flat_map(|out| out.data["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| seen.insert(f["fingerprint"].to_string()))
        .collect()
}

fn finding_evidence(f: &Value) -> Evidence {
    Evidence {
        file: f["file"].as_str().unwrap_or_default().into(),
        line: f["line"].as_i64(),
        rule_id: f["rule_id"].as_str().map(str::to_string),
        metric: None,
        symbol: None,
        excerpt: None,
        detail: f["message"].as_str().unwrap_or_default().into(),
    }
}

fn hotspots(s: &Scratch) -> Vec<Value> {
    s.ok("analysis_summary")
        .next()
        .and_then(|o| o.data["summary"]["hotspots"].as_array().cloned())
        .unwrap_or_default()
}

/// Metrics observed for a function (`function_metrics`), by qualified name and file.
fn function_facts(s: &Scratch) -> Vec<Value> {
    let mut seen = HashSet::new();
    s.ok("function_metrics")
        .flat_map(|o| o.data["functions"].as_array().cloned().unwrap_or_default())
        .filter(|f| seen.insert(format!("{}:{}", f["file"], f["start_line"])))
        .collect()
}

fn function_evidence(f: &Value, metric: &str) -> Evidence {
    Evidence {
        file: f["file"].as_str().unwrap_or_default().into(),
        line: f["start_line"].as_i64(),
        rule_id: None,
        metric: Some(format!("{metric}={}", f["metrics"][metric])),
        symbol: f["name"].as_str().map(str::to_string),
        excerpt: None,
        detail: String::new(),
    }
}

/// The source observed for a function at `file:line`.
fn source_of(s: &Scratch, file: &str, line: i64) -> Option<String> {
    s.ok("function_source")
        .flat_map(|o| o.data["functions"].as_array().cloned().unwrap_or_default())
        .find(|f| f["file"] == file && f["start_line"].as_i64() == Some(line))
        .and_then(|f| f["source"].as_str().map(str::to_string))
}

/// The resolved functions' metrics and source (the first two), as actions.
fn function_actions(s: &Scratch, why: &str) -> Vec<Action> {
    let id = aid(s);
    let mut out = Vec::new();
    for (name, file, _) in s.symbols.iter().take(2) {
        out.push(Action::new(
            format!("{why}: the metrics of `{name}`."),
            "function_metrics",
            json!({ "analysis_id": id, "name": name, "file": file }),
        ));
        out.push(Action::new(
            format!("Read the source of `{name}` to see what drives them."),
            "function_source",
            json!({ "analysis_id": id, "name": name, "file": file }),
        ));
    }
    out
}

/// The named functions' metrics and source, and the findings of their files (to place
/// findings inside them): how every specialist starts on a question about a function.
fn named_function_actions(s: &Scratch, why: &str) -> Vec<Action> {
    let mut out = function_actions(s, why);
    out.extend(file_findings_actions(s));
    out
}

/// Findings of any family inside the resolved functions' files (to place them in functions).
fn file_findings_actions(s: &Scratch) -> Vec<Action> {
    let mut files: Vec<&String> = s.symbols.iter().take(2).map(|(_, f, _)| f).collect();
    files.dedup();
    files
        .into_iter()
        .map(|f| {
            Action::new(
                format!("List the rule violations in `{f}` to find those inside the function."),
                "find_violations",
                json!({ "analysis_id": aid(s), "file": f, "limit": 200 }),
            )
        })
        .collect()
}

/// A repository (or scope) overview of one rule family: its hotspots and findings.
fn family_actions(s: &Scratch, family: &str, summary_why: &str, findings_why: &str) -> Vec<Action> {
    let id = aid(s);
    let mut args = json!({ "analysis_id": id, "family": family, "limit": 200 });
    if let Some(scope) = s.scope() {
        args["file"] = scope.into();
    }
    vec![
        Action::new(
            summary_why,
            "analysis_summary",
            json!({ "analysis_id": id }),
        ),
        Action::new(findings_why, "find_violations", args),
    ]
}

/// A section with one claim per rule (most severe first): how often it fires, an
/// example cited, and how to fix it when its docs were read.
fn rules_section(s: &Scratch, heading: &str, found: &[Value]) -> Section {
    let mut sec = Section::new(heading);
    for rule in top_rules(found, 6) {
        let fs: Vec<&Value> = found
            .iter()
            .filter(|f| f["rule_id"] == rule.as_str())
            .collect();
        let title = qa_analysis::rule(&rule).map_or(String::new(), |m| m.title.to_string());
        sec.push(Claim::fact(
            format!(
                "{} × {rule} ({title}), e.g. {}",
                fs.len(),
                fs[0]["message"].as_str().unwrap_or_default()
            ),
            vec![finding_evidence(fs[0])],
        ));
        if let Some(fix) = how_to_fix(s, &rule) {
            sec.push(Claim::advice(format!("How to fix {rule}: {fix}")));
        }
    }
    sec
}

/// Findings within a function's lines.
fn findings_within(s: &Scratch, f: &Value) -> Vec<Value> {
    let (file, start, end) = (
        f["file"].as_str().unwrap_or_default(),
        f["start_line"].as_i64().unwrap_or(0),
        f["end_line"].as_i64().unwrap_or(0),
    );
    findings(s, None)
        .into_iter()
        .filter(|x| x["file"] == file && (start..=end).contains(&x["line"].as_i64().unwrap_or(-1)))
        .collect()
}

fn severity_rank(sev: &str) -> u8 {
    match sev {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

/// The "How to fix" paragraph of an explained rule's docs, first sentences.
fn how_to_fix(s: &Scratch, rule: &str) -> Option<String> {
    let docs = s.ok("explain_rule").find(|o| o.data["id"] == rule)?.data["docs"]
        .as_str()?
        .to_string();
    let section = docs.split("## How to fix").nth(1)?;
    let text: String = section
        .split("\n## ")
        .next()?
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("```"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let text = text.trim();
    (!text.is_empty()).then(|| first_sentences(text, 2))
}

fn first_sentences(text: &str, n: usize) -> String {
    let mut out = String::new();
    for (i, sentence) in text.split_inclusive(". ").enumerate() {
        if i == n {
            break;
        }
        out.push_str(sentence);
    }
    out.trim().to_string()
}

fn explain_actions(rules: &[String], why: &str) -> Vec<Action> {
    rules
        .iter()
        .map(|r| {
            Action::new(
                format!("{why} {r}: what it means and how to fix it."),
                "explain_rule",
                json!({ "rule": r }),
            )
        })
        .collect()
}

/// Distinct rule ids of `findings`, most severe first.
fn top_rules(findings: &[Value], n: usize) -> Vec<String> {
    let mut rules: Vec<(u8, usize, String)> = Vec::new();
    for f in findings {
        let id = f["rule_id"].as_str().unwrap_or_default().to_string();
        let sev = severity_rank(f["severity"].as_str().unwrap_or_default());
        match rules.iter_mut().find(|r| r.2 == id) {
            Some(r) => r.1 += 1,
            None => rules.push((sev, 1, id)),
        }
    }
    rules.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    rules.into_iter().take(n).map(|r| r.2).collect()
}

fn is_test_path(p: &str) -> bool {
    let p = p.to_lowercase();
    p.split('/').any(|seg| {
        seg == "test" || seg == "tests" || seg.starts_with("test_") || seg.ends_with("_test.py")
    }) || p.contains(".test.")
        || p.contains(".spec.")
}

/// Refactorings that a function's metrics call for.
fn refactorings(m: &Value) -> Vec<String> {
    let n = |k: &str| m[k].as_i64().unwrap_or(0);
    let mut out = Vec::new();
    if n("max_nesting") > 3 {
        out.push(format!(
            "flatten the nesting (depth {}) with guard clauses and early returns or `continue`",
            n("max_nesting")
        ));
    }
    if n("cyclomatic") > 10 {
        out.push(format!("split its {} decision paths: extract each branch into a named helper, or replace an if/elif chain on one value with a lookup table", n("cyclomatic")));
    }
    if n("cognitive") > 15 && n("cyclomatic") <= 10 {
        out.push(format!("simplify the control flow (cognitive complexity {}): name compound conditions, avoid flag variables", n("cognitive")));
    }
    if n("nloc") > 60 {
        out.push(format!(
            "break its {} lines into steps, each a function with one purpose",
            n("nloc")
        ));
    }
    if n("parameters") > 5 {
        out.push(format!(
            "group its {} parameters into a small dataclass or options object",
            n("parameters")
        ));
    }
    out
}

// ---- Answers without a specialist --------------------------------------------------------

pub fn capabilities(s: &Scratch) -> Draft {
    let understood = s.intent() == Intent::Capabilities;
    let mut d = Draft {
        summary: if understood {
            "I am qa-agent. I answer questions about a repository from a real analysis of it; every claim cites the file and line it comes from.".into()
        } else {
            "I did not understand that question, so I will not guess. Here is what I can do:".into()
        },
        ..Draft::default()
    };
    let mut sec = Section::new("What you can ask");
    for c in [
        "**Risk overview** — \"what is risky in payments/?\": security, maintainability and performance findings together (all four specialists).",
        "**Security** — \"review parse_order for security\": findings triaged by exploitability, a threat summary, the security tests to add.",
        "**Performance** — \"why is parse_order slow?\": its complexity, loops and performance findings; hotspots and a load-test plan (k6) for the entry points.",
        "**Code review** — \"review src/app.py\", \"what should I refactor?\": maintainability findings and hotspots with concrete refactorings.",
        "**Testing** — \"what should I test first?\": frameworks found, the test pyramid, the riskiest untested functions, CI advice.",
        "**Rules** — \"what does SEC003 mean?\"; **search** — \"where is slugify defined?\"; **functions** — \"how complex is Table.insert?\"; **changes** — \"compare analysis 3 and 5\".",
    ] {
        sec.push(Claim::advice(c));
    }
    d.add(sec);
    d
}

pub fn still_running(id: Option<i64>) -> Draft {
    Draft {
        summary: format!(
            "The analysis of the repository is still running{}; ask again when it is done (or pass its analysis_id).",
            id.map(|i| format!(" (analysis {i})")).unwrap_or_default()
        ),
        ..Draft::default()
    }
}

pub fn no_analysis(s: &Scratch, tried: bool) -> Draft {
    let why = if tried {
        let err = s
            .observations
            .iter()
            .find(|o| o.tool == "analyze_repository")
            .and_then(|o| o.result.as_ref().err().cloned())
            .unwrap_or_default();
        format!("I could not analyse the repository: {err}")
    } else {
        "Tell me which repository: pass `path` (a directory on the server) or `analysis_id`.".into()
    };
    Draft {
        summary: format!(
            "{why} Without an analysis I have no facts to answer from, and I will not make them up."
        ),
        ..Draft::default()
    }
}

// ---- Collaboration -----------------------------------------------------------------------

/// A rater's vote on another specialist's claim: agree, disagree, or abstain (`None`).
fn vote(rater: SpecialistId, rater_draft: &Draft, claim: &Claim, s: &Scratch) -> Option<bool> {
    if claim.evidence.iter().any(|e| s.verified(e) == Some(false)) {
        return Some(false);
    }
    // Code that only tests run is not a production risk, whatever the rule says.
    if matches!(
        rater,
        SpecialistId::CodeReviewer | SpecialistId::TestArchitect
    ) && claim.evidence.iter().all(|e| is_test_path(&e.file))
    {
        return Some(false);
    }
    let mine: HashSet<(String, Option<i64>)> = rater_draft
        .claims()
        .flat_map(|c| &c.evidence)
        .map(|e| (e.file.clone(), e.line))
        .collect();
    if claim
        .evidence
        .iter()
        .any(|e| mine.contains(&(e.file.clone(), e.line)))
    {
        return Some(true);
    }
    None
}

/// Settles a collaboration: in consensus mode each specialist rates the others' claims
/// and a claim stands if the evidence-weighted vote is for it (the author weighs
/// 1 + its verified citations, each rater 1; a tie is an unresolved conflict and the
/// claim stays, flagged by the count). Returns the summary and the claims outvoted.
pub fn collaborate(
    mode: Mode,
    drafts: &[(Option<SpecialistId>, Draft, usize, usize)],
    s: &Scratch,
) -> (Collaboration, HashSet<String>) {
    let all_verified = drafts
        .iter()
        .flat_map(|(_, d, ..)| d.claims())
        .flat_map(|c| &c.evidence)
        .all(|e| s.verified(e) == Some(true));
    let mut conflicts = 0;
    let mut resolved = 0;
    let mut rejected = HashSet::new();
    if mode == Mode::Consensus {
        for (author, draft, ..) in drafts {
            for claim in draft.claims().filter(|c| !c.evidence.is_empty()) {
                let author_weight = 1.0
                    + claim
                        .evidence
                        .iter()
                        .filter(|e| s.verified(e) == Some(true))
                        .count() as f64;
                let (mut yes, mut no) = (author_weight, 0.0);
                for (rater, rater_draft, ..) in drafts {
                    let Some(rater) = rater.filter(|r| Some(*r) != *author) else {
                        continue;
                    };
                    match vote(rater, rater_draft, claim, s) {
                        Some(true) => yes += 1.0,
                        Some(false) => no += 1.0,
                        None => {}
                    }
                }
                if no > 0.0 {
                    conflicts += 1;
                    if yes != no {
                        resolved += 1;
                    }
                    if no > yes {
                        rejected.insert(claim.text.clone());
                    }
                }
            }
        }
    }
    (
        Collaboration {
            mode,
            conflicts,
            resolved,
            effective: conflicts == resolved && all_verified,
        },
        rejected,
    )
}
