//! LLM mode: a language model proposes more tests with the module's source and the tests
//! already kept; the same validation decides. Failures go back to the model for a bounded
//! number of repair rounds. Without a model, generation works the same, offline.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use qa_sandbox::Sandbox;

use super::generate::RERUNS;
use super::oracle::oracles;
use super::project::ModuleLocation;
use super::pytest::{self, RunResult};
use crate::GenerateError;
use crate::report::{DropReason, Dropped};

/// A language model that writes test code: `turns` alternate user and assistant messages,
/// starting with the user's; the answer is the model's next message.
pub trait TestWriter: Send + Sync {
    fn write(&self, system: &str, turns: &[String]) -> Result<String, String>;
    /// Provider and model, for reports.
    fn describe(&self) -> String;
}

/// A [`TestWriter`] in the options (which are `Clone` and `Debug`).
#[derive(Clone)]
pub struct Writer(pub Arc<dyn TestWriter>);

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Writer({})", self.0.describe())
    }
}

/// One test the model wrote.
#[derive(Debug, Clone)]
pub struct ModelTest {
    pub name: String,
    /// The whole definition, decorators included.
    pub source: String,
}

/// What the model's tests added: the kept ones, the import lines they need, and the dropped.
#[derive(Debug, Default)]
pub struct ModelOutcome {
    pub kept: Vec<ModelTest>,
    pub imports: Vec<String>,
    pub dropped: Vec<Dropped>,
    pub rounds: u32,
    pub problem: Option<String>,
}

const SYSTEM: &str = "You write pytest unit tests for Python code. Answer with one ```python code block that holds only import statements and test functions (def test_...). Rules: import the code under test from its module by name; one behaviour per test; assert exact returned values or state (pytest.approx only for floats); use pytest.raises for exceptions; never xfail, skip or mock the code under test; no network, no files outside tmp_path, no time or randomness.";

pub struct Context<'a> {
    pub location: &'a ModuleLocation,
    pub source: &'a str,
    pub targets: &'a [String],
    /// The file of tests already kept (offline); the model's are validated alongside them.
    pub kept_file: &'a str,
    pub file_name: &'a str,
    pub deadline: Instant,
    pub rounds: u32,
}

pub fn extend(sandbox: &Sandbox, writer: &dyn TestWriter, cx: &Context) -> ModelOutcome {
    let mut out = ModelOutcome::default();
    let prompt = format!(
        "Module `{module}` (file `{file}`):\n```python\n{source}\n```\nTests that already exist and pass (do not repeat them):\n```python\n{kept}\n```\nWrite more tests for: {targets}. Cover behaviours the existing tests miss: other branches, boundaries, error cases.",
        module = cx.location.module,
        file = cx
            .location
            .file
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        source = cx.source,
        kept = cx.kept_file,
        targets = cx.targets.join(", "),
    );
    let mut turns = vec![prompt];
    // Tests still in play, by name, and those settled (kept or dropped).
    let mut pending: BTreeMap<String, ModelTest> = BTreeMap::new();
    let mut imports: BTreeSet<String> = BTreeSet::new();
    let existing: BTreeSet<String> = test_names(cx.kept_file);
    let mut covered = match line_contexts(sandbox, cx, &[], &[]) {
        Ok(lines) => lines.values().flatten().copied().collect::<BTreeSet<u32>>(),
        Err(e) => {
            out.problem = Some(e.to_string());
            return out;
        }
    };
    for round in 0..=cx.rounds {
        if Instant::now() >= cx.deadline {
            out.problem.get_or_insert_with(|| {
                "the budget ran out before the model's tests were validated".into()
            });
            break;
        }
        out.rounds = round + 1;
        let answer = match writer.write(SYSTEM, &turns) {
            Ok(a) => a,
            Err(e) => {
                out.problem = Some(format!("the model did not answer: {e}"));
                break;
            }
        };
        turns.push(answer.clone());
        let (new_imports, tests) = parse_answer(&answer);
        imports.extend(new_imports);
        for mut t in tests {
            if existing.contains(&t.name) && !pending.contains_key(&t.name) {
                let renamed = format!("{}_model", t.name);
                t.source =
                    t.source
                        .replacen(&format!("def {}(", t.name), &format!("def {renamed}("), 1);
                t.name = renamed;
            }
            if t.source.contains("xfail")
                || t.source.contains("pytest.mark.skip")
                || t.source.contains("pytest.skip(")
            {
                out.dropped.push(dropped(
                    &t,
                    DropReason::Failed {
                        message: "marked xfail or skip: not allowed".into(),
                    },
                ));
                continue;
            }
            pending.insert(t.name.clone(), t);
        }
        if pending.is_empty() {
            break;
        }
        let candidates: Vec<ModelTest> = pending.values().cloned().collect();
        let import_lines: Vec<String> = imports.iter().cloned().collect();
        let results = match validate(sandbox, cx, &import_lines, &candidates) {
            Ok(r) => r,
            Err(e) => {
                out.problem = Some(e.to_string());
                break;
            }
        };
        let mut failures = Vec::new();
        for t in &candidates {
            match &results.get(&t.name) {
                Some(runs)
                    if runs.iter().all(|r| *r == RunResult::Passed)
                        && runs.len() as u32 == RERUNS => {}
                Some(runs) => {
                    let message = runs
                        .iter()
                        .find_map(|r| match r {
                            RunResult::Failed(m) => Some(m.clone()),
                            _ => None,
                        })
                        .unwrap_or_else(|| "skipped".into());
                    failures.push((t.name.clone(), message));
                }
                None => failures.push((
                    t.name.clone(),
                    "not collected by pytest (a syntax or import error?)".into(),
                )),
            }
        }
        // Passing tests are settled now: kept if they check something and add coverage.
        let passing: Vec<ModelTest> = candidates
            .iter()
            .filter(|t| !failures.iter().any(|(n, _)| n == &t.name))
            .cloned()
            .collect();
        if !passing.is_empty() {
            let file = combined(cx.kept_file, &import_lines, &passing);
            let under_test = imported_names(&file, &cx.location.module);
            let has_oracle = oracles(&file, &under_test);
            let per_test = line_contexts(sandbox, cx, &import_lines, &passing).unwrap_or_default();
            for t in passing {
                pending.remove(&t.name);
                if !has_oracle.get(&t.name).copied().unwrap_or(false) {
                    out.dropped.push(dropped(&t, DropReason::NoOracle));
                    continue;
                }
                let lines = per_test.get(&t.name).cloned().unwrap_or_default();
                if lines.is_subset(&covered) {
                    out.dropped.push(dropped(&t, DropReason::NoGain));
                    continue;
                }
                covered.extend(lines);
                out.kept.push(t);
            }
        }
        if failures.is_empty() || round == cx.rounds {
            for (name, message) in failures {
                if let Some(t) = pending.remove(&name) {
                    out.dropped
                        .push(dropped(&t, DropReason::Failed { message }));
                }
            }
            break;
        }
        let list: Vec<String> = failures
            .iter()
            .map(|(n, m)| format!("- {n}: {m}"))
            .collect();
        turns.push(format!(
            "These tests failed when run ({RERUNS} runs each):\n{}\nAnswer with corrected versions of these test functions only, same names, in one ```python block. Do not change the code under test; if a test's expectation is wrong, assert what the code really does.",
            list.join("\n")
        ));
    }
    // The import lines the kept tests need (all the model's imports: unused ones are harmless
    // to pytest, but keep the file tidy by dropping those no kept test mentions).
    out.imports = imports
        .into_iter()
        .filter(|line| {
            let names = imported_from_line(line);
            names.is_empty()
                || names
                    .iter()
                    .any(|n| out.kept.iter().any(|t| t.source.contains(n.as_str())))
        })
        .collect();
    out
}

fn dropped(t: &ModelTest, reason: DropReason) -> Dropped {
    Dropped {
        name: t.name.clone(),
        target: "llm".into(),
        reason,
        source: t.source.clone(),
    }
}

/// The kept file with the model's imports after its own and the model's tests at the end.
pub fn combined(kept_file: &str, imports: &[String], tests: &[ModelTest]) -> String {
    let mut out = String::new();
    let first_def = kept_file
        .find("\ndef ")
        .map(|i| i + 1)
        .unwrap_or(kept_file.len());
    let (head, body) = kept_file.split_at(first_def);
    let head = head.trim_end();
    out.push_str(head);
    let new: Vec<&String> = imports
        .iter()
        .filter(|l| !head.lines().any(|h| h.trim() == l.trim()))
        .collect();
    if !new.is_empty() {
        out.push('\n');
        for line in new {
            out.push_str(line);
            out.push('\n');
        }
    } else {
        out.push('\n');
    }
    out.push_str("\n\n");
    out.push_str(body.trim_end());
    for t in tests {
        out.push_str("\n\n\n");
        out.push_str(t.source.trim_end());
    }
    out.push('\n');
    out
}

/// A fresh work directory holding the kept file with `tests` added.
fn candidate_dir(
    cx: &Context,
    imports: &[String],
    tests: &[ModelTest],
) -> Result<tempfile::TempDir, GenerateError> {
    let work = tempfile::Builder::new()
        .prefix("qa-llm-")
        .tempdir()
        .map_err(GenerateError::Io)?;
    std::fs::write(
        work.path().join(cx.file_name),
        combined(cx.kept_file, imports, tests),
    )
    .map_err(GenerateError::Io)?;
    Ok(work)
}

fn validate(
    sandbox: &Sandbox,
    cx: &Context,
    imports: &[String],
    tests: &[ModelTest],
) -> Result<BTreeMap<String, Vec<RunResult>>, GenerateError> {
    let work = candidate_dir(cx, imports, tests)?;
    let runs = pytest::run_repeatedly(sandbox, work.path(), cx.file_name, cx.location, 100)?;
    Ok(runs.results)
}

/// Lines of the module each test executes (coverage.py's dynamic contexts), by test name.
fn line_contexts(
    sandbox: &Sandbox,
    cx: &Context,
    imports: &[String],
    tests: &[ModelTest],
) -> Result<BTreeMap<String, BTreeSet<u32>>, GenerateError> {
    let work = candidate_dir(cx, imports, tests)?;
    std::fs::write(
        work.path().join(".qa-coveragerc"),
        "[run]\ndynamic_context = test_function\n",
    )
    .map_err(GenerateError::Io)?;
    let run = pytest::python(work.path(), cx.location, Duration::from_secs(60))
        .args([
            "-m",
            "coverage",
            "run",
            "--rcfile=.qa-coveragerc",
            "--data-file=.qa-cov",
        ])
        .arg(format!("--include={}", cx.location.file.display()))
        .arg("-m")
        .args(pytest::PYTEST)
        .arg(cx.file_name);
    sandbox.run(&run)?;
    let json = pytest::coverage_json(
        sandbox,
        work.path(),
        cx.location,
        &[
            "--rcfile=.qa-coveragerc",
            "--data-file=.qa-cov",
            "--show-contexts",
        ],
        "ctx.json",
    )?
    .unwrap_or_default();
    let mut out: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for file in json["files"]
        .as_object()
        .into_iter()
        .flat_map(|f| f.values())
    {
        for (line, contexts) in file["contexts"].as_object().into_iter().flatten() {
            let Ok(line) = line.parse::<u32>() else {
                continue;
            };
            for c in contexts
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str())
            {
                // `test_mod.test_name` (or `test_mod.Class.test_name`); "" is import time.
                if let Some(name) = c.rsplit('.').next().filter(|n| n.starts_with("test")) {
                    out.entry(name.to_owned()).or_default().insert(line);
                }
            }
        }
    }
    Ok(out)
}

/// The model's import statements and test functions, from its answer's code block.
pub fn parse_answer(answer: &str) -> (Vec<String>, Vec<ModelTest>) {
    let code = code_block(answer);
    let Some(tree) = super::syntax::tree(&code) else {
        return (Vec::new(), Vec::new());
    };
    let src = code.as_bytes();
    let text = |n: tree_sitter::Node| {
        std::str::from_utf8(&src[n.byte_range()])
            .unwrap_or("")
            .to_owned()
    };
    let mut imports = Vec::new();
    let mut tests = Vec::new();
    let root = tree.root_node();
    let mut cursor = root.walk();
    for node in root.named_children(&mut cursor) {
        match node.kind() {
            "import_statement" | "import_from_statement" if !node.has_error() => {
                imports.push(text(node))
            }
            "function_definition" | "decorated_definition" if !node.has_error() => {
                let def = if node.kind() == "decorated_definition" {
                    node.child_by_field_name("definition")
                } else {
                    Some(node)
                };
                let Some(name) = def.and_then(|d| d.child_by_field_name("name")).map(text) else {
                    continue;
                };
                if name.starts_with("test") {
                    tests.push(ModelTest {
                        name,
                        source: text(node),
                    });
                }
            }
            _ => {}
        }
    }
    (imports, tests)
}

fn code_block(answer: &str) -> String {
    let mut blocks = Vec::new();
    let mut rest = answer;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let body_start = after.find('\n').map(|i| i + 1).unwrap_or(0);
        let Some(end) = after[body_start..].find("```") else {
            break;
        };
        blocks.push(after[body_start..body_start + end].to_owned());
        rest = &after[body_start + end + 3..];
    }
    if blocks.is_empty() {
        answer.to_owned()
    } else {
        blocks.join("\n\n")
    }
}

fn test_names(file: &str) -> BTreeSet<String> {
    file.lines()
        .filter_map(|l| l.strip_prefix("def "))
        .filter_map(|l| l.split('(').next())
        .map(str::to_owned)
        .collect()
}

/// Names the file imports from the module under test.
fn imported_names(file: &str, module: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let prefix = format!("from {module} import");
    let mut in_paren = false;
    for line in file.lines() {
        let l = line.trim();
        if in_paren {
            if l.starts_with(')') {
                in_paren = false;
            } else {
                out.insert(
                    l.trim_end_matches(',')
                        .split(" as ")
                        .last()
                        .unwrap_or("")
                        .to_owned(),
                );
            }
            continue;
        }
        if let Some(rest) = l.strip_prefix(&prefix) {
            let rest = rest.trim();
            if rest == "(" {
                in_paren = true;
            } else {
                out.extend(
                    rest.split(',')
                        .map(|n| n.trim().split(" as ").last().unwrap_or("").to_owned()),
                );
            }
        }
        if l == format!("import {module}") {
            out.insert(module.rsplit('.').next().unwrap_or(module).to_owned());
        }
    }
    out.retain(|n| !n.is_empty());
    out
}

fn imported_from_line(line: &str) -> Vec<String> {
    let l = line.trim();
    if let Some((_, names)) = l.split_once(" import ") {
        return names
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(|n| n.trim().split(" as ").last().unwrap_or("").to_owned())
            .filter(|n| !n.is_empty())
            .collect();
    }
    l.strip_prefix("import ")
        .map(|m| vec![m.split(" as ").last().unwrap_or(m).trim().to_owned()])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_s_imports_and_tests_are_taken_from_its_code_block() {
        let answer = "Here you go:\n```python\nimport pytest\nfrom shop.ship import shipping\n\n\ndef test_heavy():\n    assert shipping({\"weight\": 12}) == 8\n\n\n@pytest.mark.parametrize(\"w\", [1, 2])\ndef test_light(w):\n    assert shipping({\"weight\": w}) == 5\n\n\ndef helper():\n    pass\n```\nDone.";
        let (imports, tests) = parse_answer(answer);
        assert_eq!(imports, ["import pytest", "from shop.ship import shipping"]);
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["test_heavy", "test_light"]);
        assert!(tests[1].source.starts_with("@pytest.mark.parametrize"));
    }

    #[test]
    fn model_tests_join_the_kept_file_with_imports_at_the_top() {
        let kept = "\"\"\"Doc.\"\"\"\n\nfrom shop.ship import shipping\n\n\ndef test_a():\n    assert shipping({}) == 15\n";
        let file = combined(
            kept,
            &["import pytest".into()],
            &[ModelTest {
                name: "test_b".into(),
                source: "def test_b():\n    assert 1\n".into(),
            }],
        );
        assert!(file.starts_with("\"\"\"Doc.\"\"\"\n\nfrom shop.ship import shipping\nimport pytest\n\n\ndef test_a():"), "{file}");
        assert!(
            file.ends_with("\n\n\ndef test_b():\n    assert 1\n"),
            "{file}"
        );
        assert_eq!(
            imported_names(&file, "shop.ship"),
            BTreeSet::from(["shipping".to_owned()])
        );
    }
}
