//! Runs every rule's fixtures: `tests/fixtures/rules/<ID>.md` holds `## bad: ...` and
//! `## good: ...` sections, each with one fenced code block. In bad blocks, exactly the
//! lines marked `<- here` must be reported by the rule; good blocks must produce no
//! finding of it. Every rule needs at least three of each, and a bad case in every
//! language it claims to cover.

use std::collections::BTreeSet;
use std::path::Path;

use qa_analysis::{Analyzer, ProjectConfig, RuleSelection, SourceFile, rules};
use qa_core::Language;

struct Case {
    title: String,
    bad: bool,
    path: String,
    code: String,
    line: usize,
}

fn extension(lang: &str) -> Option<&'static str> {
    Some(match lang {
        "python" | "py" => "py",
        "javascript" | "js" => "js",
        "jsx" => "jsx",
        "typescript" | "ts" => "ts",
        "tsx" => "tsx",
        "go" => "go",
        "java" => "java",
        "rust" | "rs" => "rs",
        _ => return None,
    })
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut title: Option<(String, bool)> = None;
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(h) = line.strip_prefix("## ") {
            let bad = h.starts_with("bad");
            assert!(
                bad || h.starts_with("good"),
                "line {}: section must start with `bad` or `good`: {h}",
                n + 1
            );
            title = Some((h.to_string(), bad));
            continue;
        }
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        if info.is_empty() {
            continue;
        }
        let (t, bad) = title
            .take()
            .unwrap_or_else(|| panic!("line {}: code block outside a section", n + 1));
        let mut words = info.split_whitespace();
        let lang = words.next().unwrap();
        let ext =
            extension(lang).unwrap_or_else(|| panic!("line {}: unknown language `{lang}`", n + 1));
        let path = words
            .find_map(|w| w.strip_prefix("path="))
            .map(String::from)
            .unwrap_or_else(|| format!("src/case.{ext}"));
        let mut code = String::new();
        for (_, l) in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            code.push_str(l);
            code.push('\n');
        }
        cases.push(Case {
            title: t,
            bad,
            path,
            code,
            line: n + 1,
        });
    }
    cases
}

fn language_of(path: &str) -> Language {
    match path.rsplit('.').next().unwrap() {
        "py" => Language::Python,
        "js" | "jsx" => Language::JavaScript,
        "ts" | "tsx" => Language::TypeScript,
        "go" => Language::Go,
        "java" => Language::Java,
        "rs" => Language::Rust,
        other => panic!("unexpected extension {other}"),
    }
}

#[test]
fn every_rule_passes_its_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules");
    let mut failures = Vec::new();
    for meta in rules() {
        let path = dir.join(format!("{}.md", meta.id));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: missing fixture file {}: {e}", meta.id, path.display())
        });
        let cases = parse_cases(&text);
        let bad = cases.iter().filter(|c| c.bad).count();
        let good = cases.len() - bad;
        if bad < 3 || good < 3 {
            failures.push(format!(
                "{}: needs at least 3 bad and 3 good cases, has {bad} and {good}",
                meta.id
            ));
        }
        let covered: BTreeSet<Language> = cases
            .iter()
            .filter(|c| c.bad)
            .map(|c| language_of(&c.path))
            .collect();
        for lang in meta.languages {
            if !covered.contains(lang) {
                failures.push(format!(
                    "{}: claims {lang} but has no bad case in it",
                    meta.id
                ));
            }
        }
        let analyzer = Analyzer::new(ProjectConfig::default())
            .unwrap()
            .with_rules(RuleSelection::only(&[meta.id]));
        for case in &cases {
            let analysis = analyzer.analyze_files(vec![SourceFile {
                path: case.path.clone(),
                bytes: case.code.clone().into_bytes(),
            }]);
            let got: BTreeSet<u32> = analysis
                .findings()
                .filter(|f| f.rule_id == meta.id)
                .map(|f| f.span.start_line)
                .collect();
            let want: BTreeSet<u32> = if case.bad {
                case.code
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| l.contains("<- here"))
                    .map(|(i, _)| i as u32 + 1)
                    .collect()
            } else {
                BTreeSet::new()
            };
            if case.bad && want.is_empty() {
                failures.push(format!(
                    "{} line {}: bad case `{}` marks no line with `<- here`",
                    meta.id, case.line, case.title
                ));
            }
            if got != want {
                failures.push(format!(
                    "{} line {} ({}): expected findings on lines {want:?}, got {got:?}",
                    meta.id, case.line, case.title
                ));
            }
            for d in &analysis.diagnostics {
                failures.push(format!(
                    "{} line {} ({}): fixture does not parse cleanly: {}",
                    meta.id, case.line, case.title, d.message
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_is_documented() {
    let mut ids = BTreeSet::new();
    for meta in rules() {
        assert!(ids.insert(meta.id), "duplicate rule id {}", meta.id);
        for heading in [
            "## What it does",
            "## Why is this bad?",
            "## How to fix",
            "## Example",
        ] {
            assert!(
                meta.docs.contains(heading),
                "{}: docs lack `{heading}`",
                meta.id
            );
        }
        assert!(
            !meta.title.is_empty() && !meta.title.ends_with('.'),
            "{}: title must be one line without a full stop",
            meta.id
        );
        assert!(
            meta.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}: name must be kebab-case",
            meta.id
        );
        let prefix = match meta.family {
            qa_core::RuleFamily::Security => "SEC",
            qa_core::RuleFamily::Performance => "PERF",
            qa_core::RuleFamily::Maintainability => "MNT",
        };
        assert!(
            meta.id.starts_with(prefix),
            "{}: id must start with {prefix}",
            meta.id
        );
    }
}
