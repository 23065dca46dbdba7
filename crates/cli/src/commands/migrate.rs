//! `qa-agent migrate`: bring the database schema up to this release. The services do the
//! same at start; Kubernetes runs this as a Job before a rollout.

use std::process::ExitCode;

use anyhow::Context;
use qa_server::ServerConfig;
use qa_store::Database;

use crate::args::MigrateArgs;

pub fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let config = ServerConfig::load(args.config.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let db = Database::open(config.database_url.as_deref(), &config.data_dir, 1).await?;
        let location = match &config.database_url {
            Some(_) => "DATABASE_URL".to_string(),
            None => config
                .data_dir
                .join(qa_store::SQLITE_FILE)
                .display()
                .to_string(),
        };
        let applied = db.migrate().await?;
        db.close().await;
        println!(
            "qa-agent: {applied} migration{} applied to {} ({location}); the schema is current",
            if applied == 1 { "" } else { "s" },
            db.backend()
        );
        Ok(ExitCode::SUCCESS)
    })
}
