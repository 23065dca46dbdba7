//! `qa-agent generate PATH`: tests that were run before they were written.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use qa_testgen::{GenerateOptions, ModuleStatus};

use crate::args::{GenerateArgs, SummaryFormat};
use crate::output::write_stdout;

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let sandbox = qa_sandbox::Sandbox::from_env().context("no sandbox can run here")?;
    if let Some(reason) = &sandbox.info().fallback_reason {
        anstream::eprintln!(
            "warning: sandbox in rlimits mode (no network or filesystem isolation): {reason}"
        );
    }
    // LLM mode: the provider's HTTP calls need a runtime; generation itself is blocking.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let writer = if args.llm {
        let config = qa_server::ServerConfig::load(None)?;
        let Some(provider) = config.llm() else {
            anyhow::bail!(
                "--llm needs a language model: set QA_AGENT_LLM_PROVIDER (openai or anthropic), QA_AGENT_LLM_MODEL and QA_AGENT_LLM_API_KEY (or QA_AGENT_LLM_BASE_URL for a local server)"
            );
        };
        let client = qa_llm::Client::new(provider).map_err(anyhow::Error::msg)?;
        Some(qa_testgen::python::llm::Writer(std::sync::Arc::new(
            qa_agents::test_writer::LlmTestWriter::new(client, runtime.handle().clone()),
        )))
    } else {
        None
    };
    let options = GenerateOptions {
        writer,
        repair_rounds: args.repair_rounds,
        target: args.target,
        budget: Duration::from_secs(args.budget.max(5)),
        out_dir: args.out,
        write: !args.dry_run,
        mutation_score: !args.no_mutation,
        seed: args.seed,
        framework: args.framework,
        ..GenerateOptions::default()
    };
    let report = qa_testgen::generate(&sandbox, &args.path, &options)?;
    if let Some(path) = &args.junit {
        std::fs::write(path, report.junit())
            .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    match args.format {
        SummaryFormat::Json => {
            write_stdout(&format!("{}\n", serde_json::to_string_pretty(&report)?))?
        }
        SummaryFormat::Text => write_stdout(&report.text())?,
    }
    // 1 when a module could not be generated for at all (or its toolchain is missing), as a
    // CI step would want to know.
    let failed = report
        .modules
        .iter()
        .any(|m| matches!(m.status, ModuleStatus::Failed | ModuleStatus::NoToolchain));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
