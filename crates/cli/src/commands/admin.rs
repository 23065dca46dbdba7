//! `qa-agent admin ...`: tenants, users, API keys and read-only mode, straight in the
//! database the services use (`DATABASE_URL`, else the embedded file), so an operator can
//! act while the services are down. Every action is audited as `cli:<login>`.

use std::process::ExitCode;

use anyhow::{Context, bail};
use qa_server::ServerConfig;
use qa_store::{AuditEntry, Database, Role};

use crate::args::{AdminCommand, MigrateArgs};

pub fn run(command: AdminCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(execute(command))
}

async fn open(args: &MigrateArgs) -> anyhow::Result<Database> {
    let config = ServerConfig::load(args.config.as_deref())?;
    let db = Database::open(config.database_url.as_deref(), &config.data_dir, 1).await?;
    db.migrate().await?;
    Ok(db)
}

fn actor() -> String {
    let login = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{login}")
}

async fn tenant_id(db: &Database, name: &str) -> anyhow::Result<i64> {
    match db.tenant_by_name(name).await? {
        Some(t) => Ok(t.id),
        None => {
            bail!("no tenant named `{name}` (create it with `qa-agent admin create-tenant {name}`)")
        }
    }
}

async fn audit(
    db: &Database,
    tenant_id: Option<i64>,
    action: &str,
    target: String,
) -> anyhow::Result<()> {
    db.audit(&AuditEntry {
        tenant_id,
        actor: actor(),
        action: action.into(),
        target: Some(target),
        detail: None,
    })
    .await?;
    Ok(())
}

async fn execute(command: AdminCommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::CreateTenant { name, db } => {
            let db = open(&db).await?;
            if name.trim().is_empty() {
                bail!("the tenant name is empty");
            }
            let t = db.create_tenant(&name).await?;
            audit(&db, Some(t.id), "tenant.create", format!("tenant:{name}")).await?;
            println!("qa-agent: created tenant `{}` (id {})", t.name, t.id);
        }
        AdminCommand::CreateUser {
            tenant,
            email,
            role,
            db,
        } => {
            let db = open(&db).await?;
            let Some(role) = Role::parse(&role) else {
                bail!("unknown role `{role}`: use `admin` or `member`");
            };
            if !email.contains('@') {
                bail!("`{email}` is not an email address");
            }
            let tid = tenant_id(&db, &tenant).await?;
            let u = db.create_user(tid, &email, role).await?;
            audit(
                &db,
                Some(tid),
                "user.create",
                format!("user:{email} role:{}", role.as_str()),
            )
            .await?;
            println!(
                "qa-agent: created {} {} in tenant `{tenant}` (id {})",
                role.as_str(),
                u.email,
                u.id
            );
        }
        AdminCommand::CreateKey { tenant, email, db } => {
            let db = open(&db).await?;
            let tid = tenant_id(&db, &tenant).await?;
            let Some(user) = db.user_by_email(tid, &email).await? else {
                bail!(
                    "no user {email} in tenant `{tenant}` (create it with `qa-agent admin create-user --tenant {tenant} --email {email}`)"
                );
            };
            let key = qa_store::generate_api_key();
            let info = db.add_api_key(&user, &key).await?;
            audit(
                &db,
                Some(tid),
                "key.create",
                format!("key:{} user:{email}", info.prefix),
            )
            .await?;
            eprintln!(
                "qa-agent: API key for {email} in `{tenant}` (shown once; only its hash is kept):"
            );
            println!("{key}");
        }
        AdminCommand::RevokeKey { key, db } => {
            let db = open(&db).await?;
            match db.revoke_api_key(&key).await? {
                Some(info) => {
                    audit(
                        &db,
                        Some(info.tenant_id),
                        "key.revoke",
                        format!("key:{}", info.prefix),
                    )
                    .await?;
                    println!("qa-agent: revoked key {}…", info.prefix);
                }
                None => {
                    bail!("no active API key starts with `{key}` (see `qa-agent admin list-keys`)")
                }
            }
        }
        AdminCommand::ListKeys { tenant, db } => {
            let db = open(&db).await?;
            let tid = match &tenant {
                Some(name) => Some(tenant_id(&db, name).await?),
                None => None,
            };
            for k in db.api_keys(tid).await? {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}…\ttenant {}\tuser {}\t{state}",
                    k.prefix, k.tenant_id, k.user_id
                );
            }
        }
        AdminCommand::ReadOnly { state, db } => {
            let db = open(&db).await?;
            db.set_setting("read_only", &state).await?;
            audit(&db, None, "read_only.set", format!("read_only:{state}")).await?;
            if state == "on" {
                println!(
                    "qa-agent: read-only mode is on: API writes answer 503, reads keep working"
                );
            } else {
                println!("qa-agent: read-only mode is off: writes are accepted again");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
