//! The providers against local HTTP stubs that speak each wire format, including the
//! ways real endpoints misbehave: rate limits, broken streams, truncated tool arguments,
//! slowness.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use qa_llm::{Client, LlmError, Message, ProviderConfig, Request, Spend, ToolSpec};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Stub {
    calls: Arc<AtomicUsize>,
    /// What each call answers, in turn (the last one repeats).
    script: Arc<Vec<(u16, String)>>,
    seen: Arc<std::sync::Mutex<Vec<(HeaderMap, Value)>>>,
    delay: Duration,
}

async fn answer(State(stub): State<Stub>, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    let n = stub.calls.fetch_add(1, Ordering::SeqCst);
    stub.seen.lock().unwrap().push((headers, body.0));
    tokio::time::sleep(stub.delay).await;
    let (status, text) = stub.script[n.min(stub.script.len() - 1)].clone();
    let mut r = (StatusCode::from_u16(status).unwrap(), Body::from(text)).into_response();
    r.headers_mut()
        .insert("content-type", "text/event-stream".parse().unwrap());
    if status == 429 {
        r.headers_mut().insert("retry-after", "0".parse().unwrap());
    }
    r
}

async fn serve(stub: Stub) -> String {
    let app = Router::new()
        .route("/v1/chat/completions", post(answer))
        .route("/v1/messages", post(answer))
        .with_state(stub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn config(kind: &str, base_url: String) -> ProviderConfig {
    ProviderConfig {
        kind: kind.into(),
        base_url,
        model: "test-model".into(),
        api_key: Some("sk-test".into()),
        timeout: Duration::from_secs(5),
        max_retries: 2,
        token_budget: 100_000,
        cost_budget_usd: 0.0,
        usd_per_million_input: 0.0,
        usd_per_million_output: 0.0,
    }
}

fn request() -> Request {
    Request {
        system: "You are qa-agent.".into(),
        messages: vec![Message::user("what should I test first?")],
        tools: vec![ToolSpec {
            name: "list_untested".into(),
            description: "untested functions".into(),
            parameters: json!({ "type": "object", "properties": { "analysis_id": { "type": "integer" } } }),
        }],
        max_tokens: 512,
        no_more_tools: false,
    }
}

fn sse(events: &[Value]) -> String {
    let mut s: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    s.push_str("data: [DONE]\n\n");
    s
}

#[tokio::test]
async fn openai_streams_text_and_tool_calls_and_counts_tokens() {
    let stream = sse(&[
        json!({ "choices": [{ "index": 0, "delta": { "role": "assistant", "content": "Let me " } }] }),
        json!({ "choices": [{ "index": 0, "delta": { "content": "look." } }] }),
        json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "id": "call_1", "type": "function", "function": { "name": "list_untested", "arguments": "{\"analysis" } }] } }] }),
        json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "function": { "arguments": "_id\": 7}" } }] } }] }),
        json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "tool_calls" }] }),
        json!({ "choices": [], "usage": { "prompt_tokens": 120, "completion_tokens": 30 } }),
    ]);
    let stub = Stub {
        script: Arc::new(vec![(200, stream)]),
        ..Default::default()
    };
    let client = Client::new(config(
        "openai",
        format!("{}/v1", serve(stub.clone()).await),
    ))
    .unwrap();
    let spend = Spend::default();
    let r = client.complete(&request(), &spend).await.unwrap();
    assert_eq!(r.text, "Let me look.");
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(
        (r.tool_calls[0].id.as_str(), r.tool_calls[0].name.as_str()),
        ("call_1", "list_untested")
    );
    assert_eq!(r.tool_calls[0].arguments, json!({ "analysis_id": 7 }));
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(
        (spend.usage().input_tokens, spend.usage().output_tokens),
        (120, 30)
    );
    // What went over the wire.
    let seen = stub.seen.lock().unwrap();
    let (headers, body) = &seen[0];
    assert_eq!(headers["authorization"], "Bearer sk-test");
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(
        body["messages"][1],
        json!({ "role": "user", "content": "what should I test first?" })
    );
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "list_untested");
}

#[tokio::test]
async fn rate_limits_are_retried_and_truncated_arguments_repaired() {
    let ok = sse(&[
        json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "id": "c", "function": { "name": "list_untested", "arguments": "{\"analysis_id\": 7," } }] } }] }),
        json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "tool_calls" }] }),
    ]);
    let stub = Stub {
        script: Arc::new(vec![
            (429, "slow down".into()),
            (503, "busy".into()),
            (200, ok),
        ]),
        ..Default::default()
    };
    let client = Client::new(config(
        "openai",
        format!("{}/v1", serve(stub.clone()).await),
    ))
    .unwrap();
    let r = client
        .complete(&request(), &Spend::default())
        .await
        .unwrap();
    assert_eq!(stub.calls.load(Ordering::SeqCst), 3);
    assert_eq!(r.tool_calls[0].arguments, json!({ "analysis_id": 7 }));
    assert!(r.tool_calls[0].repaired);
}

#[tokio::test]
async fn broken_streams_garbage_arguments_and_slowness_are_errors_not_guesses() {
    // A stream cut off mid-answer.
    let cut =
        "data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"Hel\"}}]}\n\ndata: {\"choi"
            .to_string();
    let stub = Stub {
        script: Arc::new(vec![(200, cut)]),
        ..Default::default()
    };
    let client = Client::new(config("openai", format!("{}/v1", serve(stub).await))).unwrap();
    let e = client
        .complete(&request(), &Spend::default())
        .await
        .unwrap_err();
    assert!(matches!(e, LlmError::Malformed(_)), "{e}");

    // Arguments that are not JSON at all.
    let garbage = sse(&[
        json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "id": "c", "function": { "name": "list_untested", "arguments": "analysis seven please" } }] } }] }),
        json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "tool_calls" }] }),
    ]);
    let stub = Stub {
        script: Arc::new(vec![(200, garbage)]),
        ..Default::default()
    };
    let client = Client::new(config("openai", format!("{}/v1", serve(stub).await))).unwrap();
    let e = client
        .complete(&request(), &Spend::default())
        .await
        .unwrap_err();
    assert!(matches!(e, LlmError::BadToolArguments { .. }), "{e}");

    // A client error is not retried.
    let stub = Stub {
        script: Arc::new(vec![(401, "{\"error\": \"bad key\"}".into())]),
        ..Default::default()
    };
    let client = Client::new(config(
        "openai",
        format!("{}/v1", serve(stub.clone()).await),
    ))
    .unwrap();
    let e = client
        .complete(&request(), &Spend::default())
        .await
        .unwrap_err();
    assert!(matches!(e, LlmError::Http { status: 401, .. }), "{e}");
    assert_eq!(stub.calls.load(Ordering::SeqCst), 1);

    // Too slow: a timeout, after the retries.
    let stub = Stub {
        script: Arc::new(vec![(200, sse(&[]))]),
        delay: Duration::from_millis(400),
        ..Default::default()
    };
    let mut c = config("openai", format!("{}/v1", serve(stub.clone()).await));
    c.timeout = Duration::from_millis(100);
    c.max_retries = 1;
    let e = Client::new(c)
        .unwrap()
        .complete(&request(), &Spend::default())
        .await
        .unwrap_err();
    assert!(matches!(e, LlmError::Timeout(_)), "{e}");
    assert_eq!(stub.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_token_budget_stops_further_calls() {
    let stream = sse(&[
        json!({ "choices": [{ "index": 0, "delta": { "content": "done" }, "finish_reason": "stop" }] }),
        json!({ "choices": [], "usage": { "prompt_tokens": 900, "completion_tokens": 200 } }),
    ]);
    let stub = Stub {
        script: Arc::new(vec![(200, stream)]),
        ..Default::default()
    };
    let mut c = config("openai", format!("{}/v1", serve(stub.clone()).await));
    c.token_budget = 1000;
    let client = Client::new(c).unwrap();
    let spend = Spend::default();
    client.complete(&request(), &spend).await.unwrap();
    let e = client.complete(&request(), &spend).await.unwrap_err();
    assert!(matches!(e, LlmError::Budget(_)), "{e}");
    assert_eq!(
        stub.calls.load(Ordering::SeqCst),
        1,
        "the refused call never left"
    );
}

#[tokio::test]
async fn anthropic_streams_content_blocks_with_tool_use() {
    let events = [
        (
            "message_start",
            json!({ "type": "message_start", "message": { "id": "msg_1", "role": "assistant", "content": [], "usage": { "input_tokens": 210, "output_tokens": 1 } } }),
        ),
        (
            "content_block_start",
            json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
        ),
        (
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": "Checking the untested code." } }),
        ),
        (
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 0 }),
        ),
        (
            "content_block_start",
            json!({ "type": "content_block_start", "index": 1, "content_block": { "type": "tool_use", "id": "toolu_1", "name": "list_untested", "input": {} } }),
        ),
        (
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 1, "delta": { "type": "input_json_delta", "partial_json": "{\"analysis_" } }),
        ),
        (
            "content_block_delta",
            json!({ "type": "content_block_delta", "index": 1, "delta": { "type": "input_json_delta", "partial_json": "id\": 7}" } }),
        ),
        (
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 1 }),
        ),
        (
            "message_delta",
            json!({ "type": "message_delta", "delta": { "stop_reason": "tool_use" }, "usage": { "output_tokens": 42 } }),
        ),
        ("message_stop", json!({ "type": "message_stop" })),
    ];
    let stream: String = events
        .iter()
        .map(|(n, e)| format!("event: {n}\ndata: {e}\n\n"))
        .collect();
    let stub = Stub {
        script: Arc::new(vec![(200, stream)]),
        ..Default::default()
    };
    let client = Client::new(config("anthropic", serve(stub.clone()).await)).unwrap();
    let spend = Spend::default();
    let mut req = request();
    // A tool round trip, as the engine sends it back.
    req.messages.push(Message::assistant(
        "",
        vec![qa_llm::ToolCall {
            id: "toolu_0".into(),
            name: "list_untested".into(),
            arguments: json!({ "analysis_id": 7 }),
            repaired: false,
        }],
    ));
    req.messages.push(Message::tool("toolu_0", "3 untested"));
    let r = client.complete(&req, &spend).await.unwrap();
    assert_eq!(r.text, "Checking the untested code.");
    assert_eq!(r.tool_calls[0].name, "list_untested");
    assert_eq!(r.tool_calls[0].arguments, json!({ "analysis_id": 7 }));
    assert_eq!(r.finish_reason.as_deref(), Some("tool_use"));
    assert_eq!(
        (spend.usage().input_tokens, spend.usage().output_tokens),
        (210, 42)
    );
    let (headers, body) = stub.seen.lock().unwrap()[0].clone();
    assert_eq!(headers["x-api-key"], "sk-test");
    assert_eq!(headers["anthropic-version"], "2023-06-01");
    assert_eq!(body["system"], "You are qa-agent.");
    assert_eq!(body["tools"][0]["input_schema"]["type"], "object");
    assert_eq!(body["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(
        body["messages"][2]["content"][0],
        json!({ "type": "tool_result", "tool_use_id": "toolu_0", "content": "3 untested" })
    );

    // An overloaded error mid-stream is retried; a stream without message_stop is not an answer.
    let overloaded = "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n".to_string();
    let truncated = "event: message_start\ndata: {\"type\": \"message_start\", \"message\": {\"usage\": {\"input_tokens\": 5}}}\n\n".to_string();
    let stub = Stub {
        script: Arc::new(vec![(200, overloaded), (200, truncated)]),
        ..Default::default()
    };
    let client = Client::new(config("anthropic", serve(stub.clone()).await)).unwrap();
    let e = client
        .complete(&request(), &Spend::default())
        .await
        .unwrap_err();
    assert!(matches!(e, LlmError::Malformed(_)), "{e}");
    assert_eq!(stub.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn arguments_cut_off_by_the_output_limit_are_rejected_not_repaired() {
    let cut = sse(&[
        json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "id": "c", "function": { "name": "list_untested", "arguments": "{\"analysis_id\": 12" } }] } }] }),
        json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "length" }] }),
    ]);
    let stub = Stub {
        script: Arc::new(vec![(200, cut)]),
        ..Default::default()
    };
    let client = Client::new(config(
        "openai",
        format!("{}/v1", serve(stub.clone()).await),
    ))
    .unwrap();
    let mut req = request();
    req.no_more_tools = true;
    let e = client.complete(&req, &Spend::default()).await.unwrap_err();
    assert!(matches!(e, LlmError::BadToolArguments { .. }), "{e}");
    let (_, body) = stub.seen.lock().unwrap()[0].clone();
    assert_eq!(body["tool_choice"], "none");
    // The key is not in a debug print of the configuration.
    assert!(!format!("{:?}", client.config).contains("sk-test"));
}
