//! `qa-agent generate` and `qa-agent mutate` as processes: files written where the project
//! keeps its tests, JSON and JUnit reports, exit codes, and clear errors.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn qa_agent(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qa-agent"))
        .args(args)
        .current_dir(dir)
        .env_remove("QA_AGENT_LLM_PROVIDER")
        .output()
        .unwrap()
}

fn has_pytest() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pytest, coverage"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have pytest and coverage"
        );
        eprintln!("SKIPPED: pytest/coverage not installed (run scripts/test.sh)");
    }
    ok
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pyproject.toml"), "").unwrap();
    std::fs::create_dir_all(dir.path().join("calc/tests")).unwrap();
    std::fs::write(dir.path().join("calc/__init__.py"), "").unwrap();
    std::fs::write(
        dir.path().join("calc/ops.py"),
        "def safe_div(a: int, b: int) -> float:\n    if b == 0:\n        raise ZeroDivisionError(\"b is zero\")\n    return a / b\n\n\ndef sign(n: int) -> int:\n    if n > 0:\n        return 1\n    if n < 0:\n        return -1\n    return 0\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("calc/broken.py"), "def f(:\n").unwrap();
    dir
}

#[test]
fn generate_writes_validated_tests_and_reports_json_and_junit() {
    if !has_pytest() {
        return;
    }
    let dir = project();
    let out = qa_agent(
        dir.path(),
        &[
            "generate",
            "calc/ops.py",
            "--budget",
            "30",
            "--format",
            "json",
            "--junit",
            "report.xml",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &report["modules"][0];
    assert_eq!(m["module"], "calc.ops");
    assert_eq!(m["status"], "generated");
    // No tests/ at the root: created there, beside the project's package.
    let written = dir.path().join("tests/test_ops_qa.py");
    assert_eq!(
        m["test_file"].as_str(),
        written.canonicalize().unwrap().to_str()
    );
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(
        text.contains("from calc.ops import safe_div, sign"),
        "{text}"
    );
    assert!(
        text.contains("with pytest.raises(ZeroDivisionError, match=\"^b is zero$\"):"),
        "{text}"
    );
    assert!(text.contains("assert sign(-1) == -1"), "{text}");
    assert!(m["mutation"]["score"].as_f64().unwrap() > 0.5, "{m}");
    let junit = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    assert!(junit.contains("<testsuite name=\"calc.ops\""), "{junit}");
    assert!(report["sandbox"]["mode"].as_str().is_some());

    // The suite it wrote, scored by `mutate`, with a floor for CI.
    let out = qa_agent(
        dir.path(),
        &[
            "mutate",
            "calc/ops.py",
            "--tests",
            "tests",
            "--fail-under",
            "99.9",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("calc.ops: mutation score"), "{text}");
    assert!(text.contains("sign"), "{text}");
    let score: f64 = text
        .split("mutation score ")
        .nth(1)
        .and_then(|s| s.split('%').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(if score < 99.9 { 1 } else { 0 }),
        "{text}"
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = project();
    // A syntax error: reported for that module, exit 1, nothing written.
    let out = qa_agent(dir.path(), &["generate", "calc/broken.py", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("syntax error at line 1"));
    // A path that does not exist.
    let out = qa_agent(dir.path(), &["generate", "calc/nope.py"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    // LLM mode without a model configured says what to set.
    let out = qa_agent(dir.path(), &["generate", "calc/ops.py", "--llm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("QA_AGENT_LLM_PROVIDER"));
    // mutate needs the tests to run.
    let out = qa_agent(dir.path(), &["mutate", "calc/ops.py"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tests"));
    assert!(
        !dir.path().join("tests").exists(),
        "nothing written on errors"
    );
}

#[test]
fn generate_for_javascript_without_a_test_runner_says_what_to_install_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("package.json"), r#"{"name": "calc"}"#).unwrap();
    std::fs::write(
        dir.path().join("calc.js"),
        "exports.sign = (n) => (n > 0 ? 1 : n < 0 ? -1 : 0);\n",
    )
    .unwrap();
    let out = qa_agent(dir.path(), &["generate", "calc.js", "--budget", "10"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("toolchain missing"), "{text}");
    assert!(text.contains("npm install --save-dev vitest"), "{text}");
    assert!(!dir.path().join("tests").exists());
}

#[test]
fn generate_for_javascript_writes_a_vitest_file_that_passes() {
    let nm = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/js/node_modules");
    if !nm.join("vitest/vitest.mjs").is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have tests/js/node_modules (scripts/test.sh runs npm ci there)"
        );
        eprintln!("SKIPPED: tests/js/node_modules is missing (run scripts/test.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        r#"{"name": "calc", "type": "module"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("calc.js"),
        "export function sign(n) {\n  if (typeof n !== \"number\") throw new TypeError(\"n must be a number\");\n  return n > 0 ? 1 : n < 0 ? -1 : 0;\n}\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(nm.canonicalize().unwrap(), dir.path().join("node_modules"))
        .unwrap();
    let out = qa_agent(
        dir.path(),
        &["generate", "calc.js", "--budget", "20", "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &report["modules"][0];
    assert_eq!(m["status"], "generated");
    assert_eq!(m["language"], "javascript");
    assert_eq!(m["framework"], "vitest");
    assert_eq!(m["test_file_name"], "calc.qa.test.js");
    let written = std::fs::read_to_string(dir.path().join("tests/calc.qa.test.js")).unwrap();
    assert!(
        written.contains("import { sign } from \"../calc.js\";"),
        "{written}"
    );
    assert!(
        written.contains("expect(sign(-1)).toBe(-1);") || written.contains("toBe(-1);"),
        "{written}"
    );
    assert!(
        written.contains(".toThrow(/^n must be a number$/);"),
        "{written}"
    );
}

/// A copy of a real crate qa-agent did not write: strsim, which this workspace depends on
/// (through clap), from cargo's downloaded sources.
fn strsim_copy() -> Option<tempfile::TempDir> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var("HOME").unwrap()).join(".cargo"));
    let src = std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .filter_map(Result::ok)
        .flat_map(|d| {
            std::fs::read_dir(d.path())
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
        })
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("strsim-0.11"))
        })
        .max()?;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("strsim");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(&dest)
        .status()
        .unwrap();
    assert!(status.success());
    // Its benches and tests need dev-dependencies that are not downloaded: keep the library.
    for extra in ["benches", "tests"] {
        let _ = std::fs::remove_dir_all(dest.join(extra));
    }
    let manifest = std::fs::read_to_string(dest.join("Cargo.toml")).unwrap();
    let lib_only: String = manifest
        .split("\n[")
        .filter(|section| {
            !section.starts_with("[bench]") && !section.starts_with("dev-dependencies")
        })
        .collect::<Vec<_>>()
        .join("\n[");
    std::fs::write(dest.join("Cargo.toml"), lib_only).unwrap();
    Some(dir)
}

#[test]
fn generate_for_a_rust_crate_writes_tests_that_cargo_test_passes() {
    let Some(dir) = strsim_copy() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "strsim's source must be in cargo's registry after the workspace build"
        );
        eprintln!("SKIPPED: strsim's source is not in cargo's registry");
        return;
    };
    let krate = dir.path().join("strsim");
    let out = qa_agent(
        &krate,
        &[
            "generate",
            "src/lib.rs",
            "--budget",
            "90",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &report["modules"][0];
    assert_eq!(m["status"], "generated", "{m:#}");
    assert_eq!(m["language"], "rust");
    assert_eq!(m["module"], "strsim");
    let targets: Vec<&str> = m["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for f in ["hamming", "levenshtein", "jaro", "osa_distance"] {
        assert!(targets.contains(&f), "{targets:?}");
    }
    // Generic functions are named with the reason they were left out.
    let skipped = m["skipped_targets"].to_string();
    assert!(skipped.contains("generic_levenshtein"), "{skipped}");
    let kept = m["kept"].as_array().unwrap();
    assert!(kept.len() >= 6, "{m:#}");
    let score = m["mutation"]["score"].as_f64().unwrap();
    eprintln!(
        "strsim: {} tests kept, {} dropped, mutation score {score:.2} ({} of {} mutants run), {:.0} s",
        kept.len(),
        m["dropped"].as_array().unwrap().len(),
        m["mutation"]["killed"],
        m["mutation"]["results"].as_array().unwrap().len(),
        m["wall_seconds"].as_f64().unwrap()
    );
    assert!(score >= 0.5, "{score}");
    let written = std::fs::read_to_string(krate.join("tests/strsim_qa.rs")).unwrap();
    assert!(written.contains("use strsim::{"), "{written}");
    assert!(written.contains("assert_eq!(levenshtein("), "{written}");
    // Floats are compared with a tolerance, errors by their Debug text.
    assert!(written.contains("expected.abs().max(1.0)"), "{written}");
    assert!(
        written.contains(".unwrap_err()), \"DifferentLengthArgs\")"),
        "{written}"
    );
    // The written file passes `cargo test` on its own, outside the sandbox.
    let test = Command::new("cargo")
        .args(["test", "--offline", "--test", "strsim_qa", "-q"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
}

#[test]
fn generate_for_rust_outside_a_cargo_package_says_so_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lone.rs"), "pub fn one() -> i32 { 1 }\n").unwrap();
    let out = qa_agent(dir.path(), &["generate", "lone.rs", "--budget", "10"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not in a Cargo package"), "{text}");
    assert!(!dir.path().join("tests").exists());
}

#[test]
fn rust_code_that_hangs_floods_output_or_writes_files_is_contained_and_reported() {
    if Command::new("cargo").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI has cargo");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().join("hostile");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"hostile\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    let marker = format!("/tmp/qa-agent-escape-{}", std::process::id());
    std::fs::write(
        krate.join("src/lib.rs"),
        format!(
            r#"pub fn spin(n: u32) -> u32 {{
    let mut x = n;
    while x == 0 {{ x = x.wrapping_add(0); }}
    x * 2
}}

pub fn scribble(flag: bool) -> bool {{
    flag && std::fs::write("{marker}", "x").is_ok()
}}

pub fn shout(n: u8) -> usize {{
    for _ in 0..(n as usize * 200_000) {{ println!("a flood of output, line after line"); }}
    n as usize
}}

pub fn must_be_positive(x: i64) -> i64 {{
    if x <= 0 {{ panic!("x must be positive, got {{x}}"); }}
    x
}}
"#
        ),
    )
    .unwrap();
    let out = qa_agent(
        &krate,
        &[
            "generate",
            "src/lib.rs",
            "--budget",
            "60",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &report["modules"][0];
    assert_eq!(m["status"], "generated", "{m:#}");
    // The hanging call is named and left out; the function's other calls are still tested.
    let skipped = m["skipped_targets"].to_string();
    assert!(
        skipped.contains("spin(0)") && skipped.contains("did not return"),
        "{skipped}"
    );
    let written = std::fs::read_to_string(krate.join("tests/hostile_qa.rs")).unwrap();
    assert!(written.contains("spin("), "{written}");
    assert!(
        written.contains("#[should_panic(expected = \"x must be positive, got"),
        "{written}"
    );
    // Under bubblewrap the write went to the sandbox's private /tmp, not the host's.
    if report["sandbox"]["mode"] == "bubblewrap" {
        assert!(
            !Path::new(&marker).exists(),
            "the sandbox let a write through"
        );
    }
}
