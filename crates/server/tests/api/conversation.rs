//! The conversation manager's WebSocket and REST routes: a question answered with its
//! steps streamed as stored events, resuming after the last event seen (no gaps, no
//! duplicates), another user's conversation refused, bad frames answered without harm,
//! feedback stored, export, and the runbook's metrics.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use qa_server::ServiceKind;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::analyses::workspace;
use crate::helpers::{ADMIN_KEY, call, spawn, test_config};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(base: &str, key: Option<&str>) -> Socket {
    let mut req = format!("{}/ws", base.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    if let Some(k) = key {
        req.headers_mut()
            .insert("authorization", format!("Bearer {k}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(req)
        .await
        .expect("upgrade")
        .0
}

async fn send(ws: &mut Socket, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// The next JSON text frame (pings skipped), within 30 s.
async fn next(ws: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a frame within 30 s")
            .expect("the connection is open")
            .expect("a frame");
        match frame {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => continue,
        }
    }
}

/// Frames until (and with) the first of `kind`.
async fn until(ws: &mut Socket, kind: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let v = next(ws).await;
        let done = v["type"] == kind;
        out.push(v);
        if done {
            return out;
        }
    }
}

#[tokio::test]
async fn a_question_streams_stored_events_and_a_resume_misses_nothing() {
    let ws_dir = workspace();
    let root = ws_dir.path().join("shop");
    let (mut config, _data) = test_config();
    config.workspace_roots = vec![ws_dir.path().to_path_buf()];
    let running = spawn(&config, &ServiceKind::ALL).await;
    let chat = running.url(ServiceKind::Conversation).unwrap();

    let mut ws = connect(&chat, Some(ADMIN_KEY)).await;
    send(&mut ws, json!({ "type": "hello", "v": 1 })).await;
    let session = next(&mut ws).await;
    assert_eq!(session["type"], "session", "{session}");
    assert_eq!(session["resumed"], false);
    let conversation = session["conversation_id"].as_i64().unwrap();

    send(&mut ws, json!({ "type": "message", "text": "what should I test first?", "path": root.display().to_string() })).await;
    let events = until(&mut ws, "answer").await;
    // Ids increase by one from the first event: nothing skipped, nothing twice.
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as i64).collect::<Vec<_>>(),
        "{events:?}"
    );
    assert_eq!(events[0]["type"], "message");
    assert_eq!(events[0]["text"], "what should I test first?");
    assert!(events.iter().filter(|e| e["type"] == "step").count() >= 3);
    let answer = events.last().unwrap();
    assert!(
        answer["text"].as_str().unwrap().contains("Cart.total"),
        "{answer}"
    );
    assert_eq!(answer["specialists"], json!(["test-architect"]));
    let last = *ids.last().unwrap();

    // Feedback on the answer is stored.
    send(&mut ws, json!({ "type": "feedback", "target": "answer", "target_id": answer["task_id"].to_string(), "kind": "rating", "rating": 5 })).await;
    let ack = next(&mut ws).await;
    assert_eq!(ack["stored"], true, "{ack}");
    drop(ws);

    // Reconnect having seen only up to the third event: the rest comes, once, in order.
    let mut ws = connect(&chat, Some(ADMIN_KEY)).await;
    send(
        &mut ws,
        json!({ "type": "resume", "conversation_id": conversation, "last_event_id": 3 }),
    )
    .await;
    let session = next(&mut ws).await;
    assert_eq!(
        (session["resumed"].clone(), session["last_event_id"].clone()),
        (json!(true), json!(last))
    );
    let replay = until(&mut ws, "answer").await;
    let replayed: Vec<i64> = replay.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(replayed, (4..=last).collect::<Vec<_>>());
    assert_eq!(replay.last().unwrap()["text"], answer["text"]);
    // Still alive and answering.
    send(&mut ws, json!({ "type": "ping" })).await;
    assert_eq!(next(&mut ws).await["type"], "pong");

    // REST: the same conversation, its messages, an export.
    let (code, _, list) = call(
        "GET",
        &format!("{chat}/api/v1/conversations"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(list["conversations"][0]["id"], conversation);
    let (_, _, one) = call(
        "GET",
        &format!("{chat}/api/v1/conversations/{conversation}"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    let roles: Vec<&str> = one["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant"]);
    let md = reqwest::Client::new()
        .get(format!(
            "{chat}/api/v1/conversations/{conversation}/export?format=markdown"
        ))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        md.contains("## You\n\nwhat should I test first?") && md.contains("Cart.total"),
        "{md}"
    );

    // The runbook's names carry values.
    let ops = running.ops_url(ServiceKind::Conversation).unwrap();
    let (_, metrics) = crate::helpers::get(&format!("{ops}/metrics")).await;
    for name in [
        "websocket_connections 1",
        "session_persistence_writes_total{outcome=\"ok\"}",
        "session_persistence_restores_total 1",
        "conversation_turns_total{outcome=\"answered\"} 1",
        "conversation_messages_total{role=\"assistant\"} 1",
    ] {
        assert!(metrics.contains(name), "{name} in\n{metrics}");
    }
    running.shutdown();
}

#[tokio::test]
async fn bad_frames_floods_and_strangers_get_errors_and_the_server_is_unharmed() {
    let (config, _data) = test_config();
    let running = spawn(&config, &ServiceKind::ALL).await;
    let chat = running.url(ServiceKind::Conversation).unwrap();

    // No credentials: told, then closed.
    let mut ws = connect(&chat, None).await;
    send(&mut ws, json!({ "type": "hello" })).await;
    assert_eq!(next(&mut ws).await["code"], "unauthorized");
    // A wrong key on the upgrade is refused before it.
    let mut req = format!("{}/ws", chat.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer qak_nope".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    // A browser's way: a session token in hello.
    let (_, _, t) = call(
        "POST",
        &format!("{chat}/api/v1/session-token"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    let mut ws = connect(&chat, None).await;
    send(&mut ws, json!({ "type": "hello", "token": t["token"] })).await;
    assert_eq!(next(&mut ws).await["type"], "session");

    // Garbage, unknown types, frames before their time: errors, the connection lives on.
    ws.send(Message::text("{not json")).await.unwrap();
    assert_eq!(next(&mut ws).await["code"], "bad_frame");
    send(&mut ws, json!({ "type": "teleport" })).await;
    assert_eq!(next(&mut ws).await["code"], "unknown_type");
    send(&mut ws, json!({ "type": "cancel" })).await;
    assert_eq!(next(&mut ws).await["code"], "nothing_to_cancel");
    send(&mut ws, json!({ "type": "feedback", "target": "answer", "target_id": "1", "kind": "rating", "rating": 9 })).await;
    assert_eq!(next(&mut ws).await["code"], "invalid");
    // A flood: past the burst, frames are dropped with an error.
    for _ in 0..40 {
        send(&mut ws, json!({ "type": "ping" })).await;
    }
    let mut limited = 0;
    for _ in 0..40 {
        if next(&mut ws).await["code"] == "rate_limited" {
            limited += 1;
        }
    }
    assert!(limited >= 10, "{limited} of 40 were limited");

    // Someone else's conversation: refused, and closed.
    let db = qa_store::Database::open(None, &config.data_dir, 1)
        .await
        .unwrap();
    let tenant = db.tenant_by_name("default").await.unwrap().unwrap();
    let user = db
        .create_user(tenant.id, "other@example.com", qa_store::Role::Member)
        .await
        .unwrap();
    let theirs = db
        .create_conversation(tenant.id, user.id, None)
        .await
        .unwrap();
    let mut ws = connect(&chat, Some(ADMIN_KEY)).await;
    send(
        &mut ws,
        json!({ "type": "resume", "conversation_id": theirs.id }),
    )
    .await;
    assert_eq!(next(&mut ws).await["code"], "forbidden");
    let closed = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(
        matches!(closed, Some(Ok(Message::Close(Some(ref f)))) if u16::from(f.code) == 4403),
        "{closed:?}"
    );
    let (code, _, _) = call(
        "GET",
        &format!("{chat}/api/v1/conversations/{}", theirs.id),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(code, 404);

    // Oversized: the connection is closed, the server still serves others.
    let mut ws = connect(&chat, Some(ADMIN_KEY)).await;
    send(&mut ws, json!({ "type": "hello" })).await;
    next(&mut ws).await;
    let _ = ws.send(Message::text("x".repeat(70_000))).await;
    let end = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(!matches!(end, Some(Ok(Message::Text(_)))), "{end:?}");
    let mut ws = connect(&chat, Some(ADMIN_KEY)).await;
    send(&mut ws, json!({ "type": "hello" })).await;
    assert_eq!(next(&mut ws).await["type"], "session");

    let ops = running.ops_url(ServiceKind::Conversation).unwrap();
    let (_, metrics) = crate::helpers::get(&format!("{ops}/metrics")).await;
    for kind in [
        "bad_frame",
        "unknown_type",
        "rate_limited",
        "forbidden",
        "unauthorized",
    ] {
        assert!(
            metrics.contains(&format!("websocket_errors_total{{kind=\"{kind}\"}}")),
            "{kind} in\n{metrics}"
        );
    }
    running.shutdown();
}

/// The orchestrator and specialists in one process, two conversation managers in two
/// others, sharing the database and Redis: two replicas behind one address.
async fn replicas(
    config: &qa_server::ServerConfig,
) -> (qa_server::Running, qa_server::Running, qa_server::Running) {
    let core = spawn(
        config,
        &[
            ServiceKind::Orchestrator,
            ServiceKind::Specialists,
            ServiceKind::Learning,
        ],
    )
    .await;
    let mut replica = config.clone();
    replica.peers.orchestrator = core.url(ServiceKind::Orchestrator);
    let a = spawn(&replica, &[ServiceKind::Conversation]).await;
    let b = spawn(&replica, &[ServiceKind::Conversation]).await;
    (core, a, b)
}

/// A new session opened on replica A and the same session resumed on replica B.
async fn one_session_on_both(url_a: &str, url_b: &str) -> (Socket, Socket, i64) {
    let mut on_a = connect(url_a, Some(ADMIN_KEY)).await;
    send(&mut on_a, json!({ "type": "hello" })).await;
    let conversation = next(&mut on_a).await["conversation_id"].as_i64().unwrap();
    let mut on_b = connect(url_b, Some(ADMIN_KEY)).await;
    send(
        &mut on_b,
        json!({ "type": "resume", "conversation_id": conversation }),
    )
    .await;
    assert_eq!(next(&mut on_b).await["resumed"], true);
    (on_a, on_b, conversation)
}

#[tokio::test]
async fn two_replicas_share_sessions_through_redis() {
    let Ok(redis) = std::env::var("QA_AGENT_TEST_REDIS_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "QA_AGENT_TEST_REDIS_URL is not set in CI (.ci/run sets it)"
        );
        eprintln!("SKIPPED: two conversation replicas (set QA_AGENT_TEST_REDIS_URL)");
        return;
    };
    let ws_dir = workspace();
    let root = ws_dir.path().join("shop");
    let (mut config, _data) = test_config();
    config.workspace_roots = vec![ws_dir.path().to_path_buf()];
    config.redis_url = Some(redis);
    let (core, a, b) = replicas(&config).await;
    let (url_a, url_b) = (
        a.url(ServiceKind::Conversation).unwrap(),
        b.url(ServiceKind::Conversation).unwrap(),
    );
    assert_ne!(url_a, url_b);

    let (mut on_a, mut on_b, conversation) = one_session_on_both(&url_a, &url_b).await;

    // Asked on A, answered to both: B receives every event live, through Redis.
    send(&mut on_a, json!({ "type": "message", "text": "review pkg/pricing.py for security", "path": root.display().to_string() })).await;
    let seen_a = until(&mut on_a, "answer").await;
    let seen_b = until(&mut on_b, "answer").await;
    let ids = |v: &[Value]| {
        v.iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&seen_a), ids(&seen_b));
    assert!(
        seen_b.last().unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("SEC001")
    );

    // Replica A goes away; its client resumes on B after the last event it saw and
    // misses nothing of the next question.
    a.shutdown();
    drop(on_a);
    let last = *ids(&seen_a).last().unwrap();
    let started = std::time::Instant::now();
    let mut again = connect(&url_b, Some(ADMIN_KEY)).await;
    send(
        &mut again,
        json!({ "type": "resume", "conversation_id": conversation, "last_event_id": last }),
    )
    .await;
    assert_eq!(next(&mut again).await["last_event_id"], last);
    eprintln!(
        "served again on the other replica after {:?}",
        started.elapsed()
    );
    send(&mut again, json!({ "type": "message", "text": "what should I test first?", "path": root.display().to_string() })).await;
    let more = until(&mut again, "answer").await;
    assert_eq!(more[0]["id"], last + 1);
    let watched = until(&mut on_b, "answer").await;
    assert_eq!(ids(&more), ids(&watched));
    b.shutdown();
    core.shutdown();
}

#[tokio::test]
async fn a_redis_outage_refuses_questions_clearly_and_every_client_catches_up_after_it() {
    let Some((redis, port)) = crate::operations::own_redis("a Redis outage") else {
        return;
    };
    let ws_dir = workspace();
    let path = ws_dir.path().join("shop").display().to_string();
    let (mut config, _data) = test_config();
    config.workspace_roots = vec![ws_dir.path().to_path_buf()];
    config.redis_url = Some(format!("redis://127.0.0.1:{port}"));
    let (core, a, b) = replicas(&config).await;
    let (url_a, url_b) = (
        a.url(ServiceKind::Conversation).unwrap(),
        b.url(ServiceKind::Conversation).unwrap(),
    );
    let (mut on_a, mut on_b, conversation) = one_session_on_both(&url_a, &url_b).await;
    send(
        &mut on_a,
        json!({ "type": "message", "text": "what should I test first?", "path": path }),
    )
    .await;
    let before = until(&mut on_a, "answer").await;
    assert_eq!(until(&mut on_b, "answer").await.len(), before.len());
    let last = before.last().unwrap()["id"].as_i64().unwrap();

    // Redis goes away.
    drop(redis);
    // A question is refused with a reason, and nothing is stored for it.
    send(
        &mut on_a,
        json!({ "type": "message", "text": "is pkg/pricing.py safe?", "path": path }),
    )
    .await;
    let refused = next(&mut on_a).await;
    assert_eq!(
        (refused["code"].as_str(), refused["id"].clone()),
        (Some("unavailable"), Value::Null),
        "{refused}"
    );
    send(&mut on_a, json!({ "type": "ping" })).await;
    assert_eq!(next(&mut on_a).await["type"], "pong");
    // A session still opens (its history is in the database), on either replica.
    let mut fresh = connect(&url_b, Some(ADMIN_KEY)).await;
    send(
        &mut fresh,
        json!({ "type": "resume", "conversation_id": conversation }),
    )
    .await;
    let session = next(&mut fresh).await;
    assert_eq!(session["last_event_id"], last, "{session}");
    let history = until(&mut fresh, "answer").await;
    assert_eq!(history.last().unwrap()["id"], last);

    // Redis is back: the question goes through, and every client gets all of it, in
    // order, whether its replica's subscription came back before or after it was sent.
    let _redis = crate::operations::RedisServer::start(port).unwrap();
    let started = std::time::Instant::now();
    // Stored events A sees from now on. A question refused while Redis is still
    // unreachable (`unavailable`, not stored) is asked again; the first one taken is
    // answered (no service trips over its stale Redis connection).
    let mut answered: Vec<Value> = Vec::new();
    'ask: loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "Redis back, still no answer: {answered:?}"
        );
        send(
            &mut on_a,
            json!({ "type": "message", "text": "is pkg/pricing.py safe?", "path": path }),
        )
        .await;
        loop {
            let e = next(&mut on_a).await;
            if e["id"].is_null() {
                assert_eq!(e["code"], "unavailable", "{e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue 'ask;
            }
            answered.push(e.clone());
            assert_ne!(e["type"], "error", "{answered:?}");
            if e["type"] == "answer" {
                break 'ask;
            }
        }
    }
    let ids = |v: &[Value]| {
        v.iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&answered),
        (last + 1..=last + answered.len() as i64).collect::<Vec<_>>()
    );
    for watcher in [&mut on_b, &mut fresh] {
        let seen = until(watcher, "answer").await;
        assert_eq!(ids(&seen), ids(&answered));
    }
    a.shutdown();
    b.shutdown();
    core.shutdown();
}

/// An OpenAI-compatible model that never answers within a test: a question planned by it
/// is still reasoning when it is cancelled.
async fn model_that_thinks_forever() -> String {
    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_secs(120)).await;
        "data: [DONE]\n\n"
    }
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(slow));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/v1")
}

#[tokio::test]
async fn cancel_stops_the_orchestrators_reasoning_and_frees_the_conversation() {
    let ws_dir = workspace();
    let path = ws_dir.path().join("shop").display().to_string();
    let (mut config, _data) = test_config();
    config.workspace_roots = vec![ws_dir.path().to_path_buf()];
    config.llm_provider = "openai".into();
    config.llm_model = Some("stub".into());
    config.llm_base_url = Some(model_that_thinks_forever().await);
    config.turns_per_user = 1;
    let running = spawn(&config, &ServiceKind::ALL).await;
    let chat = running.url(ServiceKind::Conversation).unwrap();
    let api = running.url(ServiceKind::Orchestrator).unwrap();

    let mut ws = connect(&chat, Some(ADMIN_KEY)).await;
    send(&mut ws, json!({ "type": "hello" })).await;
    next(&mut ws).await;
    send(
        &mut ws,
        json!({ "type": "message", "text": "what should I test first?", "path": path }),
    )
    .await;
    assert_eq!(next(&mut ws).await["type"], "message");
    // The orchestrator is reasoning (waiting on the model).
    let task = loop {
        let (_, _, list) = call(
            "GET",
            &format!("{api}/api/v1/agent/tasks"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        if let Some(t) = list["tasks"].as_array().and_then(|t| t.first()) {
            break t["id"].as_i64().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The user's one turn is taken: another conversation of theirs must wait.
    let mut other = connect(&chat, Some(ADMIN_KEY)).await;
    send(&mut other, json!({ "type": "hello" })).await;
    next(&mut other).await;
    let question = json!({ "type": "message", "text": "is pkg/pricing.py safe?", "path": path });
    send(&mut other, question.clone()).await;
    assert_eq!(next(&mut other).await["code"], "too_many_turns");

    let started = std::time::Instant::now();
    send(&mut ws, json!({ "type": "cancel" })).await;
    // Steps taken before the cancel may still come; then the cancel.
    let cancelled = until(&mut ws, "error").await.pop().unwrap();
    assert_eq!(
        (cancelled["type"].as_str(), cancelled["code"].as_str()),
        (Some("error"), Some("cancelled")),
        "{cancelled}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopped in {:?}",
        started.elapsed()
    );
    // Stopped on the orchestrator too, not left reasoning for nobody.
    let mut status = Value::Null;
    for _ in 0..50 {
        let (_, _, t) = call(
            "GET",
            &format!("{api}/api/v1/agent/tasks/{task}"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        status = t["status"].clone();
        if status == "cancelled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "cancelled");
    // The user's turn is free again at once.
    send(&mut other, question).await;
    let asked = next(&mut other).await;
    assert_eq!(asked["type"], "message");
    // Stopped from another connection to that conversation (a reload, another tab).
    let mut tab = connect(&chat, Some(ADMIN_KEY)).await;
    let other_id = asked["id"].as_i64().unwrap();
    let (_, _, list) = call(
        "GET",
        &format!("{chat}/api/v1/conversations"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    let other_conversation = list["conversations"][0]["id"].as_i64().unwrap();
    send(&mut tab, json!({ "type": "resume", "conversation_id": other_conversation, "last_event_id": other_id })).await;
    assert_eq!(next(&mut tab).await["type"], "session");
    send(&mut tab, json!({ "type": "cancel" })).await;
    let seen = until(&mut other, "error").await.pop().unwrap();
    assert_eq!(seen["code"], "cancelled", "{seen}");
    assert_eq!(
        until(&mut tab, "error").await.pop().unwrap()["code"],
        "cancelled"
    );
    // A task that no longer runs cannot be stopped.
    let (code, _, _) = call(
        "POST",
        &format!("{api}/api/v1/agent/tasks/{task}/cancel"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(code, 404);
    running.shutdown();
}
