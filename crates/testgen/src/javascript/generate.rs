//! Generating tests for one JavaScript module: discover its exports, explore calls in the
//! harness, select those that add lines, skipped blocks, exceptions or outcomes, write a
//! Vitest or Jest file, and keep the tests that pass 5 fresh, shuffled runs.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use qa_sandbox::Sandbox;

use super::harness::{self, CallSpec, Observed};
use super::inputs::{Memory, literals, oddness, propose, targets};
use super::project::{JsModule, RunnerKind, tests_dir};
use super::render::{Renderer, TestCase, name_all};
use super::runner;
use crate::python::generate::RERUNS;
use crate::python::inputs::Rng;
use crate::python::pytest::Coverage;
use crate::report::{Dropped, Kept, ModuleReport, ModuleStatus};
use crate::select::{Candidate, greedy, verdict};
use crate::{GenerateError, GenerateOptions};

const MAX_TESTS_PER_TARGET: usize = 25;

pub fn module(sandbox: &Sandbox, file: &Path, options: &GenerateOptions) -> ModuleReport {
    crate::run_module(file, "javascript", |report, started| {
        generate(sandbox, file, options, report, started)
    })
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Item {
    Line(u32),
    Skip(String),
    Raises(String, String),
    Outcome(String, String),
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
    let mut module = JsModule::of(file).map_err(GenerateError::Io)?;
    report.module = module.relative();
    // The toolchain first: nothing is written that could not be run.
    let node = super::project::node_version().map_err(GenerateError::Toolchain)?;
    let prefer = options.framework.as_deref().and_then(RunnerKind::parse);
    // ES modules and TypeScript need Vitest whatever the user prefers.
    let prefer = if module.esm || module.typescript {
        Some(RunnerKind::Vitest)
    } else {
        prefer
    };
    let Some(runner) = module.runner(prefer) else {
        return Err(GenerateError::Toolchain(format!(
            "no test runner in {}'s node_modules (Node.js {node} is there); install one: npm install --save-dev vitest",
            module.root.display()
        )));
    };
    if runner.kind == RunnerKind::Jest && module.esm {
        return Err(GenerateError::Toolchain(
            "Jest runs ES modules only with experimental flags; install Vitest (npm install --save-dev vitest) to test this module".into(),
        ));
    }
    if module.typescript {
        if runner.kind != RunnerKind::Vitest {
            return Err(GenerateError::Toolchain(
                "TypeScript modules are tested with Vitest; install it: npm install --save-dev vitest".into(),
            ));
        }
        let esbuild = runner.node_modules.join("esbuild");
        if !esbuild.join("package.json").is_file() {
            return Err(GenerateError::Toolchain(format!(
                "no esbuild in {} to load TypeScript with (Vitest installs it; run npm install)",
                runner.node_modules.display()
            )));
        }
        // The real path: the sandbox binds it read-only where it is (a `node_modules`
        // linked from under /tmp would otherwise be hidden by the private /tmp), with its
        // platform binary (`@esbuild/...`) beside it.
        module.esbuild = Some(esbuild.canonicalize().map_err(GenerateError::Io)?);
    }
    report.framework = Some(runner.kind.name().to_owned());
    if let Some(wanted) = options.framework.as_deref().and_then(RunnerKind::parse)
        && wanted != runner.kind
    {
        report.framework_note = Some(if module.esm || module.typescript {
            format!(
                "you prefer {}, but this is an ES module or TypeScript, which only Vitest runs without experimental flags",
                wanted.name()
            )
        } else {
            format!(
                "you prefer {}, but only {} is installed for this package (npm install --save-dev {})",
                wanted.name(),
                runner.kind.name(),
                wanted.name()
            )
        });
    }
    let mut lits = literals(&source, module.typescript)
        .ok_or_else(|| GenerateError::Syntax("unparsable".into()))?;

    // 0. What the module exports, from importing it.
    let discovered = harness::run(sandbox, &module, &[], true, Duration::from_secs(20))?;
    if let Some(e) = discovered.import_error {
        return Err(GenerateError::Import(e));
    }
    // TypeScript: coverage lines refer to esbuild's output, so count its statements.
    if let Some(js) = &discovered.transformed
        && let Some(t) = literals(js, false)
    {
        lits.statement_lines = t.statement_lines;
    }
    let mut all = targets(&discovered.exports);
    all.retain(|t| match &options.target {
        Some(want) => t.name() == *want || t.path.join(".") == *want || t.path.last() == Some(want),
        None => true,
    });
    for e in discovered.exports.iter().filter(|e| e.is_async) {
        report.targets.push(e.path.join("."));
    }
    report.targets = all.iter().map(|t| t.name()).collect();
    if all.is_empty() {
        report.status = ModuleStatus::NoTargets;
        return Ok(());
    }
    let classes: BTreeSet<String> = discovered
        .exports
        .iter()
        .filter(|e| e.is_class && e.path.len() == 1)
        .map(|e| e.path[0].clone())
        .collect();

    // 1. Explore in rounds, each batch run twice in separate processes.
    let mut rng = Rng::new(options.seed);
    let mut next_id = 0u32;
    let mut specs: HashMap<u32, CallSpec> = HashMap::new();
    let mut seen: HashMap<u32, Observed> = HashMap::new();
    let mut items_seen: BTreeSet<Item> = BTreeSet::new();
    let mut memory = Memory::default();
    let mut bad: BTreeSet<u32> = BTreeSet::new();
    let explore_until = started + budget.mul_f64(0.55);
    let mut quiet = 0;
    for round in 0..40u32 {
        if Instant::now() >= explore_until || quiet >= 8 {
            break;
        }
        let mut batch = Vec::new();
        for t in &all {
            batch.extend(propose(
                t,
                &lits,
                round,
                &mut rng,
                &mut next_id,
                &memory,
                40,
            ));
        }
        let left = explore_until
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(5));
        let observed = observe_twice(sandbox, &module, &batch, left, &mut bad)?;
        report.candidates += batch.len();
        let before = items_seen.len();
        for o in observed {
            let spec = batch.iter().find(|s| s.id == o.id).cloned();
            if let Some(spec) = spec {
                items_seen.extend(items(&spec, &o, true));
                memory.record(&spec, o.exc.is_none(), o.value.as_ref());
                specs.insert(o.id, spec);
                seen.insert(o.id, o);
            }
        }
        quiet = if items_seen.len() == before {
            quiet + 1
        } else {
            0
        };
    }

    // 2. Select: greedy cover, then write the file.
    let renderer = Renderer {
        module: &module,
        runner: runner.kind,
        classes,
        import_path: String::new(),
    };
    let tests_rel = tests_dir(&module.root)
        .strip_prefix(&module.root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| "tests".into());
    let validate_import = import_path(&module.root.join(&tests_rel), &module);
    let renderer = Renderer {
        import_path: validate_import,
        ..renderer
    };
    let mut ids: Vec<u32> = seen.keys().copied().collect();
    ids.sort_by_key(|id| (specs[id].size(), *id));
    let params: HashMap<String, (&[String], &[String])> = all
        .iter()
        .map(|t| (t.name(), (t.params.as_slice(), t.ctor_params.as_slice())))
        .collect();
    let mut candidates: Vec<Candidate<TestCase, Item>> = Vec::new();
    for id in &ids {
        let (spec, o) = (&specs[id], &seen[id]);
        if let Some(case) = renderer.case(spec, o) {
            let odd = params.get(&spec.target()).map_or(0, |(p, c)| {
                oddness(p, &spec.args, &lits)
                    + spec.ctor.as_deref().map_or(0, |a| oddness(c, a, &lits))
            });
            candidates.push(Candidate {
                target: case.target.clone(),
                len: case.source().len(),
                case,
                items: items(spec, o, odd == 0),
                penalty: odd as i64,
            });
        }
    }
    let selected = greedy(candidates, MAX_TESTS_PER_TARGET);
    if selected.is_empty() {
        report.status = ModuleStatus::NothingKept;
        report.problem = Some(format!(
            "none of the {} calls tried gave a behaviour a test could assert exactly",
            report.candidates
        ));
        return Ok(());
    }
    let mut cases: Vec<TestCase> = selected.iter().map(|c| c.case.clone()).collect();
    name_all(&mut cases);

    // 3. Validate: RERUNS fresh, shuffled runs in a copy of the package.
    let work = crate::mutation::runner::snapshot(&module.root)?;
    let link = work.path().join("node_modules");
    if !link.exists() {
        std::os::unix::fs::symlink(&runner.node_modules, &link).map_err(GenerateError::Io)?;
    }
    let ext = match module.file.extension().and_then(|e| e.to_str()) {
        Some("mjs") => "mjs",
        Some("cjs") => "cjs",
        Some("ts" | "mts" | "cts") => "ts",
        Some("tsx") => "tsx",
        _ => "js",
    };
    let file_name = format!("{}.qa.test.{ext}", module.stem());
    let rel_test = tests_rel.join(&file_name);
    std::fs::create_dir_all(work.path().join(&tests_rel)).map_err(GenerateError::Io)?;
    let text = renderer.file(&cases);
    std::fs::write(work.path().join(&rel_test), &text).map_err(GenerateError::Io)?;
    let rel_test_str = rel_test.display().to_string();
    let runs = runner::run_repeatedly(
        sandbox,
        &runner,
        work.path(),
        &module,
        &rel_test_str,
        RERUNS,
    )?;
    report.junit = runs.reports.clone();
    let mut covered: BTreeSet<Item> = BTreeSet::new();
    let mut kept: Vec<TestCase> = Vec::new();
    let mut kept_calls: Vec<u32> = Vec::new();
    for (Candidate { items, .. }, case) in selected.iter().zip(&cases) {
        let results = runs.results.get(&case.name).cloned().unwrap_or_default();
        // The renderer writes a test only around an assertion on the call's outcome.
        let has_oracle = case.body.iter().any(|l| l.contains("expect("));
        let reason = verdict(&results, RERUNS, has_oracle, !items.is_subset(&covered));
        match reason {
            Some(reason) => report.dropped.push(Dropped {
                name: case.name.clone(),
                target: case.target.clone(),
                reason,
                source: case.source(),
            }),
            None => {
                let new_lines = items
                    .iter()
                    .filter(|i| matches!(i, Item::Line(_) | Item::Skip(_)) && !covered.contains(i))
                    .count();
                report.kept.push(Kept {
                    name: case.name.clone(),
                    target: case.target.clone(),
                    written_by: "qa-agent".into(),
                    new_arcs: new_lines,
                    new_mutants_killed: 0,
                });
                covered.extend(items.iter().cloned());
                kept.push(case.clone());
                kept_calls.push(case.call_id);
            }
        }
    }
    if kept.is_empty() {
        report.status = ModuleStatus::NothingKept;
        if let Some(p) = runs.problem {
            report.problem = Some(p);
        }
        return Ok(());
    }

    // 4. Coverage of what was kept: the kept calls replayed under V8 block coverage.
    let replay: Vec<CallSpec> = kept_calls
        .iter()
        .filter_map(|id| specs.get(id).cloned())
        .collect();
    let measured = harness::run(sandbox, &module, &replay, false, Duration::from_secs(30))?;
    let mut lines: BTreeSet<u32> = measured.import_lines.iter().copied().collect();
    for c in &measured.calls {
        lines.extend(c.lines.iter().copied());
    }
    let total = lits.statement_lines.len() as u64;
    let hit = lits.statement_lines.intersection(&lines).count() as u64;
    if total > 0 {
        report.coverage_after = Some(Coverage {
            lines_covered: hit,
            lines_total: total,
            branches_covered: 0,
            branches_total: 0,
            line_percent: 100.0 * hit as f64 / total as f64,
            branch_percent: None,
        });
    }

    // 5. Write next to the package's tests (or --out), with the import path from there.
    let dest_dir = options
        .out_dir
        .clone()
        .unwrap_or_else(|| module.root.join(&tests_rel));
    let final_renderer = Renderer {
        import_path: import_path(&dest_dir, &module),
        ..renderer
    };
    let final_text = final_renderer.file(&kept);
    if options.write {
        std::fs::create_dir_all(&dest_dir).map_err(GenerateError::Io)?;
        let dest = dest_dir.join(&file_name);
        std::fs::write(&dest, &final_text).map_err(GenerateError::Io)?;
        report.test_file = Some(dest);
    }
    report.test_source = final_text;
    report.test_file_name = Some(file_name);
    report.status = ModuleStatus::Generated;
    report.mutation_problem =
        Some("mutation scoring is built for Python modules; JavaScript is not scored yet".into());
    Ok(())
}

/// What a call covers. The kind of value returned counts only for natural calls (arguments
/// of the types their names suggest): a number function returning a string when given one
/// is not a behaviour worth a test of its own.
fn items(spec: &CallSpec, o: &Observed, natural: bool) -> BTreeSet<Item> {
    let mut out: BTreeSet<Item> = o.lines.iter().map(|l| Item::Line(*l)).collect();
    out.extend(o.skips.iter().map(|s| Item::Skip(s.clone())));
    let target = spec.target();
    if let Some(e) = &o.exc {
        out.insert(Item::Raises(target.clone(), e.kind.clone()));
    } else if let Some(v) = &o.value
        && natural
    {
        // Nothing, true, false or a value: finer kinds made tests that differ only in data.
        let outcome = match super::value::kind(v) {
            "undefined" | "null" => "nothing",
            k @ ("true" | "false") => k,
            _ => "a value",
        };
        out.insert(Item::Outcome(target.clone(), outcome.to_owned()));
    }
    // Changing an argument in place is a behaviour of its own.
    for i in o.args_after.iter().flat_map(|a| a.keys()) {
        out.insert(Item::Outcome(
            target.clone(),
            format!("changes argument {i}"),
        ));
    }
    out
}

/// Runs the batch in two separate processes and keeps the calls that behaved the same both
/// times (time, randomness and addresses differ between processes). A call that took a
/// process down is dropped and the rest run again.
fn observe_twice(
    sandbox: &Sandbox,
    module: &JsModule,
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
    for _ in 0..3 {
        if pending.is_empty() {
            break;
        }
        let (a, b) = std::thread::scope(|scope| {
            let first = scope.spawn(|| harness::run(sandbox, module, &pending, false, wall));
            let second = harness::run(sandbox, module, &pending, false, wall);
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
            {
                out.push(o);
            }
        }
        if a.aborted.is_none() && b.aborted.is_none() {
            break;
        }
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

/// The relative import path from a test directory to the module: `../index.js`, or for
/// TypeScript without the extension (`../src/parse`), as TypeScript projects write them.
pub fn import_path(from_dir: &Path, module: &JsModule) -> String {
    let path = relative_path(from_dir, &module.file);
    if module.typescript {
        let ext = module
            .file
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("");
        return path
            .strip_suffix(&format!(".{ext}"))
            .unwrap_or(&path)
            .to_owned();
    }
    path
}

fn relative_path(from_dir: &Path, file: &Path) -> String {
    let from: Vec<_> = from_dir.components().collect();
    let to: Vec<_> = file.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    let joined = parts.join("/");
    if joined.starts_with("..") {
        joined
    } else {
        format!("./{joined}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_paths_are_relative() {
        assert_eq!(
            relative_path(Path::new("/p/tests"), Path::new("/p/index.js")),
            "../index.js"
        );
        assert_eq!(
            relative_path(Path::new("/p"), Path::new("/p/src/a.js")),
            "./src/a.js"
        );
        assert_eq!(
            relative_path(Path::new("/q/t"), Path::new("/p/a.js")),
            "../../p/a.js"
        );
    }
}
