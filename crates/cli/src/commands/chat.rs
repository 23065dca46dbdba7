//! `qa-agent chat`: an interactive terminal chat on the conversation manager's WebSocket
//! protocol (docs/conversation.md). Each line typed is a question; steps stream to
//! stderr, answers to stdout. `/new` starts a conversation, `/cancel` stops the answer,
//! `/path DIR` sets the repository, `/quit` (or end of input) leaves. With `--server` it
//! talks to a running conversation manager; without, it runs the services in-process.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use qa_server::ServiceKind;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::args::ChatArgs;

pub fn run(args: ChatArgs) -> anyhow::Result<ExitCode> {
    super::embedded::block_on(execute(args))
}

async fn execute(args: ChatArgs) -> anyhow::Result<ExitCode> {
    if let Some(server) = &args.remote.server {
        let key = args
            .remote
            .api_key
            .as_deref()
            .context("--server needs an API key: pass --api-key or set QA_AGENT_API_KEY")?;
        return chat(
            server.trim_end_matches('/'),
            key,
            args.path.clone(),
            args.conversation,
        )
        .await;
    }
    let embedded = super::embedded::Embedded::start(
        args.remote.config.as_deref(),
        args.path.as_deref(),
        &[
            ServiceKind::Orchestrator,
            ServiceKind::Specialists,
            ServiceKind::Conversation,
        ],
    )
    .await?;
    let url = embedded.url(ServiceKind::Conversation);
    let result = chat(
        &url,
        &embedded.key.clone(),
        embedded.path.clone(),
        args.conversation,
    )
    .await;
    embedded.stop().await;
    result
}

async fn chat(
    base: &str,
    key: &str,
    mut path: Option<String>,
    resume: Option<i64>,
) -> anyhow::Result<ExitCode> {
    let mut req = format!("{}/ws", base.replacen("http", "ws", 1))
        .into_client_request()
        .context("not a server URL")?;
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {key}")
            .parse()
            .context("the API key is not a valid header value")?,
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .with_context(|| format!("cannot open a WebSocket to {base}/ws"))?;
    let hello = match resume {
        Some(id) => json!({ "type": "resume", "v": 1, "conversation_id": id }),
        None => json!({ "type": "hello", "v": 1 }),
    };
    ws.send(Message::text(hello.to_string())).await?;

    // Lines of input, read on a thread of their own.
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<String>(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if lines_tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    // One question at a time: input is read once the session is open and the last
    // question answered (typed-ahead lines wait their turn).
    let mut waiting = true;
    // A resumed conversation replays its history first, up to this event.
    let mut catching_up = true;
    let mut catch_up_to = 0;
    // Lines typed ahead wait their turn; `/cancel` acts at once.
    let mut pending: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut input_closed = false;
    loop {
        if !waiting && let Some(line) = pending.pop_front() {
            let line = line.trim().to_string();
            match line
                .split_once(' ')
                .map_or((line.as_str(), ""), |(a, b)| (a, b.trim()))
            {
                ("", _) => {}
                ("/path", dir) => {
                    path = (!dir.is_empty()).then(|| dir.to_string());
                    eprintln!("repository: {}", path.as_deref().unwrap_or("(none)"));
                }
                ("/new", _) => {
                    eprintln!(
                        "start a new conversation by running `qa-agent chat` again (this one stays in the history)"
                    );
                }
                _ => {
                    let mut m = json!({ "type": "message", "text": line });
                    if let Some(p) = &path {
                        m["path"] = p.as_str().into();
                    }
                    ws.send(Message::text(m.to_string())).await?;
                    waiting = true;
                }
            }
            continue;
        }
        if !waiting && input_closed {
            break;
        }
        tokio::select! {
            frame = ws.next() => {
                let Some(frame) = frame else { bail!("the server closed the connection") };
                match frame.context("the connection broke")? {
                    Message::Text(t) => {
                        let v: Value = serde_json::from_str(&t).unwrap_or_default();
                        let ended = show(&v);
                        let id = v["id"].as_i64().unwrap_or(0);
                        // A refusal of the question (busy, invalid, rate limited, ...)
                        // ends the wait as an answer would.
                        let refused = v["type"] == "error"
                            && v["id"].is_null()
                            && matches!(
                                v["code"].as_str(),
                                Some("busy" | "invalid" | "database" | "rate_limited" | "read_only" | "unavailable")
                            );
                        if v["type"] == "session" {
                            catch_up_to = v["last_event_id"].as_i64().unwrap_or(0);
                            catching_up = catch_up_to > 0;
                            waiting = catching_up;
                        } else if catching_up {
                            if id >= catch_up_to {
                                catching_up = false;
                                waiting = false;
                            }
                        } else if ended || refused {
                            waiting = false;
                        }
                    }
                    Message::Close(c) => bail!("the server closed the connection: {}", c.map(|c| c.reason.to_string()).unwrap_or_default()),
                    _ => {}
                }
            }
            line = lines.recv(), if !input_closed => {
                match line {
                    None => input_closed = true,
                    // `/quit` leaves once what was asked before it is answered.
                    Some(l) if (l.trim() == "/quit" || l.trim() == "/exit") && pending.is_empty() && !waiting => break,
                    Some(l) if l.trim() == "/cancel" => {
                        ws.send(Message::text(json!({ "type": "cancel" }).to_string())).await?;
                    }
                    Some(l) => pending.push_back(l),
                }
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(ExitCode::SUCCESS)
}

/// Prints one event; true when it ends a turn (an answer or a turn's error).
fn show(v: &Value) -> bool {
    let mut err = std::io::stderr().lock();
    match v["type"].as_str() {
        Some("session") => {
            let _ = writeln!(
                err,
                "conversation {} ({}). Ask a question; /path DIR, /cancel, /quit.",
                v["conversation_id"],
                if v["resumed"] == true {
                    "resumed"
                } else {
                    "new"
                }
            );
            false
        }
        Some("step") => {
            let who = v["specialist"]
                .as_str()
                .map(|s| format!("[{s}] "))
                .unwrap_or_default();
            let _ = writeln!(err, "  {who}{}", v["thought"].as_str().unwrap_or_default());
            if let Some(a) = v["action"].as_str() {
                let _ = writeln!(
                    err,
                    "    → {a}: {}",
                    v["observation"].as_str().unwrap_or_default()
                );
            }
            false
        }
        Some("answer") => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "\n{}\n", v["text"].as_str().unwrap_or_default());
            let _ = out.flush();
            true
        }
        Some("error") => {
            let _ = writeln!(
                err,
                "error ({}): {}",
                v["code"].as_str().unwrap_or("?"),
                v["detail"].as_str().unwrap_or_default()
            );
            // A turn's error ends it; a frame's error does not.
            !v["id"].is_null()
        }
        _ => false,
    }
}
