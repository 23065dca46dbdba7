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

pub(crate) fn actor() -> String {
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
        AdminCommand::Report { days, json, db } => {
            let db = open(&db).await?;
            let to = qa_store::now_ms();
            let span = i64::from(days.max(1)) * 86_400_000;
            let now = db.period_report(to - span, to).await?;
            let before = db.period_report(to - 2 * span, to - span).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "days": days, "period": now, "previous": before })
                    )?
                );
            } else {
                print!("{}", weekly_report(days, &now, &before));
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

/// The report as Markdown: this period, the one before, and the change.
fn weekly_report(
    days: u32,
    now: &qa_store::PeriodReport,
    before: &qa_store::PeriodReport,
) -> String {
    let date = |ms: i64| {
        time::OffsetDateTime::from_unix_timestamp(ms / 1000)
            .map(|t| format!("{}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
            .unwrap_or_default()
    };
    let mut out = format!(
        "# qa-agent report: {} to {} ({days} days)\n\n",
        date(now.from_ms),
        date(now.to_ms)
    );
    let int = |a: i64, b: i64| format!("| {a} | {b} | {:+} |", a - b);
    let opt = |a: Option<f64>, b: Option<f64>, digits: usize| {
        let f = |x: Option<f64>| x.map_or("no data".to_string(), |x| format!("{x:.digits$}"));
        let d = match (a, b) {
            (Some(a), Some(b)) => format!("{:+.digits$}", a - b),
            _ => "absent".into(),
        };
        format!("| {} | {} | {d} |", f(a), f(b))
    };
    let ms = |x: Option<i64>| x.map(|v| v as f64 / 1000.0);
    let rows: Vec<(&str, String)> = vec![
        ("**Usage**", String::new()),
        (
            "analyses done",
            int(now.analyses_done, before.analyses_done),
        ),
        (
            "analyses failed",
            int(now.analyses_failed, before.analyses_failed),
        ),
        (
            "repositories analysed",
            int(now.repositories_analysed, before.repositories_analysed),
        ),
        (
            "questions answered",
            int(now.questions_answered, before.questions_answered),
        ),
        (
            "questions failed",
            int(now.questions_failed, before.questions_failed),
        ),
        (
            "users who asked",
            int(now.active_users, before.active_users),
        ),
        (
            "conversations started",
            int(now.conversations, before.conversations),
        ),
        (
            "test generations (validated)",
            format!(
                "| {} ({}) | {} ({}) | {:+} |",
                now.generated_test_runs,
                now.generated_tests_validated,
                before.generated_test_runs,
                before.generated_tests_validated,
                now.generated_tests_validated - before.generated_tests_validated
            ),
        ),
        ("**Quality**", String::new()),
        (
            "mean answer quality (0-1)",
            opt(now.mean_quality, before.mean_quality, 3),
        ),
        (
            "answer time p50 (s)",
            opt(ms(now.answer_p50_ms), ms(before.answer_p50_ms), 2),
        ),
        (
            "answer time p95 (s)",
            opt(ms(now.answer_p95_ms), ms(before.answer_p95_ms), 2),
        ),
        ("ratings", int(now.ratings, before.ratings)),
        (
            "mean rating (1-5)",
            opt(now.mean_rating, before.mean_rating, 2),
        ),
        ("**Learning**", String::new()),
        (
            "feedback received",
            int(now.feedback.values().sum(), before.feedback.values().sum()),
        ),
        (
            "feedback that could not be learned from",
            int(now.feedback_failed, before.feedback_failed),
        ),
        (
            "learning events",
            int(now.learning_events, before.learning_events),
        ),
        (
            "learned-state snapshots published",
            int(now.snapshots_published, before.snapshots_published),
        ),
        ("findings dismissed", int(now.dismissals, before.dismissals)),
    ];
    out.push_str("| | this period | the period before | change |\n|---|---|---|---|\n");
    for (name, row) in rows {
        if row.is_empty() {
            out.push_str(&format!("| {name} | | | |\n"));
        } else {
            out.push_str(&format!("| {name} {row}\n"));
        }
    }
    if !now.feedback.is_empty() {
        let kinds: Vec<String> = now
            .feedback
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        out.push_str(&format!("\nFeedback by kind: {}.\n", kinds.join(", ")));
    }
    out.push_str("\n## Incidents and interventions\n\n");
    let failures = now.analyses_failed + now.questions_failed + now.feedback_failed;
    if now.interventions.is_empty() && failures == 0 {
        out.push_str("None recorded: no failed analyses, questions or feedback, and no rollback, read-only mode, key revocation or manual learning cycle in the audit log.\n");
    } else {
        for (action, n) in &now.interventions {
            out.push_str(&format!("- `{action}`: {n} (audit log)\n"));
        }
        if failures > 0 {
            out.push_str(&format!(
                "- failures: {} analyses, {} questions, {} pieces of feedback\n",
                now.analyses_failed, now.questions_failed, now.feedback_failed
            ));
        }
    }
    out
}
