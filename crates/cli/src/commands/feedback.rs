//! `qa-agent feedback`: feedback to the learning engine (docs/learning.md), on a running
//! one with `--server`, else on the embedded database (the engine runs in this process
//! until the feedback is learned from).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use qa_server::ServiceKind;
use serde_json::{Value, json};

use crate::args::{FeedbackAction, FeedbackArgs};
use crate::output::write_stdout;

pub fn run(args: FeedbackArgs) -> anyhow::Result<ExitCode> {
    super::embedded::block_on(async move {
        if let Some(server) = &args.remote.server {
            let key = args.remote.api_key.as_deref().context(
                "--server needs an API key: --api-key or QA_AGENT_API_KEY (`qa-agent admin create-key`)",
            )?;
            let out = call(server.trim_end_matches('/'), key, &args.action).await?;
            write_stdout(&out)?;
            return Ok(ExitCode::SUCCESS);
        }
        let embedded = super::embedded::Embedded::start(
            args.remote.config.as_deref(),
            None,
            &[ServiceKind::Learning],
        )
        .await?;
        let api = embedded.url(ServiceKind::Learning);
        let result = async {
            let out = call(&api, &embedded.key, &args.action).await?;
            learned(&api).await;
            Ok::<_, anyhow::Error>(out)
        }
        .await;
        embedded.stop().await;
        write_stdout(&result?)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The request an action makes: method, path, body.
fn request(action: &FeedbackAction) -> (&'static str, String, Option<Value>) {
    let give = |body: Value| ("POST", "/api/v1/feedback".to_string(), Some(body));
    match action {
        FeedbackAction::Dismiss {
            finding,
            reason,
            comment,
        } => give(json!({
            "target": "finding", "target_id": finding, "kind": "dismiss",
            "reason": reason, "comment": comment,
        })),
        FeedbackAction::Confirm { finding } => {
            give(json!({ "target": "finding", "target_id": finding, "kind": "confirm" }))
        }
        FeedbackAction::Rate { task, rating } => give(json!({
            "target": "answer", "target_id": task, "kind": "rating", "rating": rating,
        })),
        FeedbackAction::Correct {
            task,
            intent,
            comment,
        } => give(json!({
            "target": "correction", "target_id": task, "kind": "correction",
            "intent": intent, "comment": comment,
        })),
        FeedbackAction::Undo { feedback } => {
            ("DELETE", format!("/api/v1/feedback/{feedback}"), None)
        }
        FeedbackAction::State => ("GET", "/api/v1/learning/state".to_string(), None),
    }
}

async fn call(api: &str, key: &str, action: &FeedbackAction) -> anyhow::Result<String> {
    let (method, path, body) = request(action);
    let client = reqwest::Client::new();
    let mut req = client
        .request(
            method.parse().expect("a valid method"),
            format!("{api}{path}"),
        )
        .bearer_auth(key);
    if let Some(mut body) = body {
        // Leave unset options out rather than sending nulls.
        if let Some(o) = body.as_object_mut() {
            o.retain(|_, v| !v.is_null());
        }
        req = req.json(&body);
    }
    let response = req
        .send()
        .await
        .with_context(|| format!("cannot reach the learning engine at {api}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!(
            "the learning engine answered {status}: {}",
            body["detail"].as_str().unwrap_or("no detail")
        );
    }
    Ok(match action {
        FeedbackAction::State => format!("{}\n", serde_json::to_string_pretty(&body)?),
        FeedbackAction::Undo { feedback } => format!("feedback {feedback} undone\n"),
        _ => format!(
            "feedback {} stored; undo it with `qa-agent feedback undo {}`\n",
            body["id"], body["id"]
        ),
    })
}

/// Waits (up to 10 s) until the embedded engine has processed its backlog, so the
/// feedback counts before this process stops.
async fn learned(api: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let health = async {
            reqwest::get(format!("{api}/health/detailed"))
                .await
                .ok()?
                .json::<Value>()
                .await
                .ok()
        }
        .await;
        if health.is_some_and(|h| h["feedback_processing"]["pending"] == 0) {
            // One more beat for the rebuild that follows processing.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
