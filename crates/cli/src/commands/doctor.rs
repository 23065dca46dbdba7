//! `qa-agent doctor`: the runbook's checks against a deployment (`qa_server::doctor`),
//! printed for an operator or as JSON, with the worst severity as the exit code.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use qa_server::ServiceKind;
use qa_server::doctor::{Target, diagnose, render};

use crate::args::{DoctorArgs, TargetArgs};

/// The deployment the arguments name.
pub fn target(args: &TargetArgs) -> Target {
    let scheme = if args.https { "https" } else { "http" };
    let mut target = Target::on_host(&args.host, scheme);
    for (kind, url) in [
        (ServiceKind::Orchestrator, &args.orchestrator),
        (ServiceKind::Specialists, &args.specialists),
        (ServiceKind::Conversation, &args.conversation),
        (ServiceKind::Learning, &args.learning),
    ] {
        if let Some(url) = url {
            target
                .services
                .insert(kind, url.trim_end_matches('/').to_string());
        }
    }
    target.timeout = Duration::from_secs(args.timeout.max(1));
    target.ca = args.cacert.clone();
    target
}

pub fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let mut target = target(&args.target);
    target.api_key = args.api_key;
    target.backups = args.backups;
    target.backup_max_age = Duration::from_secs(args.backup_max_age_hours * 3600);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(diagnose(&target));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(ExitCode::from(report.exit_code() as u8))
}
