//! The `qa-agent` command line.
//!
//! Exit codes: 0 success; 1 findings at or above `--fail-on`; 2 usage, configuration or
//! I/O error. A closed pipe (`qa-agent analyze | head`) is not an error.

mod alloc;
mod args;
mod commands;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    alloc::install();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(a) => commands::analyze::run(a),
        Command::Rules(r) => commands::rules::run(r),
        Command::Schema => commands::schema::run(),
        Command::Serve(s) => commands::serve::run(s),
        Command::Migrate(m) => commands::migrate::run(m),
        Command::Ask(a) => commands::ask::run(a),
        Command::Chat(c) => commands::chat::run(c),
        Command::Generate(g) => commands::generate::run(g),
        Command::Mutate(m) => commands::mutate::run(m),
        Command::Feedback(f) => commands::feedback::run(f),
        Command::Doctor(d) => commands::doctor::run(d),
        Command::Capacity(c) => commands::capacity::run(c),
        Command::Tls(t) => commands::tls::run(t),
        Command::Backup(b) => commands::backup::create(b),
        Command::VerifyBackup(v) => commands::backup::verify(v),
        Command::Restore(r) => commands::backup::restore(r),
        Command::Admin(a) => commands::admin::run(a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let mut msg = format!("error: {err}");
            for cause in err.chain().skip(1) {
                msg.push_str(&format!("\n  caused by: {cause}"));
            }
            anstream::eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
