//! JavaScript generation end to end: on real npm packages (ms, escape-html, installed in
//! tests/js by scripts/test.sh) and on small ES modules written here, the Vitest files
//! written pass when run again, assert exact values and errors, and bad modules are contained.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use qa_testgen::{GenerateOptions, ModuleStatus};

fn fixtures_node_modules() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/js/node_modules");
    let ready = dir.join("vitest/vitest.mjs").is_file() && dir.join("ms/index.js").is_file();
    if !ready {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have tests/js/node_modules (scripts/test.sh runs npm ci there)"
        );
        eprintln!(
            "SKIPPED: tests/js/node_modules is missing; run `bash scripts/test.sh` or `npm ci` in tests/js"
        );
        return None;
    }
    Some(dir.canonicalize().unwrap())
}

fn sandbox() -> qa_sandbox::Sandbox {
    let sandbox = qa_sandbox::Sandbox::detect().unwrap();
    if std::env::var_os("CI").is_some() {
        assert_eq!(sandbox.mode(), qa_sandbox::Mode::Bubblewrap);
    }
    sandbox
}

/// A package directory holding `files`, its `node_modules` linked to the fixtures' install
/// (or absent, to test a missing toolchain).
fn package(files: &[(&str, &str)], node_modules: Option<&Path>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    if let Some(nm) = node_modules {
        std::os::unix::fs::symlink(nm, dir.path().join("node_modules")).unwrap();
    }
    dir
}

/// The real package `name` from the fixtures' node_modules, copied into its own package.
fn real_package(nm: &Path, name: &str) -> tempfile::TempDir {
    let src = nm.join(name);
    let index = std::fs::read_to_string(src.join("index.js")).unwrap();
    let manifest = std::fs::read_to_string(src.join("package.json")).unwrap();
    package(
        &[("index.js", &index), ("package.json", &manifest)],
        Some(nm),
    )
}

fn options(budget: u64) -> GenerateOptions {
    GenerateOptions {
        budget: Duration::from_secs(budget),
        ..GenerateOptions::default()
    }
}

/// Runs the written file with Vitest outside qa-agent, the way a developer would.
fn vitest_passes(root: &Path, test_file: &Path) -> (bool, String) {
    let out = Command::new("node")
        .current_dir(root)
        .arg(root.join("node_modules/vitest/vitest.mjs"))
        .args(["run", "--no-color"])
        .arg(test_file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn tests_for_the_ms_package_pass_and_pin_its_behaviour() {
    let Some(nm) = fixtures_node_modules() else {
        return;
    };
    let pkg = real_package(&nm, "ms");
    let report =
        qa_testgen::generate(&sandbox(), &pkg.path().join("index.js"), &options(40)).unwrap();
    let m = &report.modules[0];
    assert_eq!(m.status, ModuleStatus::Generated, "{:?}", m.problem);
    assert_eq!(m.language, "javascript");
    assert_eq!(m.framework.as_deref(), Some("vitest"));
    assert!(m.kept.len() >= 8, "only {} tests kept", m.kept.len());
    let coverage = m.coverage_after.as_ref().expect("coverage measured");
    assert!(
        coverage.line_percent >= 80.0,
        "line coverage {:.0}%",
        coverage.line_percent
    );
    let file = m.test_file.clone().expect("file written");
    assert_eq!(
        file,
        pkg.path()
            .canonicalize()
            .unwrap()
            .join("tests/index.qa.test.js")
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("import ms from \"../index.js\";"), "{text}");
    // Both directions of the package: parsing strings and formatting numbers, and its error.
    assert!(
        text.contains(".toBe(\""),
        "no formatted string asserted:\n{text}"
    );
    assert!(
        text.contains(".toThrow(/^val is not a non-empty string or a valid number\\. val="),
        "the error message is not pinned:\n{text}"
    );
    assert!(!text.contains("toBeTruthy") && !text.contains("toBeDefined"));
    let (ok, out) = vitest_passes(pkg.path(), &file);
    assert!(ok, "the written tests fail when run again:\n{out}");

    // A changed behaviour is caught: make `ms("1d")` parse days as 23 hours.
    let index = pkg.path().join("index.js");
    let mutated = std::fs::read_to_string(&index)
        .unwrap()
        .replace("var d = h * 24;", "var d = h * 23;");
    std::fs::write(&index, mutated).unwrap();
    let (ok, _) = vitest_passes(pkg.path(), &file);
    assert!(!ok, "the tests did not notice days of 23 hours");
}

#[test]
fn a_preferred_runner_that_is_not_installed_is_explained_not_silently_ignored() {
    let Some(nm) = fixtures_node_modules() else {
        return;
    };
    let pkg = real_package(&nm, "ms");
    let options = GenerateOptions {
        framework: Some("jest".into()),
        ..options(10)
    };
    let report = qa_testgen::generate(&sandbox(), &pkg.path().join("index.js"), &options).unwrap();
    let m = &report.modules[0];
    assert_eq!(m.framework.as_deref(), Some("vitest"));
    let note = m.framework_note.as_deref().unwrap_or_default();
    assert!(
        note.contains("you prefer jest") && note.contains("npm install --save-dev jest"),
        "{note}"
    );
}

#[test]
fn escape_html_gets_exact_string_assertions() {
    let Some(nm) = fixtures_node_modules() else {
        return;
    };
    let pkg = real_package(&nm, "escape-html");
    let report =
        qa_testgen::generate(&sandbox(), &pkg.path().join("index.js"), &options(30)).unwrap();
    let m = &report.modules[0];
    assert_eq!(m.status, ModuleStatus::Generated, "{:?}", m.problem);
    let text = &m.test_source;
    assert!(text.contains("import escapeHtml from"), "{text}");
    // Its escapes are chosen by character code (`case 34:`): each branch is reached.
    let coverage = m.coverage_after.as_ref().expect("coverage measured");
    assert!(coverage.line_percent >= 90.0, "{coverage:?}\n{text}");
    assert!(
        text.contains("&amp;") || text.contains("&lt;") || text.contains("&quot;"),
        "{text}"
    );
    let (ok, out) = vitest_passes(pkg.path(), m.test_file.as_ref().unwrap());
    assert!(ok, "{out}");
}

const SHAPES: &str = r#"
export class Stack {
  constructor(limit = 3) {
    this.limit = limit;
    this.items = [];
  }
  push(value) {
    if (this.items.length >= this.limit) {
      throw new RangeError(`stack is full (${this.limit})`);
    }
    this.items.push(value);
    return this.items.length;
  }
  peek() {
    return this.items.length ? this.items[this.items.length - 1] : null;
  }
}

export function clamp(value, min, max) {
  if (typeof value !== "number") throw new TypeError("value must be a number");
  if (value < min) return min;
  if (value > max) return max;
  return value;
}

export function sortInPlace(list) {
  list.sort((a, b) => a - b);
}

export function spin(n) {
  if (n === 3) { for (;;) {} }
  return n * 2;
}

export async function delayed(x) {
  return x + 1;
}

export async function fetchRecord(id) {
  if (id < 0) throw new RangeError("id must not be negative");
  return { id };
}

export function now() {
  return Date.now() + Math.random();
}
"#;

#[test]
fn es_modules_get_named_imports_classes_state_and_contained_hangs() {
    let Some(nm) = fixtures_node_modules() else {
        return;
    };
    let pkg = package(
        &[
            ("src/shapes.js", SHAPES),
            ("package.json", r#"{"name": "shapes", "type": "module"}"#),
        ],
        Some(&nm),
    );
    let report =
        qa_testgen::generate(&sandbox(), &pkg.path().join("src/shapes.js"), &options(40)).unwrap();
    let m = &report.modules[0];
    assert_eq!(m.status, ModuleStatus::Generated, "{:?}", m.problem);
    let text = &m.test_source;
    assert!(text.contains("from \"../src/shapes.js\";"), "{text}");
    assert!(
        text.contains("import { "),
        "named imports expected:\n{text}"
    );
    // Method calls on instances, with the instance's state after the call.
    assert!(text.contains("new Stack("), "{text}");
    assert!(
        text.contains("expect({ ...stack }).toStrictEqual("),
        "{text}"
    );
    // Errors with their class and whole message.
    assert!(text.contains(".toThrow(TypeError);"), "{text}");
    assert!(
        text.contains(".toThrow(/^value must be a number$/);"),
        "{text}"
    );
    // An argument changed in place is asserted.
    assert!(text.contains("expect(arg1).toStrictEqual("), "{text}");
    // Promises are awaited.
    assert!(text.contains("await expect(delayed("), "{text}");
    assert!(
        text.contains(".rejects.toThrow(RangeError);")
            && text.contains(".rejects.toThrow(/^id must not be negative$/);"),
        "{text}"
    );
    // The infinite loop was stopped, and its call never became a test; time and
    // randomness are never asserted.
    assert!(!text.contains("spin(3)"), "{text}");
    assert!(text.contains("spin("), "{text}");
    assert!(!text.contains("now()"), "{text}");
    let (ok, out) = vitest_passes(pkg.path(), m.test_file.as_ref().unwrap());
    assert!(ok, "{out}");
}

#[test]
fn without_a_test_runner_nothing_is_written_and_the_reason_is_clear() {
    let pkg = package(
        &[
            ("lib.js", "exports.add = (a, b) => a + b;\n"),
            ("package.json", "{}"),
        ],
        None,
    );
    let report =
        qa_testgen::generate(&sandbox(), &pkg.path().join("lib.js"), &options(10)).unwrap();
    let m = &report.modules[0];
    assert_eq!(m.status, ModuleStatus::NoToolchain);
    let problem = m.problem.as_deref().unwrap();
    assert!(
        problem.contains("npm install --save-dev vitest"),
        "{problem}"
    );
    assert!(m.test_file.is_none());
    assert!(!pkg.path().join("tests").exists());
}

#[test]
fn a_module_that_fails_to_import_is_reported_and_the_others_still_run() {
    let Some(nm) = fixtures_node_modules() else {
        return;
    };
    let pkg = package(
        &[
            ("package.json", r#"{"name": "mixed", "type": "module"}"#),
            (
                "src/broken.js",
                "throw new Error('no config file');\nexport const x = 1;\n",
            ),
            ("src/syntax.js", "export function (\n"),
            ("src/ok.js", "export function double(n) { return n * 2; }\n"),
            ("src/ok.test.js", "// a test file, not a module to test\n"),
        ],
        Some(&nm),
    );
    let report = qa_testgen::generate(&sandbox(), &pkg.path().join("src"), &options(20)).unwrap();
    let by_name = |n: &str| {
        report
            .modules
            .iter()
            .find(|m| m.module.ends_with(n))
            .unwrap()
    };
    assert_eq!(
        report.modules.len(),
        3,
        "{:?}",
        report.modules.iter().map(|m| &m.module).collect::<Vec<_>>()
    );
    let broken = by_name("broken.js");
    assert_eq!(broken.status, ModuleStatus::Failed);
    assert!(
        broken
            .problem
            .as_deref()
            .unwrap()
            .contains("no config file")
    );
    assert_eq!(by_name("syntax.js").status, ModuleStatus::Failed);
    let ok = by_name("ok.js");
    assert_eq!(ok.status, ModuleStatus::Generated, "{:?}", ok.problem);
    assert!(ok.test_source.contains("expect(double("));
}

const UNITS_TS: &str = r#"import { clampPercent } from "./util";

export enum Unit { B = "B", KB = "KB", MB = "MB" }

export function formatBytes(bytes: number, decimals: number = 1): string {
  if (!Number.isFinite(bytes)) throw new RangeError(`not a finite number: ${bytes}`);
  if (bytes < 1024) return `${bytes} ${Unit.B}`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(decimals)} ${Unit.KB}`;
  return `${(bytes / (1024 * 1024)).toFixed(decimals)} ${Unit.MB}`;
}

export function percent(part: number, whole: number): number {
  if (whole === 0) return 0;
  return clampPercent((part / whole) * 100);
}
"#;

#[test]
fn typescript_modules_get_typed_arguments_and_a_ts_test_file() {
    let Some(nm) = fixtures_node_modules() else {
        return;
    };
    let pkg = package(
        &[
            ("src/units.ts", UNITS_TS),
            (
                "src/util.ts",
                "export const clampPercent = (p: number): number => Math.min(100, Math.max(0, p));\n",
            ),
            ("src/types.d.ts", "export type Bytes = number;\n"),
            ("package.json", r#"{"name": "units", "type": "module"}"#),
        ],
        Some(&nm),
    );
    let report = qa_testgen::generate(&sandbox(), &pkg.path().join("src"), &options(30)).unwrap();
    // The declaration file holds no code and is not a module to test.
    assert_eq!(report.modules.len(), 2);
    let m = report
        .modules
        .iter()
        .find(|m| m.module.ends_with("units.ts"))
        .unwrap();
    assert_eq!(m.status, ModuleStatus::Generated, "{:?}", m.problem);
    let file = m.test_file.clone().unwrap();
    assert!(
        file.ends_with("tests/units.qa.test.ts"),
        "{}",
        file.display()
    );
    let text = &m.test_source;
    assert!(text.contains("from \"../src/units\";"), "{text}");
    assert!(text.contains("KB\")"), "{text}");
    // Arguments have the declared types: no string where a number is declared.
    assert!(!text.contains("formatBytes(\""), "{text}");
    assert!(!text.contains("percent(\""), "{text}");
    let coverage = m.coverage_after.as_ref().unwrap();
    assert!(coverage.line_percent >= 80.0, "{coverage:?}");
    let (ok, out) = vitest_passes(pkg.path(), &file);
    assert!(ok, "{out}");
}
