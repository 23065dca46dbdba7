//! Single-file analysis against a bare tree-sitter parse of the same text, per language.
//!
//! `cargo bench -p qa-analysis --bench single_file`. The inputs are the metric fixtures,
//! repeated to a few thousand lines; set `QA_BENCH_DIR` to a directory holding one file
//! per language (`python.py`, `javascript.js`, ...) to measure real code instead.
//! The acceptance numbers (whole trees, CPU time against lizard, radon, complexipy and
//! rust-code-analysis) come from `scripts/bench/compare_speed.py`.

use std::path::PathBuf;

use qa_analysis::{Analyzer, Dialect, ProjectConfig, SourceFile};

fn main() {
    divan::main();
}

const FILES: &[&str] = &[
    "python.py",
    "javascript.js",
    "typescript.ts",
    "go.go",
    "java.java",
    "rust.rs",
];

fn input(name: &str) -> (String, Vec<u8>) {
    if let Some(dir) = std::env::var_os("QA_BENCH_DIR") {
        let path = PathBuf::from(dir).join(name);
        if let Ok(bytes) = std::fs::read(&path) {
            return (format!("src/{name}"), bytes);
        }
    }
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/metrics")
        .join(name);
    let one = std::fs::read_to_string(fixture).expect("metric fixture");
    // Go and Java need one package/class header: repeat only the body for them.
    let text = match name {
        "go.go" => {
            let body = one
                .split_once('\n')
                .map_or("", |(_, b)| b)
                .replace("package metrics", "");
            let mut t = String::from("package metrics\n");
            for i in 0..40 {
                t.push_str(
                    &body
                        .replace("func ", &format!("func N{i}"))
                        .replace("type Server", &format!("type Server{i}"))
                        .replace("(s *Server)", &format!("(s *Server{i})")),
                );
            }
            t
        }
        "java.java" => {
            let mut t = String::new();
            for i in 0..40 {
                t.push_str(
                    &one.replace("class Metrics", &format!("class Metrics{i}"))
                        .replace("Metrics(int", &format!("Metrics{i}(int")),
                );
            }
            t
        }
        _ => one.repeat(40),
    };
    (format!("src/{name}"), text.into_bytes())
}

#[divan::bench(args = FILES)]
fn parse_only(bencher: divan::Bencher, name: &str) {
    let (path, bytes) = input(name);
    let dialect = Dialect::from_path(std::path::Path::new(&path)).expect("known extension");
    bencher
        .counter(divan::counter::BytesCount::new(bytes.len()))
        .bench(|| qa_analysis::bench_parse(dialect, &bytes));
}

#[divan::bench(args = FILES)]
fn full_analysis(bencher: divan::Bencher, name: &str) {
    let (path, bytes) = input(name);
    let analyzer = Analyzer::new(ProjectConfig::default())
        .expect("default configuration")
        .without_cache()
        .with_jobs(1);
    bencher
        .counter(divan::counter::BytesCount::new(bytes.len()))
        .bench(|| {
            analyzer.analyze_files(vec![SourceFile {
                path: path.clone(),
                bytes: bytes.clone(),
            }])
        });
}
