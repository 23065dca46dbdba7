//! `qa-agent serve [SERVICE]`: start the services, print where they listen, and drain
//! in-flight requests on SIGTERM or Ctrl-C.

use std::process::ExitCode;

use anyhow::Context;
use qa_server::{ServerConfig, ServiceKind};

use crate::args::ServeArgs;

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig::load(args.config.as_deref())?;
    let _logs = qa_server::init_logging(&config).with_context(|| {
        format!(
            "cannot write logs to {} (QA_AGENT_LOG_DIR)",
            config
                .log_dir
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display()
        )
    })?;
    let kinds: Vec<ServiceKind> = match args.service {
        Some(k) => vec![k],
        None => ServiceKind::ALL.to_vec(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        // Before the listeners are announced: see `shutdown_signal`.
        let stop = qa_server::shutdown_signal();
        let running = qa_server::start(&config, &kinds).await?;
        // One stable line per listener on stdout: scripts and tests read them.
        for l in running.listeners() {
            let what = if l.role == "ops" {
                " (health, metrics)"
            } else {
                ""
            };
            say(&format!(
                "qa-agent: {} listening on {}{what}",
                l.kind,
                l.url()
            ));
        }
        if let Some(b) = &running.bootstrap {
            use qa_server::Announce;
            say(&b.announcement());
        }
        stop.await;
        tracing::info!(grace_secs = config.shutdown_grace_secs, "shutting down");
        running.shutdown();
        if running.wait(config.shutdown_grace()).await {
            Ok(ExitCode::SUCCESS)
        } else {
            tracing::warn!("requests still running after the grace period; exiting anyway");
            Ok(ExitCode::from(1))
        }
    });
    // An analysis still running on a blocking thread must not hold the exit: its job
    // was handed back to the queue when the drain began.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}

/// One line on stdout. A reader that went away (a closed pipe) must not take the
/// services down with a panic, as `println!` would.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}
