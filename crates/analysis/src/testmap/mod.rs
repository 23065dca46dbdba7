//! Test gaps: which source functions some test references, and which untested ones matter
//! most.
//!
//! While walking a file the engine records, for test code, the names each test (or test
//! helper) references, and for source code how often each name is called (fan-in). This
//! module joins the two over the repository. See `docs/analysis.md#test-mapping` for the
//! matching rules and the risk score.

pub(crate) mod conventions;

use std::collections::HashSet;

use rustc_hash::FxHashMap as HashMap;

use crate::model::{
    FileAnalysis, FunctionKind, TestGaps, TestRef, TestedFunction, UntestedFunction,
};

/// References a test unit (a test function, a JavaScript `it` block, a helper in a test
/// file) makes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TestUnit {
    pub name: String,
    pub line: u32,
    pub is_test: bool,
    /// Indexes into [`FileRefs::names`], sorted and without duplicates once the file is
    /// walked.
    pub refs: Vec<u32>,
}

impl TestUnit {
    pub fn new(name: String, line: u32, is_test: bool) -> TestUnit {
        TestUnit {
            name,
            line,
            is_test,
            refs: Vec::new(),
        }
    }
}

/// Names a file references, kept in memory only (not part of the JSON report).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FileRefs {
    /// Call counts by callee name, from non-test code.
    pub calls: HashMap<Box<str>, u32>,
    /// Names referenced from test code, each stored once per file.
    pub names: Vec<Box<str>>,
    pub tests: Vec<TestUnit>,
}

impl FileRefs {
    /// Sorts and de-duplicates every unit's references.
    pub fn finish(&mut self) {
        for t in &mut self.tests {
            t.refs.sort_unstable();
            t.refs.dedup();
        }
    }
}

/// How many untested functions to list, riskiest first.
pub const MAX_UNTESTED: usize = 500;

/// How many referencing tests to list per tested function (all are counted).
pub const MAX_TESTS_LISTED: usize = 10;

/// What decides whether a test file relates to a source file, computed once per file.
struct FileKeys<'a> {
    dir: &'a str,
    stem: &'a str,
    /// The module name a test would import: the stem, or the directory for package
    /// entry files (`__init__.py`, `index.js`, `mod.rs`, `lib.rs`, `main.go`).
    module: &'a str,
    /// A test file's stem without test markers (`test_parser` → `parser`).
    tested_stem: String,
    import_segments: HashSet<&'a str>,
}

impl<'a> FileKeys<'a> {
    fn new(f: &'a FileAnalysis) -> FileKeys<'a> {
        let (dir, file) = f.path.rsplit_once('/').unwrap_or(("", f.path.as_str()));
        let stem = file.split('.').next().unwrap_or(file);
        let module = if matches!(stem, "__init__" | "index" | "mod" | "lib" | "main") {
            dir.rsplit('/').next().unwrap_or(dir)
        } else {
            stem
        };
        let tested_stem = stem
            .trim_start_matches("test_")
            .trim_end_matches("_test")
            .trim_end_matches("_tests")
            .trim_end_matches("Tests")
            .trim_end_matches("Test")
            .to_ascii_lowercase();
        let import_segments = f
            .imports
            .iter()
            .flat_map(|i| i.split(['.', '/', ':']))
            .filter(|s| !s.is_empty())
            .collect();
        FileKeys {
            dir,
            stem,
            module,
            tested_stem,
            import_segments,
        }
    }
}

/// Whether a test file plausibly exercises a source file: it imports its module, is named
/// after it, or shares its directory (Go packages, Rust inline tests).
fn related(test: &FileAnalysis, t: &FileKeys<'_>, source: &FileAnalysis, s: &FileKeys<'_>) -> bool {
    test.path == source.path
        || (test.language == qa_core::Language::Go && t.dir == s.dir)
        || (!t.tested_stem.is_empty() && t.tested_stem.eq_ignore_ascii_case(s.stem))
        || t.import_segments.contains(s.module)
}

/// Tests found for one function: how many, and the first few.
#[derive(Default)]
struct Found {
    count: u32,
    refs: Vec<TestRef>,
    last: Option<(usize, usize)>,
}

/// Joins test references with source functions over the whole repository.
pub(crate) fn map_tests(files: &[FileAnalysis]) -> TestGaps {
    // Fan-in: calls to each name from non-test code anywhere.
    let mut fan_in: HashMap<&str, u32> = HashMap::default();
    for f in files {
        for (name, n) in &f.refs.calls {
            *fan_in.entry(name).or_insert(0) += n;
        }
    }
    // Source functions by the names a test would use to reach them.
    let mut by_name: HashMap<&str, Vec<(usize, usize)>> = HashMap::default();
    let mut source_count = 0u32;
    for (fi, f) in files.iter().enumerate() {
        if f.is_test {
            continue;
        }
        for (gi, func) in f.functions.iter().enumerate() {
            if func.is_test || func.kind == FunctionKind::Anonymous {
                continue;
            }
            source_count += 1;
            for name in reference_names(f, gi) {
                by_name.entry(name).or_default().push((fi, gi));
            }
        }
    }
    let keys: Vec<FileKeys> = files.iter().map(FileKeys::new).collect();
    let mut tested: HashMap<(usize, usize), Found> = HashMap::default();
    let mut test_functions = 0u32;
    let mut frameworks: HashSet<&'static str> = HashSet::new();
    for (ti, tf) in files.iter().enumerate() {
        for fw in conventions::frameworks(tf) {
            frameworks.insert(fw);
        }
        if tf.refs.tests.is_empty() {
            continue;
        }
        // Relations of this test file to source files, computed on first use.
        let mut relation: HashMap<usize, bool> = HashMap::default();
        for (ui, unit) in tf.refs.tests.iter().enumerate() {
            test_functions += u32::from(unit.is_test);
            for &id in &unit.refs {
                let Some(candidates) = by_name.get(tf.refs.names[id as usize].as_ref()) else {
                    continue;
                };
                // A name several functions share counts for those whose file the test
                // file is related to (imports it, is named after it, or sits in the same
                // package); when none is, for all of them, since claiming "untested"
                // wrongly is worse than missing a gap.
                let mut is_related = |fi: usize| {
                    *relation
                        .entry(fi)
                        .or_insert_with(|| related(tf, &keys[ti], &files[fi], &keys[fi]))
                };
                let any_related =
                    candidates.len() > 1 && candidates.iter().any(|(fi, _)| is_related(*fi));
                for &(fi, gi) in candidates {
                    if any_related && !is_related(fi) {
                        continue;
                    }
                    let found = tested.entry((fi, gi)).or_default();
                    if found.last == Some((ti, ui)) {
                        continue;
                    }
                    found.last = Some((ti, ui));
                    found.count += 1;
                    if found.refs.len() < MAX_TESTS_LISTED {
                        found.refs.push(TestRef {
                            path: tf.path.clone(),
                            test: unit.name.clone(),
                            line: unit.line,
                        });
                    }
                }
            }
        }
    }
    let mut untested = Vec::new();
    let mut tested_list = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        if f.is_test {
            continue;
        }
        for (gi, func) in f.functions.iter().enumerate() {
            if func.is_test || func.kind == FunctionKind::Anonymous {
                continue;
            }
            if let Some(found) = tested.remove(&(fi, gi)) {
                let mut tests = found.refs;
                // Real tests before helpers and module-level code.
                tests.sort_by(|a, b| {
                    (a.test.starts_with('<'), &a.path, a.line).cmp(&(
                        b.test.starts_with('<'),
                        &b.path,
                        b.line,
                    ))
                });
                tested_list.push(TestedFunction {
                    path: f.path.clone(),
                    qualified_name: func.qualified_name.clone(),
                    start_line: func.start_line,
                    test_count: found.count,
                    tests,
                });
                continue;
            }
            let fan = fan_in.get(func.name.as_str()).copied().unwrap_or(0);
            untested.push(UntestedFunction {
                path: f.path.clone(),
                qualified_name: func.qualified_name.clone(),
                start_line: func.start_line,
                cyclomatic: func.cyclomatic,
                cognitive: func.cognitive,
                nloc: func.nloc,
                fan_in: fan,
                is_public: func.is_public,
                risk: risk(func.cyclomatic, func.cognitive, fan, func.is_public),
            });
        }
    }
    untested.sort_by(|a, b| {
        b.risk
            .total_cmp(&a.risk)
            .then_with(|| a.path.cmp(&b.path))
            .then(a.start_line.cmp(&b.start_line))
    });
    untested.truncate(MAX_UNTESTED);
    let tested_count = tested_list.len() as u32;
    let mut frameworks: Vec<String> = frameworks.into_iter().map(String::from).collect();
    frameworks.sort();
    TestGaps {
        frameworks,
        test_functions,
        source_functions: source_count,
        tested_functions: tested_count,
        tested_ratio: (source_count > 0).then(|| f64::from(tested_count) / f64::from(source_count)),
        untested,
        tested: tested_list,
    }
}

/// Names by which a test reaches a function: its own name, and for constructors the
/// class name (`Foo(...)`, `new Foo(...)`).
fn reference_names(file: &FileAnalysis, index: usize) -> Vec<&str> {
    let func = &file.functions[index];
    let mut names = vec![func.name.as_str()];
    if (func.kind == FunctionKind::Constructor || func.name == "new" || func.name == "__new__")
        && let Some((owner, _)) = func.qualified_name.rsplit_once('.')
    {
        names.push(owner.rsplit('.').next().unwrap_or(owner));
    }
    names
}

/// Risk of leaving a function untested: how hard it is to get right times how much depends
/// on it.
///
/// `risk = (cyclomatic + cognitive / 2) × (1 + log2(1 + fan_in)) × (1.0 if public else 0.6)`
///
/// Complexity is the number of paths a test has to cover; fan-in (call sites elsewhere in
/// the code) is how far a bug spreads, damped logarithmically so that a helper called from
/// a hundred places does not drown everything else; private functions are usually reached
/// through public ones, so they weigh less.
pub fn risk(cyclomatic: u32, cognitive: u32, fan_in: u32, is_public: bool) -> f64 {
    let complexity = f64::from(cyclomatic) + f64::from(cognitive) / 2.0;
    let exposure = 1.0 + (1.0 + f64::from(fan_in)).log2();
    let visibility = if is_public { 1.0 } else { 0.6 };
    (complexity * exposure * visibility * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_grows_with_complexity_and_fan_in() {
        assert!(risk(10, 10, 0, true) > risk(2, 0, 0, true));
        assert!(risk(5, 5, 8, true) > risk(5, 5, 0, true));
        assert!(risk(5, 5, 0, true) > risk(5, 5, 0, false));
        assert_eq!(risk(1, 0, 0, true), 1.0);
        assert_eq!(risk(1, 0, 1, true), 2.0);
    }
}
