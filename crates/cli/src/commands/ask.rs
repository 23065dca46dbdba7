//! `qa-agent ask "…"`: asks the orchestrator and prints the reasoning steps as they stream
//! (stderr), then the answer (stdout). With `--server` it asks a running orchestrator;
//! without, it runs the orchestrator and specialist services inside this process on the
//! embedded database (the same engine, tools and traces) and asks them.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use qa_server::ServiceKind;
use serde_json::{Value, json};

use crate::args::AskArgs;

pub fn run(args: AskArgs) -> anyhow::Result<ExitCode> {
    super::embedded::block_on(execute(args))
}

async fn execute(args: AskArgs) -> anyhow::Result<ExitCode> {
    let mut body = json!({ "question": args.question });
    if let Some(id) = args.analysis {
        body["analysis_id"] = id.into();
    }
    if !args.specialists.is_empty() {
        body["specialists"] = json!(args.specialists);
    }
    if let Some(m) = &args.mode {
        body["mode"] = m.as_str().into();
    }
    if let Some(server) = &args.remote.server {
        let key = args.remote.api_key.as_deref().context(
            "--server needs an API key: pass --api-key or set QA_AGENT_API_KEY (an admin creates one with `qa-agent admin create-key`)",
        )?;
        if let Some(p) = &args.path {
            body["path"] = p.as_str().into();
        }
        return ask(server.trim_end_matches('/'), key, &body, args.json).await;
    }
    let embedded = super::embedded::Embedded::start(
        args.remote.config.as_deref(),
        args.path.as_deref(),
        &[ServiceKind::Orchestrator, ServiceKind::Specialists],
    )
    .await?;
    if let Some(p) = &embedded.path {
        body["path"] = p.as_str().into();
    }
    let api = embedded.url(ServiceKind::Orchestrator);
    let result = ask(&api, &embedded.key, &body, args.json).await;
    embedded.stop().await;
    result
}

/// Asks with a streamed answer: steps to stderr as they come, the answer to stdout.
async fn ask(api: &str, key: &str, body: &Value, as_json: bool) -> anyhow::Result<ExitCode> {
    let mut response = reqwest::Client::new()
        .post(format!("{api}/api/v1/agent/tasks?stream=ndjson"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .with_context(|| format!("cannot reach the orchestrator at {api}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let problem: Value = response.json().await.unwrap_or_default();
        bail!(
            "the orchestrator answered {status}: {}",
            problem["detail"].as_str().unwrap_or("no detail")
        );
    }
    let mut buffer = Vec::new();
    let mut answer = None;
    while let Some(chunk) = response
        .chunk()
        .await
        .context("the answer stream broke off")?
    {
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let Ok(event) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            match event["type"].as_str() {
                Some("step") if !as_json => print_step(&event),
                Some("answer") => answer = Some(event),
                Some("error") => bail!(
                    "the question could not be answered: {}",
                    event["detail"].as_str().unwrap_or("unknown error")
                ),
                _ => {}
            }
        }
    }
    let Some(answer) = answer else {
        bail!("the orchestrator closed the stream before answering");
    };
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let a = &answer["answer"];
    writeln!(out, "\n{}\n", a["text"].as_str().unwrap_or_default())?;
    for art in a["artifacts"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "--- {} ({}) ---\n{}\n",
            art["title"].as_str().unwrap_or_default(),
            art["kind"].as_str().unwrap_or_default(),
            art["content"].as_str().unwrap_or_default()
        )?;
    }
    let specialists: Vec<&str> = a["specialists"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    writeln!(
        out,
        "— {} · confidence {:.2} · quality {} · {} tool call(s) · task {}",
        if specialists.is_empty() {
            "no specialist".to_string()
        } else {
            specialists.join(", ")
        },
        a["confidence"].as_f64().unwrap_or(0.0),
        a["quality"]["score"]
            .as_f64()
            .map_or("n/a".to_string(), |q| format!("{q:.2}")),
        a["tool_calls"],
        answer["id"]
    )?;
    Ok(ExitCode::SUCCESS)
}

fn print_step(step: &Value) {
    let who = step["specialist"]
        .as_str()
        .map(|s| format!("[{s}] "))
        .unwrap_or_default();
    let thought = step["thought"].as_str().unwrap_or_default();
    let mut err = std::io::stderr().lock();
    match step["action"].as_str() {
        Some(action) => {
            let _ = writeln!(
                err,
                "  {who}{thought}\n    → {action}: {} ({}, {:.0} ms)",
                step["observation"].as_str().unwrap_or_default(),
                step["outcome"].as_str().unwrap_or_default(),
                step["duration_ms"].as_f64().unwrap_or(0.0)
            );
        }
        None => {
            let _ = writeln!(err, "  {who}{thought}");
        }
    }
}
