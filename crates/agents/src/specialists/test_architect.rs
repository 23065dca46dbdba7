//! Test Architect: the test strategy of a repository (frameworks found, the shape of the
//! test pyramid, the untested code to cover first and why, CI advice), and "write tests for
//! X": tests generated and run in the sandbox (`generate_tests`), shown only when they passed
//! every run; where none can be generated (another language, a module that does not import),
//! what the tests must cover, from the function's own branches and exceptions, never
//! unvalidated test code.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use super::{
    Action, Claim, Draft, Section, SpecialistId, Strategy, aid, function_actions,
    function_evidence, function_facts, source_of,
};
use crate::engine::{Artifact, Scratch};
use crate::planner::Intent;
use crate::tools::Evidence;

pub struct TestArchitect;

static RAISE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(raise|throw)\s+\w|panic!\(").unwrap());
static BRANCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(if|elif|else if|case|match|except|catch|switch)\b").unwrap()
});

fn untested(s: &Scratch) -> Option<&Value> {
    s.ok("list_untested").next().map(|o| &o.data)
}

fn untested_evidence(f: &Value) -> Evidence {
    Evidence {
        file: f["path"].as_str().unwrap_or_default().into(),
        line: f["start_line"].as_i64(),
        rule_id: None,
        metric: Some(format!("risk={:.2}", f["risk"].as_f64().unwrap_or(0.0))),
        symbol: f["qualified_name"].as_str().map(str::to_string),
        excerpt: None,
        detail: String::new(),
    }
}

fn why_first(f: &Value) -> String {
    let mut why = Vec::new();
    let cc = f["cyclomatic"].as_i64().unwrap_or(0);
    if cc > 5 {
        why.push(format!("{cc} decision paths"));
    }
    let fan_in = f["fan_in"].as_i64().unwrap_or(0);
    if fan_in > 0 {
        why.push(format!("called from {fan_in} place(s)"));
    }
    if f["is_public"] == true {
        why.push("public".into());
    }
    why.push(format!("{} lines", f["nloc"]));
    // A function defined inside another one is reached through its parent.
    let name = f["qualified_name"].as_str().unwrap_or_default();
    if let Some((parent, _)) = name.rsplit_once('.')
        && parent
            .rsplit('.')
            .next()
            .is_some_and(|p| p.starts_with(|c: char| c.is_lowercase() || c == '_'))
    {
        why.push(format!("nested in `{parent}`: test it through `{parent}`"));
    }
    why.join(", ")
}

/// The first named Python function whose file the metrics resolved: what to generate for.
fn generation_target(s: &Scratch) -> Option<(String, String)> {
    function_facts(s).iter().find_map(|f| {
        let file = f["file"].as_str()?;
        let name = f["name"].as_str()?;
        file.ends_with(".py")
            .then(|| (file.to_owned(), name.to_owned()))
    })
}

/// Tests that were generated and passed validation: the answer, with the file as an artifact.
fn generated_answer(s: &Scratch, g: &Value, d: &mut Draft) -> bool {
    let kept = g["kept"].as_array().cloned().unwrap_or_default();
    if kept.is_empty() {
        return false;
    }
    let target = s
        .observations
        .iter()
        .find(|o| o.tool == "generate_tests")
        .and_then(|o| o.args["target"].as_str())
        .unwrap_or_default()
        .to_owned();
    let runs = g["validation_runs"].as_u64().unwrap_or(5);
    let mut summary = format!(
        "I wrote {} test(s) for `{target}` and ran them before showing them: each passed {runs} runs in fresh processes in the sandbox ({}), asserts on a value or state the code produced, and adds coverage or catches an injected fault that the others miss.",
        kept.len(),
        g["sandbox"]["mode"].as_str().unwrap_or("sandbox"),
    );
    if let Some(c) = g["coverage"]["line_percent"].as_f64() {
        summary.push_str(&format!(
            " They cover {c:.0}% of the lines of `{}`",
            g["file"].as_str().unwrap_or_default()
        ));
        if let Some(b) = g["coverage"]["branch_percent"].as_f64() {
            summary.push_str(&format!(" and {b:.0}% of its branches"));
        }
        summary.push('.');
    }
    if let Some(score) = g["mutation"]["score"].as_f64() {
        summary.push_str(&format!(
            " They catch {:.0}% of the faults put into the code under test ({} of {} mutants killed).",
            score * 100.0,
            g["mutation"]["killed"],
            g["mutation"]["run"]
        ));
    }
    d.summary = summary;
    let facts = function_facts(s);
    let cite = |t: &str| -> Vec<Evidence> {
        facts
            .iter()
            .filter(|f| {
                f["name"].as_str() == Some(t) || f["name"].as_str() == Some(target.as_str())
            })
            .take(1)
            .map(|f| function_evidence(f, "cyclomatic"))
            .collect()
    };
    let mut sec = Section::new("What the tests check");
    for k in kept.iter().take(12) {
        let name = k["name"].as_str().unwrap_or_default();
        let evidence = cite(k["target"].as_str().unwrap_or_default());
        let what = format!(
            "`{name}`: {} new branch arc(s), {} mutant(s) only it kills.",
            k["new_arcs"], k["new_mutants_killed"]
        );
        if evidence.is_empty() {
            sec.push(Claim::advice(what));
        } else {
            sec.push(Claim::fact(what, evidence));
        }
    }
    d.add(sec);
    let dropped = g["dropped"].as_array().cloned().unwrap_or_default();
    if !dropped.is_empty() {
        let mut sec = Section::new("Dropped before you saw them");
        for x in dropped.iter().take(8) {
            sec.push(Claim::advice(format!(
                "`{}`: {}",
                x["name"].as_str().unwrap_or_default(),
                x["reason"].as_str().unwrap_or_default()
            )));
        }
        d.add(sec);
    }
    d.artifacts.push(Artifact {
        kind: g["framework"].as_str().unwrap_or("pytest").into(),
        title: g["file_name"]
            .as_str()
            .unwrap_or("test_generated.py")
            .into(),
        content: g["test_source"].as_str().unwrap_or_default().into(),
        validated: Some(true),
    });
    true
}

fn write_tests_answer(s: &Scratch, d: &mut Draft) {
    if let Some(g) = s.ok("generate_tests").next()
        && generated_answer(s, &g.data, d)
    {
        return;
    }
    let why_not = s
        .observations
        .iter()
        .find(|o| o.tool == "generate_tests")
        .and_then(|o| o.result.as_ref().err().cloned())
        .map(|e| format!(" (generating them failed: {e})"))
        .unwrap_or_default();
    d.summary = format!(
        "I could not generate tests for this function that pass validation{why_not}, and I do not hand out test code that was never run. Here is what the tests must cover, from the function itself; a test you write against this list is one I can check (ask me \"what should I test first?\" for the rest of the repository)."
    );
    let gaps = untested(s);
    for f in function_facts(s).iter().take(2) {
        let name = f["name"].as_str().unwrap_or_default();
        let file = f["file"].as_str().unwrap_or_default();
        let m = &f["metrics"];
        let mut sec = Section::new(format!("Tests `{name}` needs"));
        let cc = m["cyclomatic"].as_i64().unwrap_or(1);
        sec.push(Claim::fact(
            format!(
                "`{name}` has cyclomatic complexity {cc}: at least {cc} test case(s) to take every branch, with {} parameter(s) to vary.",
                m["parameters"]
            ),
            vec![function_evidence(f, "cyclomatic")],
        ));
        let is_untested = gaps.is_some_and(|g| {
            g["untested"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|u| u["path"] == file && u["start_line"] == f["start_line"])
        });
        if is_untested {
            sec.push(Claim::fact(
                format!("No test reaches `{name}` today."),
                vec![function_evidence(f, "cyclomatic")],
            ));
        }
        let start = f["start_line"].as_i64().unwrap_or(1);
        let src = source_of(s, file, start).unwrap_or_default();
        for (i, line) in src.lines().enumerate() {
            let text = line.trim();
            let (what, re) = if RAISE.is_match(line) {
                ("an error case to assert with `pytest.raises`", true)
            } else if BRANCH.is_match(line) {
                ("a branch to cover", false)
            } else {
                continue;
            };
            if !re && sec.claims.len() > 8 {
                continue;
            }
            sec.push(Claim::fact(
                format!("`{}` — {what}.", text.chars().take(90).collect::<String>()),
                vec![Evidence {
                    file: file.into(),
                    line: Some(start + i as i64),
                    rule_id: None,
                    metric: None,
                    symbol: None,
                    excerpt: Some(text.chars().take(200).collect()),
                    detail: String::new(),
                }],
            ));
            if sec.claims.len() >= 12 {
                break;
            }
        }
        sec.push(Claim::advice("Assert on returned values exactly (`pytest.approx` only for floats), one behaviour per test, and include the boundaries of each comparison in the conditions above."));
        d.add(sec);
    }
    if d.sections.is_empty() {
        d.summary.push_str(" I could not find the function you named in this repository; name it as it appears in the code (e.g. `module.function`).");
    }
}

impl Strategy for TestArchitect {
    fn id(&self) -> SpecialistId {
        SpecialistId::TestArchitect
    }

    fn plan(&self, s: &Scratch) -> Vec<Action> {
        if let Some(p) = super::code_reviewer::explain_plan(s) {
            return p;
        }
        let id = aid(s);
        let mut args = json!({ "analysis_id": id, "limit": 20 });
        if let Some(scope) = s.scope() {
            args["under"] = scope.into();
        }
        let mut out = vec![Action::new(
            "List the untested functions, riskiest first, and the test frameworks in use.",
            "list_untested",
            args,
        )];
        if !s.symbols.is_empty() {
            out.extend(function_actions(s, "Work out the cases a test must cover"));
            if s.intent() == Intent::WriteTests
                && let Some((file, name)) = generation_target(s)
            {
                out.push(Action::new(
                    format!("Generate tests for `{name}` and run them in the sandbox; keep only those that pass every run and check real values."),
                    "generate_tests",
                    json!({ "analysis_id": id, "file": file, "target": name }),
                ));
            }
        } else {
            out.push(Action::new(
                "Count source and test files for the shape of the test suite.",
                "analysis_summary",
                json!({ "analysis_id": id }),
            ));
        }
        out
    }

    fn answer(&self, s: &Scratch) -> Draft {
        if let Some(d) = super::code_reviewer::explain(s) {
            return d;
        }
        let mut d = Draft::default();
        // "Write tests" for a named function: what its tests must cover. Without one,
        // the useful answer is which functions need tests first.
        if s.intent() == Intent::WriteTests && !s.symbols.is_empty() {
            write_tests_answer(s, &mut d);
            return d;
        }
        let Some(g) = untested(s) else {
            d.summary =
                "I could not read the analysis' test mapping, so I cannot say what is untested."
                    .into();
            return d;
        };
        let frameworks: Vec<&str> = g["frameworks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let (source, tested) = (
            g["source_functions"].as_i64().unwrap_or(0),
            g["tested_functions"].as_i64().unwrap_or(0),
        );
        let summary = s.ok("analysis_summary").next().map(|o| &o.data["summary"]);
        let (files, test_files) = summary.map_or((0, 0), |x| {
            (
                x["files"].as_i64().unwrap_or(0),
                x["test_files"].as_i64().unwrap_or(0),
            )
        });
        d.summary = format!(
            "{tested} of {source} source functions are reached by a test ({:.0}%); frameworks found: {}.{}",
            if source > 0 {
                100.0 * tested as f64 / source as f64
            } else {
                0.0
            },
            if frameworks.is_empty() {
                "none".to_string()
            } else {
                frameworks.join(", ")
            },
            if files > 0 {
                format!(" {test_files} of {files} files are tests.")
            } else {
                String::new()
            }
        );
        if s.intent() == Intent::WriteTests {
            d.summary = format!(
                "Name a function (\"write tests for `module.function`\") and I will generate tests for it and run them before showing them; these are the functions that need tests first. {}",
                d.summary
            );
        }
        let mut shown: Vec<Value> = g["untested"].as_array().cloned().unwrap_or_default();
        // In a sequence, what the specialists before found comes first: an untested
        // function with one of their findings inside is where a bug would hurt most.
        let flagged: Vec<(String, i64)> = s
            .previous
            .iter()
            .flat_map(|d| d.claims())
            .flat_map(|c| &c.evidence)
            .filter(|e| e.rule_id.is_some())
            .filter_map(|e| Some((e.file.clone(), e.line?)))
            .collect();
        // The function a line falls in: it starts at or before the line, and the line is
        // within its extent (NLOC, with room for comments and blank lines).
        let holds = |f: &Value| {
            let start = f["start_line"].as_i64().unwrap_or(0);
            let span = 2 * f["nloc"].as_i64().unwrap_or(0) + 5;
            flagged.iter().any(|(file, line)| {
                f["path"] == file.as_str() && (start..start + span).contains(line)
            })
        };
        shown.sort_by_key(|f| !holds(f));
        let mut sec = Section::new(format!(
            "Cover first{}",
            s.scope()
                .map(|p| format!(" (in `{p}`)"))
                .unwrap_or_default()
        ));
        for f in shown.iter().take(10) {
            sec.push(Claim::fact(
                format!(
                    "`{}` — {}{}",
                    f["qualified_name"].as_str().unwrap_or_default(),
                    why_first(f),
                    if holds(f) {
                        ", and a finding of the previous specialist is inside it"
                    } else {
                        ""
                    }
                ),
                vec![untested_evidence(f)],
            ));
        }
        if shown.is_empty() {
            sec.push(Claim::advice("Every source function in scope is reached by at least one test; look at assertion strength next (mutation testing)."));
        }
        d.add(sec);
        let mut plan = Section::new("Strategy");
        let ratio = if source > 0 {
            tested as f64 / source as f64
        } else {
            0.0
        };
        plan.push(Claim::advice(if frameworks.is_empty() {
            "No test framework is in use: start with pytest (Python) or the language's standard runner, and a first unit test for each function above.".to_string()
        } else {
            format!("Keep {} as the runner; add unit tests for the functions above before integration tests — they are cheap, fast and pin the riskiest logic.", frameworks.join("/"))
        }));
        if ratio < 0.5 {
            plan.push(Claim::advice("The base of the pyramid is thin (under half the functions are reached): unit tests first, then a few integration tests along the entry points, end-to-end tests last."));
        } else {
            plan.push(Claim::advice("The unit layer is reasonable; add integration tests along the entry points and keep end-to-end tests few."));
        }
        plan.push(Claim::advice("In CI, run the tests with coverage on every pull request (e.g. `pytest --cov --cov-fail-under=<today's level>` so it can only rise), and `qa-agent analyze --format sarif` to annotate new findings."));
        d.add(plan);
        d
    }
}
