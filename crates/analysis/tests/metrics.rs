//! Per-language metric fixtures: each function's first line in
//! `tests/fixtures/metrics/<language>.<ext>` ends with `cc=N cog=M` (cyclomatic and
//! cognitive complexity). Every function must be annotated, and every annotation must match
//! a function; the counting rules are in docs/metrics.md.

use std::path::Path;

use qa_analysis::{Analyzer, ProjectConfig, SourceFile};

fn check(file: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics");
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let ext = file.rsplit('.').next().unwrap();
    let analysis = Analyzer::new(ProjectConfig::default())
        .unwrap()
        .analyze_files(vec![SourceFile {
            path: format!("src/metrics.{ext}"),
            bytes: text.clone().into_bytes(),
        }]);
    assert!(
        analysis.diagnostics.is_empty(),
        "{file}: {:?}",
        analysis.diagnostics
    );
    let functions = &analysis.files[0].functions;
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        let Some(at) = line.find("cc=") else { continue };
        let mut want = (0, 0);
        for part in line[at..].split_whitespace() {
            if let Some(v) = part.strip_prefix("cc=") {
                want.0 = v.parse().unwrap();
            } else if let Some(v) = part.strip_prefix("cog=") {
                want.1 = v.parse().unwrap();
            }
        }
        let here: Vec<_> = functions
            .iter()
            .filter(|f| f.start_line == line_no)
            .collect();
        match here.as_slice() {
            [f] => {
                if (f.cyclomatic, f.cognitive) != want {
                    errors.push(format!(
                        "{file}:{line_no} {}: expected cc={} cog={}, got cc={} cog={}",
                        f.qualified_name, want.0, want.1, f.cyclomatic, f.cognitive
                    ));
                }
            }
            other => errors.push(format!(
                "{file}:{line_no}: expected one function here, found {}",
                other.len()
            )),
        }
    }
    for f in functions {
        let line = text.lines().nth(f.start_line as usize - 1).unwrap_or("");
        if !line.contains("cc=") {
            errors.push(format!(
                "{file}:{} {} is not annotated",
                f.start_line, f.qualified_name
            ));
        }
    }
    assert!(errors.is_empty(), "\n{}", errors.join("\n"));
}

#[test]
fn python_follows_radon_and_complexipy() {
    check("python.py");
}

#[test]
fn javascript_follows_lizard_and_sonar() {
    check("javascript.js");
}

#[test]
fn typescript_follows_lizard_and_sonar() {
    check("typescript.ts");
}

#[test]
fn go_follows_lizard_and_sonar() {
    check("go.go");
}

#[test]
fn java_follows_lizard_and_sonar() {
    check("java.java");
}

#[test]
fn rust_follows_lizard_and_sonar() {
    check("rust.rs");
}

#[test]
fn qualified_names_and_kinds() {
    let src = "class A:\n    def m(self):\n        def inner():\n            class B:\n                def deep(self): ...\n            return B\n        return inner\n\ndef f(): ...\n";
    let a = Analyzer::new(ProjectConfig::default())
        .unwrap()
        .analyze_files(vec![SourceFile {
            path: "m.py".into(),
            bytes: src.as_bytes().to_vec(),
        }]);
    let names: Vec<(&str, String)> = a.files[0]
        .functions
        .iter()
        .map(|f| (f.qualified_name.as_str(), format!("{:?}", f.kind)))
        .collect();
    assert_eq!(
        names,
        [
            ("A.m", "Method".to_string()),
            ("A.m.inner", "Nested".to_string()),
            ("A.m.inner.B.deep", "Method".to_string()),
            ("f", "Function".to_string()),
        ]
    );
}
