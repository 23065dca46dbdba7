//! The library API the services use: in-memory analysis, caching, bounded parsing, test
//! mapping across ecosystems.

use qa_analysis::{Analyzer, DiagnosticKind, ProjectConfig, RepoAnalysis, SourceFile};

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.into(),
        bytes: text.as_bytes().to_vec(),
    }
}

fn analyze(files: Vec<SourceFile>) -> RepoAnalysis {
    Analyzer::new(ProjectConfig::default())
        .unwrap()
        .analyze_files(files)
}

#[test]
fn unchanged_files_come_from_the_cache() {
    let analyzer = Analyzer::new(ProjectConfig::default()).unwrap();
    let files = vec![
        file("a.py", "def f(x):\n    return x\n"),
        file("b.go", "package b\nfunc G() int { return 1 }\n"),
    ];
    let first = analyzer.analyze_files(files.clone());
    assert_eq!(analyzer.cache_stats().misses, 2);
    let second = analyzer.analyze_files(files.clone());
    assert_eq!(analyzer.cache_stats().hits, 2, "nothing re-parsed");
    assert_eq!(first, second);
    // One file changes: only it is parsed again.
    let mut changed = files;
    changed[0] = file("a.py", "def f(x):\n    return x + 1\n");
    analyzer.analyze_files(changed);
    let stats = analyzer.cache_stats();
    assert_eq!((stats.hits, stats.misses), (3, 3));
}

#[test]
fn a_pathological_file_cannot_hang_the_run() {
    let mut config = ProjectConfig::default();
    config.analysis.parse_timeout_ms = 1;
    // Deeply nested, error-laden input is slow to parse; with a 1 ms budget it is abandoned.
    let nasty = "f(\n".repeat(200_000) + &"[{\n".repeat(100_000);
    let analysis = Analyzer::new(config).unwrap().analyze_files(vec![
        file("slow.js", &nasty),
        file("ok.py", "def ok():\n    return 1\n"),
    ]);
    assert!(
        analysis
            .diagnostics
            .iter()
            .any(|d| d.path == "slow.js" && d.kind == DiagnosticKind::ParseTimeout)
    );
    assert_eq!(
        analysis
            .files
            .iter()
            .find(|f| f.path == "ok.py")
            .unwrap()
            .functions
            .len(),
        1
    );
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    // 2,000 nested conditionals and parentheses exercise every recursive metric.
    let mut py = String::from("def f(x):\n    return ");
    for _ in 0..2000 {
        py.push_str("(1 if x else\n        ");
    }
    py.push('0');
    py.push_str(&")".repeat(2000));
    py.push('\n');
    let mut js = String::from("function g(a) { return ");
    js.push_str(&"(a &&\n".repeat(3000));
    js.push('a');
    js.push_str(&")".repeat(3000));
    js.push_str("; }\n");
    let analysis = analyze(vec![file("deep.py", &py), file("deep.js", &js)]);
    assert!(
        analysis.diagnostics.is_empty(),
        "{:?}",
        analysis.diagnostics
    );
    let f = &analysis
        .files
        .iter()
        .find(|f| f.path == "deep.py")
        .unwrap()
        .functions[0];
    assert_eq!(f.cyclomatic, 2001);
    let g = &analysis
        .files
        .iter()
        .find(|f| f.path == "deep.js")
        .unwrap()
        .functions[0];
    assert_eq!(g.cyclomatic, 3001);
}

#[test]
fn maps_tests_to_functions_in_every_ecosystem() {
    let analysis = analyze(vec![
        // Python: pytest function and unittest method.
        file(
            "shop/cart.py",
            "def total(items):\n    return sum(items)\n\ndef unused(x):\n    if x:\n        return 1\n    return 2\n",
        ),
        file(
            "tests/test_cart.py",
            "from shop.cart import total\n\ndef test_total():\n    assert total([1, 2]) == 3\n",
        ),
        // JavaScript: Jest `it` block.
        file(
            "src/slug.js",
            "export function slugify(s) { return s.toLowerCase(); }\nexport function unslug(s) { return s; }\n",
        ),
        file(
            "src/slug.test.js",
            "import { slugify } from './slug';\ndescribe('slug', () => {\n  it('lowercases', () => { expect(slugify('A')).toBe('a'); });\n});\n",
        ),
        // Go: TestXxx in the same package.
        file(
            "calc/add.go",
            "package calc\nfunc Add(a, b int) int { return a + b }\nfunc Sub(a, b int) int { return a - b }\n",
        ),
        file(
            "calc/add_test.go",
            "package calc\nimport \"testing\"\nfunc TestAdd(t *testing.T) { if Add(1, 2) != 3 { t.Fail() } }\n",
        ),
        // Java: JUnit 5.
        file(
            "src/main/java/a/Parser.java",
            "package a;\npublic class Parser {\n  public int parse(String s) { return s.length(); }\n  public int other() { return 0; }\n}\n",
        ),
        file(
            "src/test/java/a/ParserTest.java",
            "package a;\nimport org.junit.jupiter.api.Test;\nclass ParserTest {\n  @Test\n  void parses() { new Parser().parse(\"x\"); }\n}\n",
        ),
        // Rust: #[cfg(test)] module in the same file.
        file(
            "src/lib.rs",
            "pub fn double(x: u32) -> u32 { x * 2 }\npub fn triple(x: u32) -> u32 { x * 3 }\n#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn doubles() { assert_eq!(double(2), 4); }\n}\n",
        ),
    ]);
    let gaps = &analysis.test_gaps;
    let tested: Vec<&str> = gaps
        .tested
        .iter()
        .map(|t| t.qualified_name.as_str())
        .collect();
    for name in ["total", "slugify", "Add", "Parser.parse", "double"] {
        assert!(
            tested.contains(&name),
            "{name} should be tested: {tested:?}"
        );
    }
    let untested: Vec<&str> = gaps
        .untested
        .iter()
        .map(|u| u.qualified_name.as_str())
        .collect();
    for name in ["unused", "unslug", "Sub", "Parser.other", "triple"] {
        assert!(
            untested.contains(&name),
            "{name} should be untested: {untested:?}"
        );
    }
    // Tests themselves are not source functions.
    assert!(
        !untested
            .iter()
            .any(|n| n.contains("test") || n.contains("doubles")),
        "{untested:?}"
    );
    // Riskiest first: `unused` has a branch, the others are straight-line.
    assert_eq!(untested[0], "unused");
    for fw in ["pytest", "jest", "go test", "junit5", "cargo test"] {
        assert!(
            gaps.frameworks.iter().any(|f| f == fw),
            "{fw} not detected: {:?}",
            gaps.frameworks
        );
    }
    let total = gaps
        .tested
        .iter()
        .find(|t| t.qualified_name == "total")
        .unwrap();
    assert_eq!(total.tests[0].path, "tests/test_cart.py");
    assert_eq!(total.tests[0].test, "test_total");
    assert_eq!(gaps.source_functions, 10);
    assert_eq!(gaps.tested_functions, 5);
}

#[test]
fn rust_item_macros_are_analysed() {
    let src = "macro_rules! cfg_rt { ($($i:item)*) => { $($i)* } }\ncfg_rt! {\n    pub fn spawn(x: u32) -> u32 {\n        if x > 0 { x } else { 0 }\n    }\n}\n";
    let analysis = analyze(vec![file("src/rt.rs", src)]);
    let f = &analysis.files[0].functions;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].name.as_str(), f[0].start_line, f[0].cyclomatic),
        ("spawn", 3, 2)
    );
}

#[test]
fn include_exclude_apply_to_in_memory_files() {
    let mut config = ProjectConfig::default();
    config.analysis.exclude = vec!["gen/**".into()];
    let analysis = Analyzer::new(config).unwrap().analyze_files(vec![
        file("gen/a.py", "x = 1\n"),
        file("src/b.py", "x = 1\n"),
        file("README.md", "# not code\n"),
    ]);
    let paths: Vec<&str> = analysis.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["src/b.py"]);
}

#[test]
fn summary_totals_and_hotspots() {
    let analysis = analyze(vec![
        file(
            "a.py",
            "def simple():\n    return 1\n\ndef branchy(a, b):\n    if a and b:\n        return 1\n    return 2\n",
        ),
        file(
            "b.ts",
            "export class K {\n  m(x: number) { return x > 0 ? 1 : 0; }\n}\n",
        ),
    ]);
    let s = &analysis.summary;
    assert_eq!((s.files, s.functions, s.classes), (2, 3, 1));
    assert_eq!(s.hotspots[0].qualified_name, "branchy");
    assert_eq!(s.max_cyclomatic, 3);
    assert_eq!(s.languages.len(), 2);
}

#[test]
fn long_call_chains_with_cut_names_are_analysed() {
    // Regression: a callee longer than the cap is shortened to `…<last 160 bytes>`. When
    // the cut fell inside the receiver's last name, the N+1 rule sliced into the `…` and
    // panicked (seen on clap_builder and guava).
    // 143 bytes of balanced closure: `|x|xzz…z.map(|y|y).map(|y|y)…`.
    let maps = ".map(|y|y)".repeat(13);
    let args = format!("|x|x{}{maps}", "z".repeat(143 - 4 - maps.len()));
    let tail = format!("ter_map({args}).collect");
    assert_eq!(tail.len(), 160);
    let receiver = format!("items{}.iter().fil", ".clone()".repeat(12));
    let rust = format!(
        "fn f(items: Vec<u8>) {{\n    for _ in 0..3 {{\n        let _v: Vec<u8> = {receiver}{tail}();\n    }}\n}}\n"
    );
    let analysis = analyze(vec![file("lib.rs", &rust)]);
    // No diagnostic at all: neither a syntax error (the input is valid) nor an internal one.
    assert!(
        analysis.diagnostics.is_empty(),
        "{:?}",
        analysis.diagnostics
    );
    assert_eq!(analysis.files[0].functions.len(), 1);
}
