//! `qa-agent mutate PATH --tests DIR`: how many injected faults the tests catch.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use qa_testgen::mutation::runner::{MutateOptions, Verdict};

use crate::args::{MutateArgs, SummaryFormat};
use crate::output::write_stdout;

pub fn run(args: MutateArgs) -> anyhow::Result<ExitCode> {
    let sandbox = qa_sandbox::Sandbox::from_env().context("no sandbox can run here")?;
    let source = std::fs::read_to_string(&args.path)
        .with_context(|| format!("cannot read {} as UTF-8 text", args.path.display()))?;
    let module = qa_testgen::python::signature::parse(&source)
        .with_context(|| format!("cannot parse {}", args.path.display()))?;
    let functions: Vec<(String, u32, u32)> = module
        .functions
        .iter()
        .filter(|f| match &args.function {
            Some(name) => f.qualified == *name || f.class.as_deref() == Some(name.as_str()),
            None => true,
        })
        .map(|f| (f.qualified.clone(), f.start_line, f.end_line))
        .collect();
    if functions.is_empty() {
        anyhow::bail!(
            "no function to mutate in {}{}",
            args.path.display(),
            args.function
                .as_ref()
                .map(|f| format!(" named `{f}`"))
                .unwrap_or_default()
        );
    }
    let report = qa_testgen::mutation::runner::run(
        &sandbox,
        &MutateOptions {
            file: &args.path,
            tests: &args.tests,
            functions: &functions,
            budget: args.budget.map(Duration::from_secs),
            jobs: args.jobs,
        },
    )?;
    match args.format {
        SummaryFormat::Json => {
            write_stdout(&format!("{}\n", serde_json::to_string_pretty(&report)?))?
        }
        SummaryFormat::Text => {
            let mut out = String::new();
            match report.score {
                Some(s) => writeln!(
                    out,
                    "{}: mutation score {:.1}% ({} killed, {} survived, {} not covered of {} mutants{}; {:.1} s)",
                    report.module,
                    s * 100.0,
                    report.killed,
                    report.survived,
                    report.not_covered,
                    report.total - report.skipped,
                    if report.skipped > 0 {
                        format!(", {} not run in the budget", report.skipped)
                    } else {
                        String::new()
                    },
                    report.wall_seconds
                )?,
                None => writeln!(out, "{}: no mutant was run", report.module)?,
            }
            for f in &report.per_function {
                writeln!(
                    out,
                    "  {:<40} {:>4}/{:<4} killed",
                    f.function, f.killed, f.total
                )?;
            }
            let survivors: Vec<_> = report
                .results
                .iter()
                .filter(|r| r.verdict == Verdict::Survived)
                .collect();
            if !survivors.is_empty() {
                writeln!(out, "survivors (the tests pass with these faults in):")?;
                for r in survivors.iter().take(30) {
                    writeln!(out, "  {}", r.mutant.describe())?;
                }
            }
            write_stdout(&out)?;
        }
    }
    let below = args
        .fail_under
        .zip(report.score)
        .is_some_and(|(min, score)| score * 100.0 < min);
    Ok(if below {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
