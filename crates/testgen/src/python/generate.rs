//! Generating tests for one Python module: explore, score against mutants, select, write,
//! validate, measure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use qa_analysis::{Analyzer, ProjectConfig, SourceFile};
use qa_sandbox::Sandbox;

use super::harness::{self, MutantPlan, Observed};
use super::inputs::{CallSpec, Memory, Rng, propose, record_worked};
use super::oracle::oracles;
use super::project::{ModuleLocation, project_root, tests_dir};
use super::pytest;
use super::render::{Renderer, TestCase};
use super::signature::{self, FunctionSig};
use crate::report::{Dropped, Kept, ModuleReport, ModuleStatus};
use crate::select::{Candidate, greedy, verdict};
use crate::{GenerateError, GenerateOptions};

/// Runs each kept test this many times, each in a fresh process with its own hash seed.
pub const RERUNS: u32 = 5;
const MAX_TESTS_PER_TARGET: usize = 30;

pub fn module(sandbox: &Sandbox, file: &Path, options: &GenerateOptions) -> ModuleReport {
    crate::run_module(file, "python", |report, started| {
        generate(sandbox, file, options, report, started)
    })
}

fn generate(
    sandbox: &Sandbox,
    file: &Path,
    options: &GenerateOptions,
    report: &mut ModuleReport,
    started: Instant,
) -> Result<(), GenerateError> {
    let budget = options.budget;
    let deadline = started + budget;
    let source = crate::read_source(file, " (a binary or a C extension?)")?;
    let location = ModuleLocation::of(file).map_err(GenerateError::Io)?;
    report.framework = Some("pytest".into());
    report.module = location.module.clone();

    // What to test: the analysis engine's public functions, with the signature details.
    let analysis = Analyzer::new(ProjectConfig::default())
        .map_err(|e| GenerateError::Analysis(e.to_string()))?
        .analyze_files(vec![SourceFile {
            path: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes: source.as_bytes().to_vec(),
        }]);
    if let Some(d) = analysis
        .diagnostics
        .iter()
        .find(|d| matches!(d.kind, qa_analysis::DiagnosticKind::SyntaxError))
    {
        return Err(GenerateError::Syntax(format!(
            "at line {}",
            d.line.unwrap_or(0)
        )));
    }
    let Some(analysed) = analysis.files.first() else {
        return Err(GenerateError::Analysis(
            "the analysis engine skipped the file".into(),
        ));
    };
    let module =
        signature::parse(&source).ok_or_else(|| GenerateError::Syntax("unparsable".into()))?;
    let public: BTreeSet<&str> = analysed
        .functions
        .iter()
        .filter(|f| f.is_public && !f.is_test)
        .map(|f| f.qualified_name.as_str())
        .collect();
    let mut targets: Vec<&FunctionSig> = Vec::new();
    for f in &module.functions {
        let name = f.qualified.rsplit('.').next().unwrap_or("");
        let wanted = match &options.target {
            Some(t) => {
                f.qualified == *t || f.class.as_deref() == Some(t.as_str()) || *t == location.module
            }
            None => true,
        };
        // Private and dunder functions only when asked for by name.
        let named = options.target.as_deref() == Some(f.qualified.as_str());
        let known = analysed
            .functions
            .iter()
            .any(|a| a.qualified_name == f.qualified && !a.is_test);
        if !wanted
            || !known
            || (!named && (name.starts_with('_') || !public.contains(f.qualified.as_str())))
        {
            continue;
        }
        if f.is_async {
            report.skipped_targets.push((
                f.qualified.clone(),
                "async functions are not generated yet".into(),
            ));
            continue;
        }
        targets.push(f);
    }
    report.targets = targets.iter().map(|f| f.qualified.clone()).collect();
    if targets.is_empty() {
        report.status = ModuleStatus::NoTargets;
        return Ok(());
    }

    // 1. Explore: rounds of calls, each run twice with different hash seeds.
    let mut rng = Rng::new(options.seed);
    let mut next_id = 0u32;
    let mut specs: HashMap<u32, CallSpec> = HashMap::new();
    let mut seen: HashMap<u32, Observed> = HashMap::new();
    let mut arcs_seen: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut quiet_rounds = 0;
    let mut memory = Memory::default();
    let explore_until = started + budget.mul_f64(0.4);
    let mut bad_calls: BTreeSet<u32> = BTreeSet::new();
    // Rounds are cheap (a harness process runs hundreds of calls in a fraction of a second):
    // explore until the share of the budget is spent or many rounds in a row add nothing.
    let mut first_random_id = u32::MAX;
    for round in 0..200u32 {
        if round == 1 {
            first_random_id = next_id;
        }
        if Instant::now() >= explore_until || quiet_rounds >= 40 || report.candidates >= 8000 {
            break;
        }
        let mut batch: Vec<CallSpec> = Vec::new();
        for f in &targets {
            batch.extend(propose(
                f,
                &module,
                round,
                &mut rng,
                &mut next_id,
                20,
                &memory,
            ));
        }
        let before = arcs_seen.len();
        let left = explore_until
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(5));
        let observed = observe_twice(sandbox, &location, &batch, left, &mut bad_calls)?;
        report.candidates += batch.len();
        for o in observed {
            arcs_seen.extend(o.arcs.iter().copied());
            if let Some(v) = &o.value
                && o.exc.is_none()
            {
                memory.record_returned(v);
            }
            if o.exc.is_none()
                && let Some(spec) = batch.iter().find(|s| s.id == o.id)
                && let Some(f) = targets.iter().find(|f| f.qualified == spec.target)
            {
                record_worked(&mut memory.worked, spec, f, &module);
            }
            seen.insert(o.id, o);
        }
        specs.extend(batch.into_iter().map(|s| (s.id, s)));
        quiet_rounds = if arcs_seen.len() == before {
            quiet_rounds + 1
        } else {
            0
        };
    }

    // 2. Which calls notice which mutants (one harness process for all of them).
    let sig_of: HashMap<&str, &FunctionSig> =
        targets.iter().map(|f| (f.qualified.as_str(), *f)).collect();
    let ranges: Vec<(u32, u32)> = targets.iter().map(|f| (f.start_line, f.end_line)).collect();
    let mutants = crate::mutation::python::mutants(&source, &ranges);
    let mutated: Vec<String> = mutants.iter().map(|m| m.apply(&source)).collect();
    // For each line, up to 120 calls that run it, those with different observed behaviour
    // first: a mutant is noticed by a call whose result it changes.
    // Round 0's calls (one parameter at a time: the boundaries) first, then the shorter.
    let mut ids: Vec<u32> = seen.keys().copied().collect();
    ids.sort_by_key(|id| (*id >= first_random_id, specs[id].size(), *id));
    let mut runs_line: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
    for id in &ids {
        let lines: BTreeSet<i64> = seen[id].arcs.iter().flat_map(|(a, b)| [*a, *b]).collect();
        for line in lines {
            runs_line.entry(line).or_default().push(*id);
        }
    }
    let by_line: BTreeMap<i64, Vec<u32>> = runs_line
        .into_iter()
        .map(|(line, calls)| {
            let mut distinct = Vec::new();
            let mut repeats = Vec::new();
            let mut fingerprints = BTreeSet::new();
            for id in calls {
                let o = &seen[&id];
                let fp = format!(
                    "{:?}{:?}{:?}{:?}{:?}",
                    o.value, o.exc, o.state, o.args_after, o.stdout
                );
                if fingerprints.insert(fp) {
                    distinct.push(id)
                } else {
                    repeats.push(id)
                }
            }
            distinct.extend(repeats);
            distinct.truncate(120);
            (line, distinct)
        })
        .collect();
    let plans: Vec<MutantPlan> = mutants
        .iter()
        .zip(&mutated)
        .filter_map(|(m, src)| {
            let calls = by_line.get(&(m.line as i64)).cloned().unwrap_or_default();
            (!calls.is_empty()).then_some(MutantPlan {
                id: m.id,
                source: src,
                calls,
            })
        })
        .collect();
    let mut kills: HashMap<u32, BTreeSet<u32>> = HashMap::new();
    let mutate_until = started + budget.mul_f64(0.7);
    let left = mutate_until
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(5));
    if !plans.is_empty() {
        let calls: Vec<CallSpec> = ids.iter().map(|id| specs[id].clone()).collect();
        let run = harness::run(sandbox, &location, &calls, &plans, 0, left)?;
        for verdict in run.mutants {
            if verdict.invalid.is_some() {
                continue;
            }
            for call in verdict.killed_by {
                kills.entry(call).or_default().insert(verdict.id);
            }
        }
    }
    report.mutants_in_harness = mutants.len();

    // 3. Select: greedy cover of arcs and mutants, each call a test that can be written.
    let renderer = Renderer::new(&location, &module);
    let mut candidates: Vec<Candidate<TestCase, Item>> = Vec::new();
    for id in &ids {
        let spec = &specs[id];
        let Some(sig) = sig_of.get(spec.target.as_str()) else {
            continue;
        };
        let observed = &seen[id];
        let Some(case) = renderer.case(spec, observed, sig) else {
            continue;
        };
        let mut items: BTreeSet<Item> = observed.arcs.iter().map(|a| Item::Arc(a.0, a.1)).collect();
        items.extend(
            kills
                .get(id)
                .into_iter()
                .flatten()
                .map(|m| Item::Mutant(*m)),
        );
        // Every distinct exception type is a behaviour worth a test.
        if let Some(e) = &observed.exc {
            items.insert(Item::Raises(spec.target.clone(), e.kind.clone()));
        }
        candidates.push(Candidate {
            target: case.target.clone(),
            len: case.body.len(),
            case,
            items,
            penalty: 0,
        });
    }
    let mut selected = greedy(candidates, MAX_TESTS_PER_TARGET);
    if selected.is_empty() {
        report.status = ModuleStatus::NothingKept;
        report.problem = Some(format!(
            "none of the {} calls tried gave a behaviour a test could assert exactly (every call failed, timed out or returned objects without comparable state)",
            report.candidates
        ));
        if options.writer.is_none() {
            return Ok(());
        }
    }
    let mut named: Vec<TestCase> = selected.iter().map(|c| c.case.clone()).collect();
    Renderer::name_all(&mut named);
    for (c, name) in selected.iter_mut().zip(named) {
        c.case.name = name.name;
    }

    // 4. Validate: the file run RERUNS times in fresh processes with different hash seeds.
    let work = tempfile::Builder::new()
        .prefix("qa-validate-")
        .tempdir()
        .map_err(GenerateError::Io)?;
    let file_name = format!("test_{}_qa.py", location.short_name());
    let cases: Vec<TestCase> = selected.iter().map(|c| c.case.clone()).collect();
    let text = renderer.file(&cases);
    std::fs::write(work.path().join(&file_name), &text).map_err(GenerateError::Io)?;
    let per_run = Duration::from_secs(60);
    // (Nothing to run when only the model may still propose tests.)
    let (results, junit) = if cases.is_empty() {
        (BTreeMap::new(), Vec::new())
    } else {
        let runs = pytest::run_repeatedly(sandbox, work.path(), &file_name, &location, 0)?;
        (runs.results, runs.junit)
    };
    report.junit = junit;
    // pytest ran none of them: the file did not collect (its error is pytest's only entry).
    if !cases.is_empty() && cases.iter().all(|c| !results.contains_key(&c.name)) {
        let why = results
            .values()
            .flatten()
            .find_map(|r| match r {
                pytest::RunResult::Failed(m) => Some(m.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "no test was collected".into());
        report.problem = Some(format!("pytest could not run the generated file: {why}"));
    }
    let under_test: BTreeSet<String> = cases
        .iter()
        .flat_map(|c| c.imports.iter().cloned())
        .collect();
    let has_oracle = oracles(&text, &under_test);

    let mut covered: BTreeSet<Item> = BTreeSet::new();
    let mut kept: Vec<TestCase> = Vec::new();
    for Candidate { case, items, .. } in selected {
        let runs = results.get(&case.name).cloned().unwrap_or_default();
        let reason = verdict(
            &runs,
            RERUNS,
            has_oracle.get(&case.name).copied().unwrap_or(false),
            !items.is_subset(&covered),
        );
        match reason {
            Some(reason) => report.dropped.push(Dropped {
                name: case.name.clone(),
                target: case.target.clone(),
                reason,
                source: case.source(),
            }),
            None => {
                let new_arcs = items
                    .iter()
                    .filter(|i| matches!(i, Item::Arc(..)) && !covered.contains(i))
                    .count();
                let new_kills = items
                    .iter()
                    .filter(|i| matches!(i, Item::Mutant(_)) && !covered.contains(i))
                    .count();
                report.kept.push(Kept {
                    name: case.name.clone(),
                    target: case.target.clone(),
                    written_by: "qa-agent".into(),
                    new_arcs,
                    new_mutants_killed: new_kills,
                });
                covered.extend(items);
                kept.push(case);
            }
        }
    }
    // 5. LLM mode: the model proposes more, validated the same way.
    let mut final_text = renderer.file(&kept);
    if let Some(writer) = &options.writer {
        let targets: Vec<String> = targets.iter().map(|f| f.qualified.clone()).collect();
        let outcome = super::llm::extend(
            sandbox,
            writer.0.as_ref(),
            &super::llm::Context {
                location: &location,
                source: &source,
                targets: &targets,
                kept_file: &final_text,
                file_name: &file_name,
                deadline: started + budget.mul_f64(0.85),
                rounds: options.repair_rounds,
            },
        );
        for t in &outcome.kept {
            report.kept.push(Kept {
                name: t.name.clone(),
                target: "model".into(),
                written_by: writer.0.describe(),
                new_arcs: 0,
                new_mutants_killed: 0,
            });
        }
        report.model = Some(crate::report::ModelSummary {
            model: writer.0.describe(),
            rounds: outcome.rounds,
            kept: outcome.kept.len(),
            dropped: outcome.dropped.len(),
            problem: outcome.problem.clone(),
        });
        report.dropped.extend(outcome.dropped);
        if !outcome.kept.is_empty() {
            final_text = super::llm::combined(&final_text, &outcome.imports, &outcome.kept);
        }
    }
    if report.kept.is_empty() {
        report.status = ModuleStatus::NothingKept;
        return Ok(());
    }

    // 6. Write, then measure what was written: coverage, and the real mutation score.
    std::fs::write(work.path().join(&file_name), &final_text).map_err(GenerateError::Io)?;
    report.coverage_after = pytest::coverage(
        sandbox,
        work.path(),
        std::slice::from_ref(&file_name),
        &location,
        None,
        per_run,
    )?;
    let root = project_root(&location);
    let dest_dir = options.out_dir.clone().unwrap_or_else(|| tests_dir(&root));
    let dest = dest_dir.join(&file_name);
    if options.write {
        std::fs::create_dir_all(&dest_dir).map_err(GenerateError::Io)?;
        std::fs::write(&dest, &final_text).map_err(GenerateError::Io)?;
        report.test_file = Some(dest.clone());
    }
    report.test_source = final_text;
    report.test_file_name = Some(file_name.clone());
    report.status = ModuleStatus::Generated;

    if options.mutation_score {
        let left = deadline.saturating_duration_since(Instant::now());
        let functions: Vec<(String, u32, u32)> = targets
            .iter()
            .map(|f| (f.qualified.clone(), f.start_line, f.end_line))
            .collect();
        let test_path: PathBuf = if options.write {
            dest
        } else {
            work.path().join(&file_name)
        };
        let scored = crate::mutation::runner::run(
            sandbox,
            &crate::mutation::runner::MutateOptions {
                file,
                tests: std::slice::from_ref(&test_path),
                functions: &functions,
                budget: Some(left.max(Duration::from_secs(10))),
                jobs: options.jobs,
            },
        );
        match scored {
            Ok(m) => report.mutation = Some(m),
            Err(e) => report.mutation_problem = Some(e.to_string()),
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Arc(i64, i64),
    Mutant(u32),
    Raises(String, String),
}

/// Runs the batch twice (different hash seeds, in parallel) and keeps the calls whose
/// behaviour was the same both times. A call that hangs the process beyond the per-call alarm
/// is excluded and the rest re-run.
fn observe_twice(
    sandbox: &Sandbox,
    location: &ModuleLocation,
    batch: &[CallSpec],
    wall: Duration,
    bad: &mut BTreeSet<u32>,
) -> Result<Vec<Observed>, GenerateError> {
    let mut pending: Vec<CallSpec> = batch
        .iter()
        .filter(|s| !bad.contains(&s.id))
        .cloned()
        .collect();
    let mut out = Vec::new();
    for _attempt in 0..3 {
        if pending.is_empty() {
            break;
        }
        let (a, b) = std::thread::scope(|scope| {
            let first = scope.spawn(|| harness::run(sandbox, location, &pending, &[], 11, wall));
            let second = harness::run(
                sandbox,
                location,
                &pending,
                &[],
                harness::ELSEWHERE_SEED,
                wall,
            );
            (first.join().expect("harness thread"), second)
        });
        let (a, b) = (a?, b?);
        if let Some(e) = a.import_error.or(b.import_error) {
            return Err(GenerateError::Import(e));
        }
        let second: HashMap<u32, Observed> = b.calls.into_iter().map(|o| (o.id, o)).collect();
        let done: BTreeSet<u32> = a.calls.iter().map(|o| o.id).collect();
        for o in a.calls {
            if let Some(other) = second.get(&o.id)
                && o.same_as(other)
                && o.setup_error.is_none()
                && !o.timeout
                && o.nondeterministic.is_none()
                && other.nondeterministic.is_none()
            {
                out.push(o);
            }
        }
        if a.aborted.is_none() && b.aborted.is_none() {
            break;
        }
        // The first call that did not report is the one that took the process down.
        let rest: Vec<CallSpec> = pending
            .iter()
            .filter(|s| !done.contains(&s.id))
            .cloned()
            .collect();
        if let Some(culprit) = rest.first() {
            bad.insert(culprit.id);
        }
        pending = rest.into_iter().skip(1).collect();
    }
    Ok(out)
}
