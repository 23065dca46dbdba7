//! `qa-agent analyze`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use qa_analysis::{Analyzer, Baseline, ProjectConfig, SuppressionSource};
use qa_report::{TableOptions, render_markdown, render_sarif, render_table, write_json};

use crate::args::{AnalyzeArgs, ColorChoice, Format};
use crate::output::{Sink, write_stdout};
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
            args.path
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_default()
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

    let analyzer = Analyzer::new(config)?
        .with_jobs(args.jobs.unwrap_or(0))
        .without_cache();
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
    let sink = match &args.output {
        Some(path) => Sink::File(path),
        None => Sink::Stdout,
    };
    match args.format {
        Format::Json => sink.write(|w| write_json(&analysis, w))?,
        format => {
            let text = match format {
                Format::Table => render_table(
                    &analysis,
                    &TableOptions {
                        color,
                        ..TableOptions::default()
                    },
                ),
                Format::Sarif => render_sarif(&analysis),
                _ => render_markdown(&analysis),
            };
            sink.write(|w| w.write_all(text.as_bytes()))?;
        }
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
