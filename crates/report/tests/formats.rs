//! Every output format, rendered from a real analysis of a small mixed-language tree.

use qa_analysis::{Analyzer, Baseline, ProjectConfig, RepoAnalysis, SourceFile, SuppressionSource};
use serde_json::Value;

fn sample() -> RepoAnalysis {
    let files = vec![
        SourceFile {
            path: "app/run.py".into(),
            bytes: br#"import subprocess

def run(cmd):
    subprocess.run(f"sh -c {cmd}", shell=True)
    try:
        pass
    except:  # qa-agent: ignore[MNT008]
        pass
"#
            .to_vec(),
        },
        SourceFile {
            path: "web/page.js".into(),
            bytes: b"function show(el, html) {\n  // TODO escape\n  el.innerHTML = html;\n}\n"
                .to_vec(),
        },
        SourceFile {
            path: "bin/blob.py".into(),
            bytes: b"\x00\x01binary".to_vec(),
        },
        SourceFile {
            path: "broken.go".into(),
            bytes: b"package p\nfunc f( {\n".to_vec(),
        },
    ];
    let analyzer = Analyzer::new(ProjectConfig::default()).unwrap();
    let mut a = analyzer.analyze_files(files);
    // One finding goes into a baseline so SARIF shows an external suppression too.
    let first = a
        .findings()
        .find(|f| f.rule_id == "MNT012")
        .unwrap()
        .fingerprint
        .clone();
    let baseline = Baseline::parse(&format!(
        r#"{{"files":[{{"findings":[{{"fingerprint":"{first}"}}]}}]}}"#
    ))
    .unwrap();
    let sources: [&dyn SuppressionSource; 1] = [&baseline];
    analyzer.apply_suppressions(&mut a, &sources);
    a
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let schema: Value =
        serde_json::from_str(include_str!("schema/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let sarif: Value = serde_json::from_str(&qa_report::render_sarif(&sample())).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is invalid:\n{}",
        errors.join("\n")
    );
    // The validator does reject a wrong log, so the check above means something.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&broken));

    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert!(results.iter().all(|r| {
        r["partialFingerprints"]["qaAgent/v1"]
            .as_str()
            .is_some_and(|f| f.len() == 32)
    }));
    let kinds: Vec<&str> = results
        .iter()
        .filter_map(|r| r["suppressions"][0]["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"inSource"),
        "inline suppression missing: {kinds:?}"
    );
    assert!(
        kinds.contains(&"external"),
        "baseline suppression missing: {kinds:?}"
    );
    // Rule help carries the rule's documentation.
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let sec002 = rules.iter().find(|r| r["id"] == "SEC002").unwrap();
    assert!(
        sec002["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("## How to fix")
    );
    // Unreadable/unparsable files become notifications.
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n["message"]["text"].as_str().unwrap().contains("binary"))
    );
    assert!(notes.iter().any(|n| {
        n["message"]["text"]
            .as_str()
            .unwrap()
            .contains("syntax error")
    }));
}

#[test]
fn json_report_validates_against_its_schema_and_round_trips() {
    let a = sample();
    let json = qa_report::render_json(&a);
    let value: Value = serde_json::from_str(&json).unwrap();
    let schema = qa_analysis::report_schema();
    let validator = jsonschema::validator_for(&schema).expect("report schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "JSON report does not match its schema:\n{}",
        errors.join("\n")
    );
    let mut broken = value.clone();
    broken["summary"]["files"] = Value::from("many");
    assert!(!validator.is_valid(&broken));
    assert_eq!(value["schema_version"], qa_analysis::SCHEMA_VERSION);
    let back: RepoAnalysis = serde_json::from_str(&json).unwrap();
    assert_eq!(back.summary, a.summary);
}

#[test]
fn table_and_markdown_show_findings_hotspots_and_diagnostics() {
    let a = sample();
    let table = qa_report::render_table(&a, &qa_report::TableOptions::default());
    assert!(
        table.contains("SEC002") && table.contains("app/run.py:4"),
        "{table}"
    );
    assert!(!table.contains("\u{1b}["), "no colour unless asked");
    assert!(table.contains("Most complex functions"));
    assert!(table.contains("Diagnostics"));
    // Suppressed findings are counted, not listed.
    assert!(!table.contains("MNT008"), "{table}");
    let colored = qa_report::render_table(
        &a,
        &qa_report::TableOptions {
            color: true,
            ..Default::default()
        },
    );
    assert!(colored.contains("\u{1b}["));
    let md = qa_report::render_markdown(&a);
    assert!(md.contains("| high | `SEC002` | `app/run.py:4` |"), "{md}");
    assert!(md.contains("## Test gaps") || md.contains("## Most complex functions"));
}
