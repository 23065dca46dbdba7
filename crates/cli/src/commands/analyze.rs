//! `qa-agent analyze`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use qa_analysis::{Analyzer, Baseline, ProjectConfig, SuppressionSource};
use qa_report::{render_json, render_markdown, render_sarif, render_table, TableOptions};

use crate::args::{AnalyzeArgs, ColorChoice, Format};
use crate::output::{write_file, write_stdout};
use crate::progress::Bar;

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    if !args.path.exists() {
        anyhow::bail!(
            "{} does not exist (give a directory or a file to analyse)",
            args.path.display()
        );
    }
    let mut config = if args.no_config {
        ProjectConfig::default()
    } else if let Some(path) = &args.config {
        ProjectConfig::load(path)?
    } else {
        let dir = if args.path.is_file() {
            args.path.parent().map(|p| p.to_path_buf()).unwrap_or_default()
        } else {
            args.path.clone()
        };
        ProjectConfig::discover(&dir)?
    };
    if args.all_files {
        config.analysis.skip_vendored = false;
        config.analysis.skip_generated = false;
    }
    if let Some(size) = args.max_file_size {
        config.analysis.max_file_size = size;
    }
    let baseline = args
        .baseline
        .as_ref()
        .map(|p| Baseline::load(p))
        .transpose()?;

    let analyzer = Analyzer::new(config)?.with_jobs(args.jobs.unwrap_or(0));
    if args.parse_only {
        let (files, bytes) = analyzer.parse_only(&args.path)?;
        write_stdout(&format!("{files} files, {bytes} bytes parsed\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let bar = Bar::new(show_progress);
    let mut analysis = analyzer
        .analyze_path(&args.path, &bar)
        .with_context(|| format!("cannot analyse {}", args.path.display()))?;
    if let Some(b) = &baseline {
        let sources: [&dyn SuppressionSource; 1] = [b];
        analyzer.apply_suppressions(&mut analysis, &sources);
    }

    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let text = match args.format {
        Format::Table => render_table(
            &analysis,
            &TableOptions {
                color,
                ..TableOptions::default()
            },
        ),
        Format::Json => render_json(&analysis),
        Format::Sarif => render_sarif(&analysis),
        Format::Markdown => render_markdown(&analysis),
    };
    match &args.output {
        Some(path) => write_file(path, &text)?,
        None => write_stdout(&text)?,
    }

    let failing = args
        .fail_on
        .map_or(0, |min| analysis.failing_findings(min).count());
    Ok(if failing > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
