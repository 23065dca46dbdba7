//! `qa-agent schema`: the JSON Schema of the JSON report.

use std::process::ExitCode;

use crate::output::write_stdout;

pub fn run() -> anyhow::Result<ExitCode> {
    let schema = qa_analysis::report_schema();
    write_stdout(&format!("{}\n", serde_json::to_string_pretty(&schema)?))?;
    Ok(ExitCode::SUCCESS)
}
