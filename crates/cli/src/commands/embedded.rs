//! The services inside a command (`ask`, `chat` without `--server`): the ones it needs,
//! on free local ports, on the embedded database of the configuration, with the
//! repository as the only directory they may read, and a key for this run only.

use anyhow::{Context, bail};
use qa_server::{Running, ServerConfig, ServiceKind};

/// Runs a command's future on a runtime of its own; an embedded service still busy on a
/// blocking thread does not hold the exit beyond 2 s.
pub fn block_on<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(f);
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}

pub struct Embedded {
    running: Running,
    db: qa_store::Database,
    /// The key of this run (revoked when it stops).
    pub key: String,
    /// The repository, resolved, if one was given.
    pub path: Option<String>,
}

impl Embedded {
    pub async fn start(
        config: Option<&std::path::Path>,
        path: Option<&str>,
        kinds: &[ServiceKind],
    ) -> anyhow::Result<Embedded> {
        let mut config = ServerConfig::load(config)?;
        config.bind = std::net::IpAddr::from([127, 0, 0, 1]);
        config.ports.orchestrator = 0;
        config.ports.specialists = 0;
        config.ports.conversation = 0;
        config.ports.conversation_ops = 0;
        config.ports.learning = 0;
        config.peers = Default::default();
        let path = match path {
            Some(p) => {
                let dir = std::path::Path::new(p)
                    .canonicalize()
                    .with_context(|| format!("{p} does not exist"))?;
                config.workspace_roots = vec![dir.clone()];
                Some(dir.display().to_string())
            }
            None => None,
        };
        let running = qa_server::start(&config, kinds)
            .await
            .context("cannot start the embedded services")?;
        if let Some(b) = &running.bootstrap {
            use qa_server::Announce;
            eprintln!("{}", b.announcement());
        }
        let db =
            qa_store::Database::open(config.database_url.as_deref(), &config.data_dir, 1).await?;
        let key = run_key(&db).await?;
        Ok(Embedded {
            running,
            db,
            key,
            path,
        })
    }

    pub fn url(&self, kind: ServiceKind) -> String {
        self.running.url(kind).unwrap_or_default()
    }

    pub async fn stop(self) {
        let _ = self.db.revoke_api_key(&self.key).await;
        self.running.shutdown();
        let _ = self.running.wait(std::time::Duration::from_secs(5)).await;
    }
}

/// A key for this run, for the local `cli@localhost` user of the `default` tenant
/// (created on first use).
async fn run_key(db: &qa_store::Database) -> anyhow::Result<String> {
    let tenant = match db.tenant_by_name("default").await? {
        Some(t) => t,
        None => bail!(
            "the embedded database has no `default` tenant; create it with `qa-agent admin create-tenant default`"
        ),
    };
    let user = match db.user_by_email(tenant.id, "cli@localhost").await? {
        Some(u) => u,
        None => {
            db.create_user(tenant.id, "cli@localhost", qa_store::Role::Member)
                .await?
        }
    };
    let key = qa_store::generate_api_key();
    db.add_api_key(&user, &key).await?;
    Ok(key)
}
