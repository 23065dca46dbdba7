//! `qa-chatload`: opens many WebSocket sessions to a conversation manager, keeps most of
//! them idle (answering pings) and has some ask a question at a fixed interval, then
//! prints time to first step and to answer (p50/p95/p99), errors and counts as
//! `name value` lines. scripts/bench/conversation.sh runs it against `qa-agent serve`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Parser)]
struct Args {
    /// The conversation manager, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    url: String,
    #[arg(long, env = "QA_AGENT_API_KEY")]
    key: String,
    /// Sessions to open.
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// Of those, how many ask questions.
    #[arg(long, default_value_t = 100)]
    active: usize,
    /// Seconds between one active session's questions.
    #[arg(long, default_value_t = 5.0)]
    interval: f64,
    /// Seconds of load once every session is open.
    #[arg(long, default_value_t = 300)]
    duration: u64,
    /// The analysis the questions are about.
    #[arg(long)]
    analysis_id: i64,
    /// Seconds to hold the sessions idle before the load (to read memory per session).
    #[arg(long, default_value_t = 0)]
    idle_hold: u64,
}

const QUESTIONS: &[&str] = &[
    "what should I test first?",
    "where are the performance hotspots?",
    "what should I refactor first?",
    "are there security vulnerabilities?",
    "test strategy for this repository",
];

#[derive(Default)]
struct Stats {
    first_step_ms: Vec<f64>,
    answer_ms: Vec<f64>,
    errors: Vec<String>,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(url: &str, key: &str) -> anyhow::Result<Ws> {
    let mut req = format!("{}/ws", url.replacen("http", "ws", 1)).into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {key}").parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    ws.send(Message::text(
        json!({ "type": "hello", "v": 1 }).to_string(),
    ))
    .await?;
    loop {
        match ws.next().await.context("closed before the session")?? {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t)?;
                anyhow::ensure!(v["type"] == "session", "expected a session, got {v}");
                return Ok(ws);
            }
            _ => continue,
        }
    }
}

/// Reads frames until `stop`; the socket answers pings as it reads.
async fn idle(mut ws: Ws, stop: Instant) {
    while Instant::now() < stop {
        match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
            Ok(Some(Ok(_))) | Err(_) => {}
            _ => return,
        }
    }
    let _ = ws.close(None).await;
}

async fn active(
    mut ws: Ws,
    n: usize,
    args: Arc<Args>,
    stop: Instant,
    stats: Arc<Mutex<Stats>>,
    asked: Arc<AtomicU64>,
) {
    let every = Duration::from_secs_f64(args.interval);
    // Spread the sessions over the interval.
    tokio::time::sleep(every.mul_f64(n as f64 / args.active.max(1) as f64)).await;
    let mut q = n;
    while Instant::now() < stop {
        let started = Instant::now();
        let question = QUESTIONS[q % QUESTIONS.len()];
        q += 1;
        let frame = json!({ "type": "message", "text": question, "analysis_id": args.analysis_id });
        if let Err(e) = ws.send(Message::text(frame.to_string())).await {
            stats.lock().await.errors.push(format!("send: {e}"));
            return;
        }
        asked.fetch_add(1, Ordering::Relaxed);
        let mut first_step = None;
        let outcome = loop {
            let frame = match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
                Ok(Some(Ok(f))) => f,
                Ok(other) => break Err(format!("connection: {other:?}")),
                Err(_) => break Err("no answer within 60 s".to_string()),
            };
            let Message::Text(t) = frame else { continue };
            let v: Value = serde_json::from_str(&t).unwrap_or_default();
            match v["type"].as_str() {
                Some("step") if first_step.is_none() => first_step = Some(started.elapsed()),
                Some("answer") => break Ok(started.elapsed()),
                Some("error") => break Err(format!("{}: {}", v["code"], v["detail"])),
                _ => {}
            }
        };
        let mut s = stats.lock().await;
        match outcome {
            Ok(answer) => {
                s.answer_ms.push(answer.as_secs_f64() * 1e3);
                if let Some(f) = first_step {
                    s.first_step_ms.push(f.as_secs_f64() * 1e3);
                }
            }
            Err(e) => s.errors.push(e),
        }
        drop(s);
        let next = started + every;
        tokio::time::sleep_until(next.into()).await;
    }
    let _ = ws.close(None).await;
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    let opened = Instant::now();
    let mut sockets = Vec::with_capacity(args.sessions);
    let mut open_errors = 0;
    for _ in 0..args.sessions {
        match open(&args.url, &args.key).await {
            Ok(ws) => sockets.push(ws),
            Err(e) => {
                open_errors += 1;
                eprintln!("open: {e}");
            }
        }
    }
    println!(
        "sessions_opened {} in {:.1} s",
        sockets.len(),
        opened.elapsed().as_secs_f64()
    );
    println!("open_errors {open_errors}");
    if args.idle_hold > 0 {
        // Idle, for the server's memory to be read from outside.
        println!("idle_hold_begins {}", args.idle_hold);
        let hold = Instant::now() + Duration::from_secs(args.idle_hold);
        let mut held = Vec::new();
        for ws in sockets.drain(..) {
            held.push(tokio::spawn(async move {
                let mut ws = ws;
                while Instant::now() < hold {
                    match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
                        Ok(Some(Ok(_))) | Err(_) => {}
                        _ => return None,
                    }
                }
                Some(ws)
            }));
        }
        for h in held {
            if let Ok(Some(ws)) = h.await {
                sockets.push(ws);
            }
        }
    }
    let stop = Instant::now() + Duration::from_secs(args.duration);
    let stats = Arc::new(Mutex::new(Stats::default()));
    let asked = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (i, ws) in sockets.into_iter().enumerate() {
        if i < args.active {
            tasks.push(tokio::spawn(active(
                ws,
                i,
                args.clone(),
                stop,
                stats.clone(),
                asked.clone(),
            )));
        } else {
            tasks.push(tokio::spawn(idle(ws, stop)));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut s = stats.lock().await;
    let n = s.answer_ms.len();
    println!("questions_asked {}", asked.load(Ordering::Relaxed));
    println!("answers {n}");
    println!("turns_per_sec {:.1}", n as f64 / args.duration as f64);
    println!("errors {}", s.errors.len());
    for e in s.errors.iter().take(5) {
        println!("error_sample {e}");
    }
    let mut first = std::mem::take(&mut s.first_step_ms);
    let mut answer = std::mem::take(&mut s.answer_ms);
    for (name, v) in [("first_step_ms", &mut first), ("answer_ms", &mut answer)] {
        println!("{name}_p50 {:.1}", pct(v, 0.5));
        println!("{name}_p95 {:.1}", pct(v, 0.95));
        println!("{name}_p99 {:.1}", pct(v, 0.99));
    }
    Ok(())
}
