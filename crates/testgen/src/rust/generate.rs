//! Generating `#[test]`s for one Rust file: probe calls built from the signatures and the
//! bodies' literals in a copy of the crate, turn what they returned or panicked with into
//! candidate tests, run the candidates against mutants of the functions, keep a greedy
//! cover of the mutants (and at least one test of each behaviour) and only tests that pass
//! 5 fresh runs. Written as an integration test (`tests/<file>_qa.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use qa_sandbox::Sandbox;

use super::cargo::{self, Work};
use super::project::{RustCrate, toolchain};
use super::render::{self, Call, Observed, TestCase};
use super::targets::{self, Target};
use crate::mutation::runner::{FunctionScore, MutantResult, MutationReport, Verdict};
use crate::python::generate::RERUNS;
use crate::python::inputs::Rng;
use crate::python::pytest::RunResult;
use crate::report::{DropReason, Dropped, Kept, ModuleReport, ModuleStatus};
use crate::select::{Candidate, greedy, verdict};
use crate::{GenerateError, GenerateOptions};

const CALLS_PER_TARGET: usize = 60;
const CANDIDATES_PER_TARGET: usize = 24;
const MAX_TESTS_PER_TARGET: usize = 10;
const MAX_MUTANTS: usize = 160;

pub fn module(sandbox: &Sandbox, file: &Path, options: &GenerateOptions) -> ModuleReport {
    crate::run_module(file, "rust", |report, started| {
        generate(sandbox, file, options, report, started)
    })
}

/// Each test's pass/fail in a run of the candidates, and whether a binary timed out.
type Outcomes = (BTreeMap<String, bool>, bool);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Mutant(u32),
    /// A function and what it did: `ok`, `err` or `panic`.
    Behaviour(String, &'static str),
}

fn generate(
    sandbox: &Sandbox,
    file: &Path,
    options: &GenerateOptions,
    report: &mut ModuleReport,
    started: Instant,
) -> Result<(), GenerateError> {
    let budget = options.budget;
    let source = crate::read_source(file, "")?;
    let krate = RustCrate::of(file)?;
    report.module = krate.path();
    report.framework = Some("cargo test".into());
    // The toolchain first: nothing is written that could not be run.
    let toolchain = toolchain()?;
    let tree = targets::parse(&source).ok_or_else(|| {
        GenerateError::Syntax(format!("in {} (tree-sitter gave up)", file.display()))
    })?;
    let found = targets::discover(&tree, &source);
    // Older syntax tree-sitter does not know (`a...b` patterns) leaves error nodes but the
    // functions around them are still found; rustc judges the rest.
    if tree.root_node().has_error() && found.targets.is_empty() && found.skipped.is_empty() {
        return Err(GenerateError::Syntax(format!(
            "in {} (tree-sitter could not parse it)",
            file.display()
        )));
    }
    let all: Vec<Target> = found
        .targets
        .iter()
        .filter(|t| options.target.as_deref().is_none_or(|w| w == t.name))
        .cloned()
        .collect();
    report.targets = all.iter().map(|t| t.name.clone()).collect();
    report.skipped_targets = found.skipped.clone();
    if all.is_empty() {
        report.status = ModuleStatus::NoTargets;
        return Ok(());
    }
    let work = Work::copy(&krate, &toolchain)?;
    if let Some(why) = cargo::fetch(&toolchain, &work, Duration::from_secs(180)) {
        add_note(report, format!("cargo fetch: {why}"));
    }
    let mut ours: Vec<String> = (0..all.len())
        .flat_map(|i| [format!("__qa_probe_{i}"), format!("__qa_candidates_{i}")])
        .collect();
    ours.extend(["__qa_candidates".to_string(), "__qa_final".to_string()]);
    work.declare_tests(&ours)?;
    let tests_dir = work.package.join("tests");
    std::fs::create_dir_all(&tests_dir).map_err(GenerateError::Io)?;
    let rel = file
        .canonicalize()
        .map_err(GenerateError::Io)?
        .strip_prefix(&krate.root)
        .map(Path::to_path_buf)
        .map_err(|_| GenerateError::Io(std::io::Error::other("file outside its crate")))?;
    let in_work = work.dir.path().join(&rel);
    let path = krate.path();
    let prelude = krate.prelude();

    // 1. Calls: each parameter over its values with the others at their first, then
    // random combinations.
    let mut rng = Rng::new(options.seed);
    let mut calls: Vec<Call> = Vec::new();
    for (ti, t) in all.iter().enumerate() {
        let pools: Vec<Vec<String>> = t
            .params
            .iter()
            .map(|(_, ty)| targets::pool(ty, &found))
            .collect();
        if pools.iter().any(Vec::is_empty) {
            continue;
        }
        let mut seen = BTreeSet::new();
        let mut add = |args: Vec<String>, calls: &mut Vec<Call>| {
            if seen.len() < CALLS_PER_TARGET && seen.insert(args.clone()) {
                calls.push(Call {
                    id: calls.len() as u32,
                    target: ti,
                    args,
                });
            }
        };
        let base: Vec<String> = pools.iter().map(|p| p[0].clone()).collect();
        add(base.clone(), &mut calls);
        for (i, p) in pools.iter().enumerate() {
            for v in p.iter().take(12) {
                let mut args = base.clone();
                args[i] = v.clone();
                add(args, &mut calls);
            }
        }
        // Two string parameters (comparisons, distances, diffs): a string against small
        // edits of itself, where such functions branch.
        let strings: Vec<usize> = t
            .params
            .iter()
            .enumerate()
            .filter(|(_, (_, ty))| matches!(ty, targets::Ty::Str | targets::Ty::String))
            .map(|(i, _)| i)
            .collect();
        if let [i, j, ..] = strings[..] {
            let owned = matches!(t.params[i].1, targets::Ty::String);
            let lit = |s: &str| {
                if owned {
                    format!("{s:?}.to_string()")
                } else {
                    format!("{s:?}")
                }
            };
            for word in ["hello", "abcdef", "ab"] {
                for edited in targets::edits(word) {
                    let mut args = base.clone();
                    args[i] = lit(word);
                    args[j] = if matches!(t.params[j].1, targets::Ty::String) {
                        format!("{edited:?}.to_string()")
                    } else {
                        format!("{edited:?}")
                    };
                    add(args, &mut calls);
                }
            }
        }
        for _ in 0..CALLS_PER_TARGET * 2 {
            let args = pools
                .iter()
                .map(|p| p[rng.below(p.len())].clone())
                .collect();
            add(args, &mut calls);
        }
    }
    report.candidates = calls.len();
    let probe_names: Vec<String> = (0..all.len()).map(|i| format!("__qa_probe_{i}")).collect();
    let mut import: BTreeMap<String, String> =
        all.iter().map(|t| (t.name.clone(), path.clone())).collect();
    let write_probes =
        |import: &BTreeMap<String, String>, which: &[usize]| -> Result<(), GenerateError> {
            for &ti in which {
                let t = &all[ti];
                let mine: Vec<&Call> = calls.iter().filter(|c| c.target == ti).collect();
                std::fs::write(
                    tests_dir.join(format!("{}.rs", probe_names[ti])),
                    render::probe(&prelude, &import[&t.name], t, &mine),
                )
                .map_err(GenerateError::Io)?;
            }
            Ok(())
        };
    write_probes(&import, &(0..all.len()).collect::<Vec<_>>())?;
    // The first build compiles the crate and its dependencies: it may take longer than
    // the budget on its own, and is counted in the wall time reported.
    let (mut binaries, mut errors) = cargo::build(
        sandbox,
        &toolchain,
        &work,
        &probe_names,
        budget.max(Duration::from_secs(180)),
    )?;
    // A private module whose functions the crate root re-exports (`pub use imp::*`):
    // import them from the root instead.
    let retry: Vec<usize> = (0..all.len())
        .filter(|ti| !binaries.contains_key(&probe_names[*ti]) && !krate.module_path.is_empty())
        .collect();
    if !retry.is_empty() {
        for &ti in &retry {
            import.insert(all[ti].name.clone(), krate.name.clone());
        }
        write_probes(&import, &retry)?;
        let names: Vec<String> = retry.iter().map(|ti| probe_names[*ti].clone()).collect();
        let (b, e) = cargo::build(sandbox, &toolchain, &work, &names, Duration::from_secs(120))?;
        for n in &names {
            if let Some(bin) = b.get(n) {
                binaries.insert(n.clone(), bin.clone());
                errors.remove(n);
            } else if let Some(err) = e.get(n) {
                errors.insert(n.clone(), err.clone());
            }
        }
    }
    let mut observed: BTreeMap<u32, Observed> = BTreeMap::new();
    for (ti, t) in all.iter().enumerate() {
        let name = &probe_names[ti];
        let Some(bin) = binaries.get(name) else {
            let why = errors
                .get(name)
                .cloned()
                .unwrap_or_else(|| "did not build".into());
            report.skipped_targets.push((
                t.name.clone(),
                format!("calling it does not compile: {}", first_line(&why)),
            ));
            continue;
        };
        // A call that hangs is left out and the probe runs again on the calls after it.
        let mut remaining: Vec<&Call> = calls.iter().filter(|c| c.target == ti).collect();
        let mut bin = bin.clone();
        let mut hung: Vec<String> = Vec::new();
        for attempt in 0..6 {
            if attempt > 0 {
                std::fs::write(
                    tests_dir.join(format!("{name}.rs")),
                    render::probe(&prelude, &import[&t.name], t, &remaining),
                )
                .map_err(GenerateError::Io)?;
                let (b, _) = cargo::build(
                    sandbox,
                    &toolchain,
                    &work,
                    std::slice::from_ref(name),
                    Duration::from_secs(60),
                )?;
                let Some(b) = b.get(name) else { break };
                bin = b.clone();
            }
            let out_file = work.dir.path().join(render::PROBE_OUT);
            let _ = std::fs::remove_file(&out_file);
            let run = cargo::run(
                sandbox,
                &work,
                &bin,
                &["--test-threads=1"],
                Duration::from_secs(5),
            )?;
            let got = render::parse_probe(&std::fs::read_to_string(&out_file).unwrap_or_default());
            let seen: BTreeSet<u32> = got.iter().map(|(id, _)| *id).collect();
            observed.extend(got);
            remaining.retain(|c| !seen.contains(&c.id));
            if !run.timed_out || remaining.is_empty() {
                break;
            }
            hung.push(remaining.remove(0).expr(t));
            if remaining.is_empty() {
                break;
            }
        }
        if let Some(first) = hung.first() {
            report.skipped_targets.push((
                t.name.clone(),
                format!(
                    "{} call(s) did not return within 5 s and were left out (an infinite loop?), first `{first}`",
                    hung.len()
                ),
            ));
        }
        let _ = std::fs::remove_file(tests_dir.join(format!("{name}.rs")));
    }

    // 2. Candidate tests, at most CANDIDATES_PER_TARGET per function, distinct outcomes
    // first.
    let mut taken = BTreeSet::new();
    let mut candidates: Vec<(TestCase, usize, Observed)> = Vec::new();
    for (ti, t) in all.iter().enumerate() {
        let mut outcomes_seen = BTreeSet::new();
        // Distinct outcomes first (in call order), then shorter calls.
        let mut mine: Vec<(bool, &Call, &Observed)> = calls
            .iter()
            .filter(|c| c.target == ti)
            .filter_map(|c| observed.get(&c.id).map(|o| (c, o)))
            .map(|(c, o)| (!outcomes_seen.insert(format!("{o:?}")), c, o))
            .collect();
        mine.sort_by_key(|(repeat, c, _)| (*repeat, c.args.join(",").len()));
        for (_, c, o) in mine.into_iter().take(CANDIDATES_PER_TARGET * 2) {
            if candidates.iter().filter(|(_, i, _)| *i == ti).count() >= CANDIDATES_PER_TARGET {
                break;
            }
            if let Some((attrs, body)) = render::test_body(t, c, o) {
                let name = render::test_name(t, c, o, &mut taken);
                candidates.push((
                    TestCase {
                        name,
                        target: t.name.clone(),
                        attrs,
                        body,
                    },
                    ti,
                    o.clone(),
                ));
            }
        }
    }
    if candidates.is_empty() {
        report.status = ModuleStatus::NothingKept;
        report.problem = Some("no call returned a value or panic that can be asserted".into());
        return Ok(());
    }
    let header = format!(
        "//! Tests of `{path}` written by qa-agent ({}): each passed {RERUNS} fresh runs and\n//! catches a fault (a mutant of the code) or a behaviour the other tests here do not.\n",
        toolchain.version
    );
    // A file per function first, so that one that does not compile costs only its own
    // tests; then all that compiled in one file, one binary to build per mutant.
    let cand_names: Vec<String> = (0..all.len())
        .map(|i| format!("__qa_candidates_{i}"))
        .collect();
    let mut built: Vec<String> = Vec::new();
    for (ti, name) in cand_names.iter().enumerate() {
        let mine: Vec<&TestCase> = candidates
            .iter()
            .filter(|(_, i, _)| *i == ti)
            .map(|(c, ..)| c)
            .collect();
        if !mine.is_empty() {
            std::fs::write(
                tests_dir.join(format!("{name}.rs")),
                render::file(&header, &prelude, &import, &mine),
            )
            .map_err(GenerateError::Io)?;
            built.push(name.clone());
        }
    }
    let run_all = |built: &[String], wall: Duration| -> Result<Option<Outcomes>, GenerateError> {
        let (bins, _) = cargo::build(sandbox, &toolchain, &work, built, wall)?;
        if bins.is_empty() {
            return Ok(None);
        }
        let mut results = BTreeMap::new();
        let mut timed_out = false;
        for bin in bins.values() {
            let r = cargo::run(
                sandbox,
                &work,
                bin,
                &["--test-threads=2"],
                Duration::from_secs(15),
            )?;
            timed_out |= r.timed_out;
            results.extend(r.results);
        }
        Ok(Some((results, timed_out)))
    };
    let Some((baseline, _)) = run_all(&built, Duration::from_secs(120))? else {
        return Err(GenerateError::ValidationCrashed(
            "the candidate tests did not compile".into(),
        ));
    };
    for n in &built {
        let _ = std::fs::remove_file(tests_dir.join(format!("{n}.rs")));
    }
    let passing: Vec<&TestCase> = candidates
        .iter()
        .map(|(c, ..)| c)
        .filter(|c| baseline.get(&c.name) == Some(&true))
        .collect();
    let combined = vec!["__qa_candidates".to_string()];
    std::fs::write(
        tests_dir.join("__qa_candidates.rs"),
        render::file(&header, &prelude, &import, &passing),
    )
    .map_err(GenerateError::Io)?;
    let mut dropped_early: BTreeMap<String, String> = BTreeMap::new();
    for (c, ..) in &candidates {
        match baseline.get(&c.name) {
            Some(true) => {}
            Some(false) => {
                dropped_early.insert(c.name.clone(), "failed against the unchanged code".into());
            }
            None => {
                dropped_early.insert(c.name.clone(), "did not compile or run".into());
            }
        }
    }

    // 3. Mutants: which candidates notice each.
    // Mutants of what the functions under test can reach: themselves and the file's
    // functions they call, directly or not (by name).
    let reachable = targets::reachable(&tree, &source, &all);
    let mut mutants = targets::mutants(&tree, &source, &reachable);
    if mutants.len() > MAX_MUTANTS {
        let step = mutants.len() as f64 / MAX_MUTANTS as f64;
        mutants = (0..MAX_MUTANTS)
            .map(|i| mutants[(i as f64 * step) as usize].clone())
            .collect();
    }
    report.mutants_in_harness = mutants.len();
    // In a seeded random order: when the budget ends, the mutants run are a sample of all
    // the functions, not the first ones in the file.
    for i in (1..mutants.len()).rev() {
        let j = rng.below(i + 1);
        mutants.swap(i, j);
    }
    let mutate_until = started + budget.mul_f64(0.8);
    let mut kills: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    let mut timed: BTreeSet<u32> = BTreeSet::new();
    let mut ran: BTreeSet<u32> = BTreeSet::new();
    let mut invalid = 0usize;
    for m in &mutants {
        if Instant::now() >= mutate_until {
            break;
        }
        std::fs::write(&in_work, m.apply(&source)).map_err(GenerateError::Io)?;
        let left = mutate_until
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(20));
        match run_all(&combined, left)? {
            None => invalid += 1,
            Some((results, timed_out)) => {
                ran.insert(m.id);
                if timed_out {
                    timed.insert(m.id);
                }
                let killers: BTreeSet<String> = candidates
                    .iter()
                    .filter(|(c, ..)| !dropped_early.contains_key(&c.name))
                    .filter(|(c, ..)| results.get(&c.name) != Some(&true))
                    .map(|(c, ..)| c.name.clone())
                    .collect();
                kills.insert(m.id, killers);
            }
        }
    }
    std::fs::write(&in_work, &source).map_err(GenerateError::Io)?;

    // 4. A greedy cover of killed mutants and behaviours.
    let pool: Vec<Candidate<String, Item>> = candidates
        .iter()
        .filter(|(c, ..)| !dropped_early.contains_key(&c.name))
        .map(|(c, ti, o)| {
            let mut items: BTreeSet<Item> = kills
                .iter()
                .filter(|(_, k)| k.contains(&c.name))
                .map(|(id, _)| Item::Mutant(*id))
                .collect();
            let kind = match o {
                Observed::Panic(_) => "panic",
                Observed::Value(v) if v.starts_with("Err(") => "err",
                Observed::Value(_) => "ok",
            };
            items.insert(Item::Behaviour(all[*ti].name.clone(), kind));
            Candidate {
                case: c.name.clone(),
                target: c.target.clone(),
                items,
                penalty: 0,
                len: c.body.len(),
            }
        })
        .collect();
    let chosen = greedy(pool, MAX_TESTS_PER_TARGET);
    let chosen_names: BTreeSet<String> = chosen.iter().map(|c| c.case.clone()).collect();
    let mut new_kills: BTreeMap<String, usize> = BTreeMap::new();
    {
        let mut covered: BTreeSet<u32> = BTreeSet::new();
        for c in &chosen {
            let mine: BTreeSet<u32> = c
                .items
                .iter()
                .filter_map(|i| {
                    if let Item::Mutant(id) = i {
                        Some(*id)
                    } else {
                        None
                    }
                })
                .collect();
            new_kills.insert(c.case.clone(), mine.difference(&covered).count());
            covered.extend(mine);
        }
    }

    // 5. Validation: the chosen tests in their final file, RERUNS fresh processes.
    let final_name = "__qa_final".to_string();
    let _ = std::fs::remove_file(tests_dir.join("__qa_candidates.rs"));
    let kept_cases: Vec<&TestCase> = candidates
        .iter()
        .map(|(c, ..)| c)
        .filter(|c| chosen_names.contains(&c.name))
        .collect();
    std::fs::write(
        tests_dir.join(format!("{final_name}.rs")),
        render::file(&header, &prelude, &import, &kept_cases),
    )
    .map_err(GenerateError::Io)?;
    let (bins, errors) = cargo::build(
        sandbox,
        &toolchain,
        &work,
        std::slice::from_ref(&final_name),
        Duration::from_secs(120),
    )?;
    let mut runs: BTreeMap<String, Vec<RunResult>> = BTreeMap::new();
    if let Some(bin) = bins.get(&final_name) {
        for i in 0..RERUNS {
            let threads = format!("--test-threads={}", 1 + i % 2);
            let r = cargo::run(
                sandbox,
                &work,
                bin,
                &[threads.as_str()],
                Duration::from_secs(30),
            )?;
            for c in &kept_cases {
                runs.entry(c.name.clone())
                    .or_default()
                    .push(match r.results.get(&c.name) {
                        Some(true) => RunResult::Passed,
                        Some(false) => RunResult::Failed("failed".into()),
                        None => RunResult::Failed(if r.timed_out {
                            "timed out".into()
                        } else {
                            "not run".into()
                        }),
                    });
            }
        }
    } else {
        return Err(GenerateError::ValidationCrashed(format!(
            "the chosen tests did not compile: {}",
            errors.get(&final_name).cloned().unwrap_or_default()
        )));
    }
    let mut kept_final: Vec<&TestCase> = Vec::new();
    for (c, ..) in &candidates {
        if let Some(why) = dropped_early.get(&c.name) {
            report.dropped.push(Dropped {
                name: c.name.clone(),
                target: c.target.clone(),
                reason: DropReason::Failed {
                    message: why.clone(),
                },
                source: c.body.clone(),
            });
            continue;
        }
        let results = runs.get(&c.name).cloned().unwrap_or_default();
        let chosen = chosen_names.contains(&c.name);
        let why = if chosen {
            verdict(&results, RERUNS, true, true)
        } else {
            Some(DropReason::NoGain)
        };
        match why {
            None => {
                kept_final.push(c);
                report.kept.push(Kept {
                    name: c.name.clone(),
                    target: c.target.clone(),
                    written_by: "qa-agent".into(),
                    new_arcs: 0,
                    new_mutants_killed: new_kills.get(&c.name).copied().unwrap_or(0),
                });
            }
            Some(reason) => report.dropped.push(Dropped {
                name: c.name.clone(),
                target: c.target.clone(),
                reason,
                source: c.body.clone(),
            }),
        }
    }
    report.validation_runs = RERUNS;

    // 6. The mutation score of the kept tests over the mutants that ran.
    let functions = targets::functions(&tree, &source);
    let kept_names: BTreeSet<&str> = kept_final.iter().map(|c| c.name.as_str()).collect();
    let mut results = Vec::new();
    let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for m in mutants.iter().filter(|m| ran.contains(&m.id)) {
        let killed = kills
            .get(&m.id)
            .is_some_and(|k| k.iter().any(|n| kept_names.contains(n.as_str())));
        let function = functions
            .iter()
            .find(|(_, a, b)| (*a..=*b).contains(&m.line))
            .map(|(n, ..)| n.clone());
        if let Some(f) = &function {
            let e = per.entry(f.clone()).or_default();
            e.0 += usize::from(killed);
            e.1 += 1;
        }
        results.push(MutantResult {
            mutant: m.clone(),
            function,
            verdict: match (killed, timed.contains(&m.id)) {
                (true, true) => Verdict::TimedOut,
                (true, false) => Verdict::Killed,
                _ => Verdict::Survived,
            },
        });
    }
    let killed = results
        .iter()
        .filter(|r| r.verdict != Verdict::Survived)
        .count();
    let total = results.len();
    report.mutation = Some(MutationReport {
        module: path.clone(),
        file: file.to_path_buf(),
        total: total + (mutants.len() - ran.len() - invalid),
        killed,
        survived: total - killed,
        not_covered: 0,
        skipped: mutants.len() - ran.len() - invalid,
        score: (total > 0).then(|| killed as f64 / total as f64),
        per_function: per
            .into_iter()
            .map(|(function, (killed, total))| FunctionScore {
                function,
                killed,
                total,
            })
            .collect(),
        results,
        wall_seconds: 0.0,
        sandbox: sandbox.mode(),
    });
    if invalid > 0 {
        report.mutation_problem = Some(format!(
            "{invalid} mutants did not compile and are not counted"
        ));
    }

    // 7. The file.
    if kept_final.is_empty() {
        report.status = ModuleStatus::NothingKept;
        return Ok(());
    }
    report.status = ModuleStatus::Generated;
    report.test_source = render::file(&header, &prelude, &import, &kept_final);
    let stem = if krate.module_path.is_empty() {
        krate.name.clone()
    } else {
        krate.module_path.join("_")
    };
    let name = format!("{stem}_qa.rs");
    report.test_file_name = Some(name.clone());
    if options.write {
        let dir = options
            .out_dir
            .clone()
            .unwrap_or_else(|| krate.package.join("tests"));
        std::fs::create_dir_all(&dir).map_err(GenerateError::Io)?;
        let out = dir.join(&name);
        std::fs::write(&out, &report.test_source).map_err(GenerateError::Io)?;
        report.test_file = Some(out);
    }
    Ok(())
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| l.trim_start().starts_with("error"))
        .unwrap_or_else(|| s.lines().next().unwrap_or(""))
        .to_string()
}

/// A note for the report that does not stop generation.
fn add_note(report: &mut ModuleReport, note: String) {
    report.problem = Some(match report.problem.take() {
        Some(p) => format!("{p}; {note}"),
        None => note,
    });
}
