//! Each ecosystem's conventions for where tests live and what a test looks like.

use qa_core::Language;

use crate::lang::Call;
use crate::model::FileAnalysis;

/// Whether a path is test code by its ecosystem's conventions.
pub(crate) fn is_test_path(path: &str, language: Language) -> bool {
    let (dirs, file) = match path.rsplit_once('/') {
        Some((d, f)) => (d, f),
        None => ("", path),
    };
    let in_dir = |names: &[&str]| dirs.split('/').any(|d| names.contains(&d));
    let stem = file.split('.').next().unwrap_or(file);
    match language {
        Language::Python => {
            stem.starts_with("test_")
                || stem.ends_with("_test")
                || stem.ends_with("_tests")
                || matches!(stem, "conftest" | "tests" | "test")
                || in_dir(&["tests", "test", "testing"])
        }
        Language::JavaScript | Language::TypeScript => {
            let parts: Vec<&str> = file.split('.').collect();
            parts
                .iter()
                .skip(1)
                .any(|p| matches!(*p, "test" | "spec" | "e2e" | "cy"))
                || in_dir(&[
                    "__tests__",
                    "__mocks__",
                    "test",
                    "tests",
                    "spec",
                    "e2e",
                    "cypress",
                ])
        }
        Language::Go => file.ends_with("_test.go"),
        Language::Java => {
            dirs.contains("src/test/")
                || dirs.ends_with("src/test")
                || stem.ends_with("Test")
                || stem.ends_with("Tests")
                || stem.ends_with("IT")
                || stem
                    .strip_prefix("Test")
                    .is_some_and(|rest| rest.starts_with(char::is_uppercase))
                || in_dir(&["test", "tests"])
        }
        // Integration tests live in `tests/`; unit tests are `#[cfg(test)]` modules, found
        // while walking.
        Language::Rust => in_dir(&["tests"]),
    }
}

/// Whether a function is a test by naming conventions (frameworks that mark tests with
/// attributes or annotations are handled by the language module).
pub(crate) fn is_test_function(
    language: Language,
    name: &str,
    enclosing_class: Option<&str>,
    in_test_file: bool,
) -> bool {
    match language {
        // pytest collects `test*` functions and methods of `Test*` classes; unittest runs
        // `test*` methods of TestCase subclasses.
        Language::Python => in_test_file && name.starts_with("test"),
        Language::Go => {
            in_test_file
                && ["Test", "Benchmark", "Fuzz", "Example"].iter().any(|p| {
                    name.strip_prefix(p).is_some_and(|rest| {
                        rest.is_empty() || !rest.starts_with(char::is_lowercase)
                    })
                })
        }
        // JUnit 3 style: `testX` methods in test classes.
        Language::Java => {
            in_test_file
                && name.starts_with("test")
                && enclosing_class.is_some_and(|c| c.contains("Test"))
        }
        Language::JavaScript | Language::TypeScript | Language::Rust => false,
    }
}

/// Whether a class holds tests (its methods' references count as test references).
pub(crate) fn is_test_class(language: Language, name: &str, in_test_file: bool) -> bool {
    in_test_file
        && match language {
            Language::Python => {
                name.starts_with("Test") || name.ends_with("Test") || name.ends_with("Tests")
            }
            Language::Java => name.contains("Test"),
            _ => false,
        }
}

/// For JavaScript/TypeScript: the description of an `it(...)`/`test(...)` call, which
/// is a test case in Jest, Vitest, Mocha and Jasmine.
pub(crate) fn test_case_name(language: Language, call: &Call<'_>, src: &str) -> Option<String> {
    if !matches!(language, Language::JavaScript | Language::TypeScript) {
        return None;
    }
    let base = call.callee.split(['.', '(']).next().unwrap_or("");
    if !matches!(base, "it" | "test" | "specify" | "xit" | "fit") {
        return None;
    }
    let first = call.positional(0)?;
    let text = crate::lang::text(first, src);
    let desc = text.trim_matches(|c| c == '\'' || c == '"' || c == '`');
    Some(if desc.is_empty() {
        base.to_string()
    } else {
        desc.to_string()
    })
}

/// Methods that call their function argument once per element.
pub(crate) fn is_iteration_method(name: &str) -> bool {
    matches!(
        name,
        "forEach"
            | "map"
            | "flatMap"
            | "filter"
            | "reduce"
            | "reduceRight"
            | "some"
            | "every"
            | "find"
            | "findIndex"
            | "for_each"
            | "filter_map"
            | "flat_map"
            | "fold"
            | "all"
            | "any"
            | "try_for_each"
            | "try_fold"
    )
}

/// Test frameworks a file shows signs of.
pub(crate) fn frameworks(file: &FileAnalysis) -> Vec<&'static str> {
    let mut out = Vec::new();
    let imports = |prefix: &str| {
        file.imports.iter().any(|i| {
            i == prefix
                || i.starts_with(&format!("{prefix}."))
                || i.starts_with(&format!("{prefix}/"))
        })
    };
    match file.language {
        Language::Python if file.is_test => {
            if imports("unittest") {
                out.push("unittest");
            }
            if imports("pytest") || !imports("unittest") {
                out.push("pytest");
            }
        }
        Language::JavaScript | Language::TypeScript if file.is_test => {
            if imports("vitest") {
                out.push("vitest");
            } else if imports("mocha") || imports("chai") {
                out.push("mocha");
            } else if imports("@jest/globals") || file.refs.tests.iter().any(|t| t.is_test) {
                out.push("jest");
            }
            if imports("@playwright/test") {
                out.push("playwright");
            }
        }
        Language::Go if file.is_test => out.push("go test"),
        Language::Java => {
            if imports("org.junit.jupiter") {
                out.push("junit5");
            } else if imports("org.junit") || imports("junit.framework") {
                out.push("junit4");
            }
            if imports("org.testng") {
                out.push("testng");
            }
        }
        Language::Rust if file.refs.tests.iter().any(|t| t.is_test) => out.push("cargo test"),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_paths_by_ecosystem() {
        let py = Language::Python;
        assert!(is_test_path("tests/test_api.py", py));
        assert!(is_test_path("pkg/api_test.py", py));
        assert!(is_test_path("conftest.py", py));
        assert!(!is_test_path("pkg/api.py", py));
        assert!(!is_test_path("pkg/testing_utils_x/api.py", py));
        let js = Language::JavaScript;
        assert!(is_test_path("src/a.test.js", js));
        assert!(is_test_path("src/a.spec.ts", Language::TypeScript));
        assert!(is_test_path("src/__tests__/a.js", js));
        assert!(!is_test_path("src/latest.js", js));
        assert!(is_test_path("pkg/a_test.go", Language::Go));
        assert!(!is_test_path("pkg/a.go", Language::Go));
        assert!(is_test_path("src/test/java/a/FooTest.java", Language::Java));
        assert!(is_test_path("FooTests.java", Language::Java));
        assert!(!is_test_path("src/main/java/a/Foo.java", Language::Java));
        assert!(!is_test_path(
            "src/main/java/a/Testament.java",
            Language::Java
        ));
        assert!(is_test_path("TestParser.java", Language::Java));
        assert!(is_test_path("tests/it.rs", Language::Rust));
        assert!(!is_test_path("src/lib.rs", Language::Rust));
    }

    #[test]
    fn test_function_names() {
        assert!(is_test_function(Language::Python, "test_x", None, true));
        assert!(!is_test_function(Language::Python, "test_x", None, false));
        assert!(is_test_function(Language::Go, "TestParse", None, true));
        assert!(is_test_function(Language::Go, "Test", None, true));
        assert!(!is_test_function(Language::Go, "Testify", None, true));
        assert!(is_test_function(
            Language::Java,
            "testParse",
            Some("ParserTest"),
            true
        ));
    }
}
