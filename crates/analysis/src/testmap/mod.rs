//! Test gaps: which source functions some test references, and which untested ones matter
//! most.
//!
//! While walking a file the engine records, for test code, the names each test (or test
//! helper) references, and for source code how often each name is called (fan-in). This
//! module joins the two over the repository. See `docs/analysis.md#test-mapping` for the
//! matching rules and the risk score.

pub(crate) mod conventions;

use std::collections::{HashMap, HashSet};

use crate::model::{FileAnalysis, FunctionKind, TestGaps, TestRef, TestedFunction, UntestedFunction};

/// References a test unit (a test function, a JavaScript `it` block, a helper in a test
/// file) makes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TestUnit {
    pub name: String,
    pub line: u32,
    pub is_test: bool,
    pub refs: HashSet<Box<str>>,
}

impl TestUnit {
    pub fn new(name: String, line: u32, is_test: bool) -> TestUnit {
        TestUnit {
            name,
            line,
            is_test,
            refs: HashSet::new(),
        }
    }
}

/// Names a file references, kept in memory only (not part of the JSON report).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FileRefs {
    /// Call counts by callee name, from non-test code.
    pub calls: HashMap<Box<str>, u32>,
    pub tests: Vec<TestUnit>,
}

/// How many untested functions to list, riskiest first.
pub const MAX_UNTESTED: usize = 500;

/// Joins test references with source functions over the whole repository.
pub(crate) fn map_tests(files: &[FileAnalysis]) -> TestGaps {
    // Fan-in: calls to each name from non-test code anywhere.
    let mut fan_in: HashMap<&str, u32> = HashMap::new();
    for f in files {
        for (name, n) in &f.refs.calls {
            *fan_in.entry(name).or_insert(0) += n;
        }
    }
    // Source functions by the names a test would use to reach them.
    let mut by_name: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
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
    let mut tested: HashMap<(usize, usize), Vec<TestRef>> = HashMap::new();
    let mut test_functions = 0u32;
    let mut frameworks: HashSet<&'static str> = HashSet::new();
    for (ti, tf) in files.iter().enumerate() {
        for fw in conventions::frameworks(tf) {
            frameworks.insert(fw);
        }
        for unit in &tf.refs.tests {
            test_functions += u32::from(unit.is_test);
            for name in &unit.refs {
                let Some(candidates) = by_name.get(name.as_ref()) else {
                    continue;
                };
                // A name several functions share counts only for those whose file the
                // test file is related to (imports it, is named after it, or sits in the
                // same package).
                let chosen: Vec<(usize, usize)> = if candidates.len() == 1 {
                    candidates.clone()
                } else {
                    candidates
                        .iter()
                        .copied()
                        .filter(|(fi, _)| conventions::related(&files[ti], &files[*fi]))
                        .collect()
                };
                for key in chosen {
                    let refs = tested.entry(key).or_default();
                    if !refs.iter().any(|r| r.path == tf.path && r.test == unit.name) {
                        refs.push(TestRef {
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
            if let Some(mut tests) = tested.remove(&(fi, gi)) {
                tests.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
                tested_list.push(TestedFunction {
                    path: f.path.clone(),
                    qualified_name: func.qualified_name.clone(),
                    start_line: func.start_line,
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
    if func.kind == FunctionKind::Constructor || func.name == "new" || func.name == "__new__" {
        if let Some((owner, _)) = func.qualified_name.rsplit_once('.') {
            names.push(owner.rsplit('.').next().unwrap_or(owner));
        }
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
