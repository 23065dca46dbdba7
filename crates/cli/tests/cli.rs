//! End-to-end tests of the `qa-agent` binary on temporary trees.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> &Project {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_qa-agent"))
            .args(args)
            .current_dir(self.path())
            .env_remove("NO_COLOR")
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["analyze", ".", "--format", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn findings(report: &Value) -> Vec<&Value> {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["findings"].as_array().unwrap())
        .collect()
}

fn unsuppressed<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    findings(report)
        .into_iter()
        .filter(|f| f["rule_id"] == rule && f.get("suppressions").is_none())
        .collect()
}

const SHELL: &str =
    "import subprocess\n\ndef run(cmd):\n    subprocess.run(f\"ls {cmd}\", shell=True)\n";

#[test]
fn analyzes_a_project_in_every_format() {
    let p = Project::new();
    p.file("pkg/core.py", SHELL)
        .file(
            "pkg/util.js",
            "export function add(a, b) { return a && b ? a + b : 0; }\n",
        )
        .file(
            "tests/test_core.py",
            "from pkg.core import run\n\ndef test_run():\n    run('x')\n",
        );
    let report = p.json(&[]);
    assert_eq!(report["schema_version"], "1.0");
    assert_eq!(report["summary"]["files"], 3);
    let langs = report["summary"]["languages"].as_object().unwrap();
    assert!(langs.contains_key("python") && langs.contains_key("javascript"));
    assert_eq!(unsuppressed(&report, "SEC002").len(), 1);
    // The test references `run`, so it is tested; `add` is not.
    let tested: Vec<&str> = report["test_gaps"]["tested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["qualified_name"].as_str().unwrap())
        .collect();
    assert_eq!(tested, ["run"]);
    let untested: Vec<&str> = report["test_gaps"]["untested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["qualified_name"].as_str().unwrap())
        .collect();
    assert_eq!(untested, ["add"]);

    for format in ["table", "sarif", "markdown"] {
        let out = p.run(&["analyze", ".", "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("SEC002"), "{format}: {text}");
        // Not a terminal: no colour codes and no progress bar.
        assert!(!text.contains('\u{1b}'), "{format} output has colour codes");
        assert!(
            out.stderr.is_empty(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let colored = p.run(&["analyze", ".", "--color", "always"]);
    assert!(
        String::from_utf8(colored.stdout)
            .unwrap()
            .contains('\u{1b}')
    );
}

#[test]
fn exit_codes_follow_fail_on() {
    let p = Project::new();
    p.file("a.py", SHELL);
    assert_eq!(p.run(&["analyze", "."]).status.code(), Some(0));
    assert_eq!(
        p.run(&["analyze", ".", "--fail-on", "high"]).status.code(),
        Some(1)
    );
    assert_eq!(
        p.run(&["analyze", ".", "--fail-on", "critical"])
            .status
            .code(),
        Some(0)
    );
    let bad = p.run(&["analyze", ".", "--fail-on", "severe"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected one of"));
    let missing = p.run(&["analyze", "does/not/exist"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
}

#[test]
fn output_file_is_written_whole() {
    let p = Project::new();
    p.file("a.py", SHELL);
    let out = p.run(&[
        "analyze",
        ".",
        "--format",
        "sarif",
        "--output",
        "report.sarif",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("report.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let bad = p.run(&["analyze", ".", "--output", "no/such/dir/report.txt"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot write"));
}

#[test]
fn suppressions_inline_nosec_and_baseline() {
    let p = Project::new();
    p.file(
        "a.py",
        "import subprocess\n\ndef a(c):\n    subprocess.run(c, shell=True)  # qa-agent: ignore[SEC002]\n\ndef b(c):\n    subprocess.run(c, shell=True)  # nosec\n\ndef c(x):\n    # qa-agent: ignore\n    subprocess.run(x, shell=True)\n",
    );
    let report = p.json(&[]);
    let all: Vec<&Value> = findings(&report)
        .into_iter()
        .filter(|f| f["rule_id"] == "SEC002")
        .collect();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|f| f["suppressions"].is_array()), "{all:?}");
    assert_eq!(
        p.run(&["analyze", ".", "--fail-on", "low"]).status.code(),
        Some(0)
    );

    // Baseline: existing findings are suppressed, new ones are reported.
    let q = Project::new();
    q.file("a.py", SHELL);
    assert_eq!(
        q.run(&["analyze", ".", "--format", "json", "--output", "base.json"])
            .status
            .code(),
        Some(0)
    );
    // Unrelated lines inserted above: the old finding keeps its fingerprint.
    q.file(
        "a.py",
        format!(
            "# header\n# more header\n{SHELL}\ndef other(x):\n    subprocess.call(x, shell=True)\n"
        ),
    );
    let report = q.json(&["--baseline", "base.json"]);
    let new: Vec<&Value> = unsuppressed(&report, "SEC002");
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["function"], "other");
    assert_eq!(
        q.run(&[
            "analyze",
            ".",
            "--baseline",
            "base.json",
            "--fail-on",
            "high"
        ])
        .status
        .code(),
        Some(1)
    );
    // A file that is not a report is a clear error.
    q.file("junk.json", "{\"hello\": 1}");
    let bad = q.run(&["analyze", ".", "--baseline", "junk.json"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("neither a qa-agent JSON report nor a SARIF log")
    );
}

#[test]
fn config_file_controls_paths_rules_and_thresholds() {
    let p = Project::new();
    p.file("src/a.py", SHELL)
        .file("gen/b.py", SHELL)
        .file("src/c.py", "def f(a):\n    if a:\n        return 1\n    return 2\n")
        .file(
            "qa-agent.toml",
            "[analysis]\nexclude = [\"gen\"]\n[rules]\ndisable = [\"security\"]\n[thresholds]\ncyclomatic = 1\n",
        );
    let report = p.json(&[]);
    let paths: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["src/a.py", "src/c.py"]);
    assert!(unsuppressed(&report, "SEC002").is_empty());
    assert_eq!(unsuppressed(&report, "MNT001").len(), 1);
    // --no-config ignores it.
    let report = p.json(&["--no-config"]);
    assert_eq!(report["files"].as_array().unwrap().len(), 3);

    p.file("qa-agent.toml", "[thresholds]\ncyclomatc = 3\n");
    let out = p.run(&["analyze", "."]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("qa-agent.toml") && err.contains("cyclomatc"),
        "{err}"
    );
    p.file("qa-agent.toml", "[rules]\ndisable = [\"SEC999\"]\n");
    let err = String::from_utf8_lossy(&p.run(&["analyze", "."]).stderr).to_string();
    assert!(
        err.contains("SEC999") && err.contains("qa-agent rules"),
        "{err}"
    );
}

#[test]
fn gitignore_vendored_and_generated_files_are_skipped() {
    let p = Project::new();
    p.file(".gitignore", "build/\n")
        .file("build/out.py", SHELL)
        .file("node_modules/lib/index.js", "function f() {}\n")
        .file("vendor/x.go", "package x\nfunc F() {}\n")
        .file("static/app.min.js", "function f(){}\n")
        .file(
            "api_pb2.py",
            "# Generated by the protocol buffer compiler.  DO NOT EDIT!\nx = 1\n",
        )
        .file(
            "lib/index.js",
            "var a = 1;\n//# sourceMappingURL=index.js.map\n",
        )
        .file("tests/data/sample.py", "def f(:\n")
        .file("pkg/testdata/input.go", "package p\n")
        .file("tests/test_main.py", "def test_x():\n    assert True\n")
        .file("data/load.py", "x = 2\n")
        .file("out/app.js", "var a = 1;\n")
        .file("out/app.js.map", "{}")
        .file("docs/_static/jquery-3.5.1.js", "function $() {}\n")
        .file("src/generated/api.ts", "export const a = 1;\n")
        .file("main.py", "x = 1\n");
    let report = p.json(&[]);
    let mut paths: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(paths, ["data/load.py", "main.py", "tests/test_main.py"]);
    let all = p.json(&["--all-files"]);
    assert_eq!(
        all["files"].as_array().unwrap().len(),
        13,
        "gitignored files stay out even with --all-files"
    );
}

#[test]
fn bad_input_is_reported_and_the_rest_analysed() {
    let p = Project::new();
    p.file("ok.py", "def f():\n    return 1\n")
        .file("binary.py", [0u8, 159, 146, 150, 0, 1])
        .file("latin1.py", b"x = '\xe9t\xe9'\n")
        .file("big.js", "var x = 1;\n".repeat(200_000))
        .file(
            "broken.py",
            "def g(:\n    return\n\ndef h():\n    return 2\n",
        );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("loop_b.py", p.path().join("loop_a.py")).unwrap();
        std::os::unix::fs::symlink("loop_a.py", p.path().join("loop_b.py")).unwrap();
        std::os::unix::fs::symlink("missing.py", p.path().join("dangling.py")).unwrap();
    }
    let out = p.run(&["analyze", ".", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let diags = report["diagnostics"].as_array().unwrap();
    let kind_of = |path: &str| {
        diags
            .iter()
            .find(|d| d["path"] == path)
            .map(|d| d["kind"].as_str().unwrap().to_string())
    };
    assert_eq!(kind_of("binary.py").as_deref(), Some("binary"));
    assert_eq!(kind_of("latin1.py").as_deref(), Some("invalid_utf8"));
    // A Latin-1 byte does not hide the file: it is analysed with the byte replaced.
    assert!(
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "latin1.py"),
        "latin1.py is analysed"
    );
    assert_eq!(kind_of("big.js").as_deref(), Some("too_large"));
    assert_eq!(kind_of("broken.py").as_deref(), Some("syntax_error"));
    #[cfg(unix)]
    {
        assert_eq!(kind_of("loop_a.py").as_deref(), Some("symlink_loop"));
        assert_eq!(kind_of("dangling.py").as_deref(), Some("io"));
    }
    // What parses is still analysed: `h` in the broken file, and the good file.
    let functions: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["functions"].as_array().unwrap())
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        functions.contains(&"f") && functions.contains(&"h"),
        "{functions:?}"
    );
    // A bigger limit lets the big file in.
    let report = p.json(&["--max-file-size", "4000000"]);
    assert!(
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "big.js")
    );
}

#[test]
fn rules_list_explain_and_schema() {
    let p = Project::new();
    let out = p.run(&["rules"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("SEC002") && text.contains("MNT001"));
    let json: Value = serde_json::from_slice(&p.run(&["rules", "--json"]).stdout).unwrap();
    assert!(json.as_array().unwrap().len() >= 40, "at least 40 rules");
    let sec: Value =
        serde_json::from_slice(&p.run(&["rules", "--json", "--family", "security"]).stdout)
            .unwrap();
    assert!(
        sec.as_array()
            .unwrap()
            .iter()
            .all(|r| r["family"] == "security")
    );
    let explain = String::from_utf8(p.run(&["rules", "explain", "sec002"]).stdout).unwrap();
    assert!(explain.contains("## How to fix") && explain.contains("subprocess-shell-true"));
    let unknown = p.run(&["rules", "explain", "NOPE1"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("qa-agent rules"));
    let schema: Value = serde_json::from_slice(&p.run(&["schema"]).stdout).unwrap();
    assert_eq!(schema["title"], "qa-agent analysis report");
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Generated documentation must match what the binary prints, so it never drifts.
#[test]
fn generated_docs_are_current() {
    let p = Project::new();
    for (args, file) in [
        (vec!["rules", "--markdown"], "docs/rules.md"),
        (vec!["schema"], "docs/schema/analysis-report-v1.json"),
    ] {
        let generated = String::from_utf8(p.run(&args).stdout).unwrap();
        let committed = std::fs::read_to_string(repo_file(file)).unwrap_or_default();
        assert!(
            generated == committed,
            "{file} is out of date: run `cargo run -p qa-agent -- {} > {file}`",
            args.join(" ")
        );
    }
}

#[test]
fn ask_answers_with_streamed_steps_and_cited_evidence_in_embedded_mode() {
    let p = Project::new();
    p.file(
        "repo/shop/orders.py",
        "def parse_order(rows, wanted):\n    out = []\n    for r in rows:\n        for w in wanted:\n            if r == w:\n                out.append(r)\n    return out\n",
    );
    let data = tempfile::tempdir().unwrap();
    let ask = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_qa-agent"))
            .arg("ask")
            .args(args)
            .current_dir(p.path())
            .env("QA_AGENT_DATA_DIR", data.path())
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .output()
            .unwrap()
    };
    let out = ask(&["why is parse_order slow?", "--path", "repo"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    // The steps stream on stderr, the answer on stdout, citing the nested loop.
    assert!(
        stderr.contains("→ analyze_repository") && stderr.contains("→ function_source"),
        "{stderr}"
    );
    assert!(
        stdout.contains("shop/orders.py:4") && stdout.contains("nesting level 2"),
        "{stdout}"
    );
    assert!(stdout.contains("performance-analyst"), "{stdout}");

    let out = ask(&["what should I test first?", "--path", "repo", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["answer"]["specialists"][0], "test-architect");
    assert!(
        v["answer"]["text"]
            .as_str()
            .unwrap()
            .contains("parse_order"),
        "{v}"
    );

    // Bad input is a clear error, not a hang or a panic.
    let out = ask(&["anything", "--path", "no/such/dir"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    let out = ask(&["anything", "--server", "http://127.0.0.1:9"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("API key"));
}

#[test]
fn chat_answers_each_line_in_turn_and_resumes_its_conversation() {
    use std::io::Write;
    use std::process::Stdio;
    let p = Project::new();
    p.file(
        "repo/shop/orders.py",
        "def parse_order(rows, wanted):\n    out = []\n    for r in rows:\n        for w in wanted:\n            if r == w:\n                out.append(r)\n    return out\n",
    );
    let data = tempfile::tempdir().unwrap();
    let chat = |args: &[&str], input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_qa-agent"))
            .arg("chat")
            .args(args)
            .current_dir(p.path())
            .env("QA_AGENT_DATA_DIR", data.path())
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = chat(
        &["--path", "repo"],
        "what should I test first?\nwhy is parse_order slow?\n/quit\n",
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("conversation 1 (new)") && stderr.contains("→ list_untested"),
        "{stderr}"
    );
    // Both answers, in the order asked.
    let first = stdout.find("Cover first").expect(&stdout);
    let second = stdout.find("nesting level 2").expect(&stdout);
    assert!(first < second, "{stdout}");

    // The conversation is kept: resuming it replays the history.
    let out = chat(&["--conversation", "1"], "/quit\n");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stderr.contains("conversation 1 (resumed)"), "{stderr}");
    assert!(
        stdout.contains("Cover first") && stdout.contains("nesting level 2"),
        "{stdout}"
    );
}
