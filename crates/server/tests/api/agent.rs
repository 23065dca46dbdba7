//! The agents through the orchestrator's API: asking, streaming, stored traces, ownership,
//! bad input, a specialist service that is down, and the reasoning metrics.

use std::time::Duration;

use qa_server::ServiceKind;
use serde_json::{Value, json};

use crate::analyses::workspace;
use crate::helpers::{ADMIN_KEY, backends, call, spawn, test_config};

/// The services (all four, SQLite) with the `shop` workspace as their only root.
struct Shop {
    _ws: tempfile::TempDir,
    _data: tempfile::TempDir,
    root: std::path::PathBuf,
    running: qa_server::Running,
    api: String,
}

impl Shop {
    async fn start() -> Shop {
        let ws = workspace();
        let (mut config, data) = test_config();
        config.workspace_roots = vec![ws.path().to_path_buf()];
        let running = spawn(&config, &ServiceKind::ALL).await;
        let api = running.url(ServiceKind::Orchestrator).unwrap();
        Shop {
            root: ws.path().join("shop"),
            _ws: ws,
            _data: data,
            running,
            api,
        }
    }
}

/// Every cited location of an answer holds what it claims, read from the files here.
fn assert_evidence_holds(root: &std::path::Path, answer: &Value) {
    for e in answer["evidence"].as_array().unwrap() {
        let file = e["file"].as_str().unwrap();
        let text =
            std::fs::read_to_string(root.join(file)).unwrap_or_else(|_| panic!("{file} exists"));
        let lines: Vec<&str> = text.lines().collect();
        let n = e["line"].as_i64().unwrap() as usize;
        assert!(n >= 1 && n <= lines.len(), "{file}:{n} exists");
        if let Some(sym) = e["symbol"].as_str() {
            let stem = sym.rsplit('.').next().unwrap();
            assert!(
                lines[n - 1..(n + 5).min(lines.len())]
                    .iter()
                    .any(|l| l.contains(stem)),
                "{file}:{n} defines {sym}"
            );
        }
        if let Some(x) = e["excerpt"].as_str() {
            assert!(lines[n - 1].contains(x), "{file}:{n} contains {x}");
        }
        assert!(
            answer["text"]
                .as_str()
                .unwrap()
                .contains(&format!("{file}:{n}")),
            "the answer cites {file}:{n}"
        );
    }
}

#[tokio::test]
async fn questions_are_answered_from_real_tool_calls_with_verified_evidence() {
    let ws = workspace();
    let root = ws.path().join("shop");
    for b in backends("agent_ask").await {
        let mut config = b.config.clone();
        config.workspace_roots = vec![ws.path().to_path_buf()];
        let running = spawn(&config, &ServiceKind::ALL).await;
        let api = running.url(ServiceKind::Orchestrator).unwrap();
        let ask = |q: &str| json!({ "question": q, "path": root.display().to_string() });

        let (code, _, body) = call(
            "POST",
            &format!("{api}/api/v1/agent/tasks"),
            Some(ADMIN_KEY),
            Some(ask("review pkg/pricing.py for security")),
        )
        .await;
        assert_eq!(code, 200, "{}: {body}", b.name);
        let a = &body["answer"];
        assert_eq!(a["intent"], "security", "{}", b.name);
        assert_eq!(a["specialists"], json!(["security-specialist"]));
        // The eval on request data is found, triaged as exploitable, and cited.
        let text = a["text"].as_str().unwrap();
        assert!(
            text.contains("pkg/pricing.py:3") && text.contains("SEC001"),
            "{text}"
        );
        assert!(text.contains("**likely exploitable**"), "{text}");
        assert_evidence_holds(&root, a);
        // Every step is recorded, and the tools really ran.
        let steps = a["steps"].as_array().unwrap();
        let actions: Vec<&str> = steps.iter().filter_map(|s| s["action"].as_str()).collect();
        assert_eq!(actions[0], "analyze_repository", "{actions:?}");
        assert!(
            actions.contains(&"find_violations") && actions.contains(&"verify_evidence"),
            "{actions:?}"
        );
        for s in steps {
            assert!(s["thought"].as_str().is_some_and(|t| !t.is_empty()), "{s}");
        }
        assert!(
            a["quality"]["score"].as_f64().unwrap() > 0.8,
            "{}",
            a["quality"]
        );
        assert_eq!(a["quality"]["verified_claims"], 1.0);

        // The stored trace reads back the same.
        let id = body["id"].as_i64().unwrap();
        let (code, _, stored) = call(
            "GET",
            &format!("{api}/api/v1/agent/tasks/{id}"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(code, 200, "{stored}");
        assert_eq!(stored["status"], "done");
        assert_eq!(stored["question"], "review pkg/pricing.py for security");
        assert_eq!(stored["answer"]["text"], a["text"]);
        assert_eq!(
            stored["answer"]["steps"].as_array().unwrap().len(),
            steps.len()
        );
        let (_, _, list) = call(
            "GET",
            &format!("{api}/api/v1/agent/tasks"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(list["tasks"][0]["id"], id, "{list}");

        // A function named in the question is found in the code and read.
        let (code, _, body) = call(
            "POST",
            &format!("{api}/api/v1/agent/tasks"),
            Some(ADMIN_KEY),
            Some(ask("why is Cart.total slow?")),
        )
        .await;
        assert_eq!(code, 200, "{body}");
        let a = &body["answer"];
        assert_eq!(a["specialists"], json!(["performance-analyst"]));
        let text = a["text"].as_str().unwrap();
        assert!(
            text.contains("pkg/pricing.py:6") && text.contains("for i in items"),
            "{text}"
        );
        assert_evidence_holds(&root, a);

        // "Write tests" returns tests that were run before they were shown, as an artifact
        // marked validated.
        let (_, _, body) = call(
            "POST",
            &format!("{api}/api/v1/agent/tasks"),
            Some(ADMIN_KEY),
            Some(ask("write tests for Cart.total")),
        )
        .await;
        let text = body["answer"]["text"].as_str().unwrap();
        assert!(text.contains("ran them before showing them"), "{text}");
        let artifact = &body["answer"]["artifacts"][0];
        assert_eq!(artifact["kind"], "pytest", "{body}");
        assert_eq!(artifact["validated"], true);
        let code = artifact["content"].as_str().unwrap();
        assert!(
            code.contains("def test_cart_total") && code.contains("import Cart"),
            "{code}"
        );

        // A question it does not understand gets what it can do, and no tool runs.
        let (_, _, body) = call(
            "POST",
            &format!("{api}/api/v1/agent/tasks"),
            Some(ADMIN_KEY),
            Some(ask("what's the weather in Paris?")),
        )
        .await;
        assert_eq!(body["answer"]["intent"], "unknown");
        assert_eq!(body["answer"]["tool_calls"], 0);
        // Nothing ran and nothing was claimed: no quality score, rather than a made-up 0.
        assert_eq!(body["answer"]["quality"]["score"], Value::Null);
        assert!(
            body["answer"]["text"]
                .as_str()
                .unwrap()
                .contains("did not understand")
        );

        // Several specialists, in consensus.
        let (code, _, body) = call(
            "POST",
            &format!("{api}/api/v1/agent/tasks"),
            Some(ADMIN_KEY),
            Some(json!({ "question": "what is risky here?", "path": root.display().to_string(), "mode": "consensus" })),
        )
        .await;
        assert_eq!(code, 200, "{body}");
        let a = &body["answer"];
        assert_eq!(a["mode"], "consensus");
        assert!(a["specialists"].as_array().unwrap().len() >= 3, "{a}");
        assert_eq!(
            a["collaboration"]["effective"], true,
            "{}",
            a["collaboration"]
        );
        assert_evidence_holds(&root, a);

        // The orchestrator's metrics carry real values now.
        let (_, metrics) = crate::helpers::get(&format!("{api}/metrics")).await;
        for name in [
            "agent_reasoning_quality_score_count{specialist=\"security-specialist\",task_type=\"security\"} 1",
            "agent_reasoning_steps_count{kind=\"tool_calls\"}",
            "agent_response_time_seconds_count",
            "collaboration_effectiveness{mode=\"consensus\"} 1",
        ] {
            assert!(metrics.contains(name), "{name} in\n{metrics}");
        }
        running.shutdown();
    }
}

#[tokio::test]
async fn steps_stream_as_ndjson_before_the_answer() {
    let shop = Shop::start().await;
    let (root, running, api) = (&shop.root, &shop.running, shop.api.clone());
    let r = reqwest::Client::new()
        .post(format!("{api}/api/v1/agent/tasks?stream=ndjson"))
        .bearer_auth(ADMIN_KEY)
        .json(
            &json!({ "question": "what should I test first?", "path": root.display().to_string() }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let body = r.text().await.unwrap();
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "task");
    let id = lines[0]["id"].as_i64().unwrap();
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "answer", "{last}");
    let steps: Vec<&Value> = lines.iter().filter(|l| l["type"] == "step").collect();
    assert!(steps.len() >= 3, "{body}");
    // In order, each once, and the same as the answer's own list.
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(s["index"], i, "{s}");
    }
    assert_eq!(
        last["answer"]["steps"].as_array().unwrap().len(),
        steps.len()
    );
    assert_eq!(last["id"], id);
    assert!(
        last["answer"]["text"]
            .as_str()
            .unwrap()
            .contains("Cart.total"),
        "{last}"
    );
    running.shutdown();
}

#[tokio::test]
async fn bad_requests_and_other_users_tasks_are_refused() {
    let (config, _data) = test_config();
    let running = spawn(&config, &ServiceKind::ALL).await;
    let api = running.url(ServiceKind::Orchestrator).unwrap();
    let url = format!("{api}/api/v1/agent/tasks");
    for (body, want) in [
        (json!({ "question": "   " }), "empty"),
        (json!({ "question": "x".repeat(5000) }), "longer than 4000"),
        (
            json!({ "question": "review", "specialists": ["wizard"] }),
            "unknown specialist `wizard`",
        ),
        (
            json!({ "question": "review", "path": "/x", "analysis_id": 1 }),
            "not both",
        ),
        (json!({ "question": "review", "colour": "blue" }), "colour"),
    ] {
        let (code, ct, problem) = call("POST", &url, Some(ADMIN_KEY), Some(body)).await;
        assert_eq!(code, 422, "{problem}");
        assert_eq!(ct, "application/problem+json");
        assert!(
            problem["detail"].as_str().unwrap().contains(want),
            "{problem}"
        );
    }
    let (code, _, _) = call("POST", &url, None, Some(json!({ "question": "hi" }))).await;
    assert_eq!(code, 401);
    let r = reqwest::Client::new()
        .post(&url)
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // A task of the admin is not another member's to read.
    let (_, _, body) = call(
        "POST",
        &url,
        Some(ADMIN_KEY),
        Some(json!({ "question": "what can you do?" })),
    )
    .await;
    let id = body["id"].as_i64().unwrap();
    let db = qa_store::Database::open(None, &config.data_dir, 1)
        .await
        .unwrap();
    let tenant = db.tenant_by_name("default").await.unwrap().unwrap();
    let user = db
        .create_user(tenant.id, "member@example.com", qa_store::Role::Member)
        .await
        .unwrap();
    let member_key = qa_store::generate_api_key();
    db.add_api_key(&user, &member_key).await.unwrap();
    let (code, _, _) = call("GET", &format!("{url}/{id}"), Some(&member_key), None).await;
    assert_eq!(code, 404);
    let (code, _, list) = call("GET", &url, Some(&member_key), None).await;
    assert_eq!(code, 200);
    assert_eq!(list["tasks"], json!([]));
    running.shutdown();
}

#[tokio::test]
async fn a_specialist_service_that_is_down_answers_503_at_once() {
    let (mut config, _data) = test_config();
    // Nothing listens there.
    config.peers.specialists = Some("http://127.0.0.1:9".into());
    let running = spawn(&config, &[ServiceKind::Orchestrator]).await;
    let api = running.url(ServiceKind::Orchestrator).unwrap();
    let started = std::time::Instant::now();
    let r = reqwest::Client::new()
        .post(format!("{api}/api/v1/agent/tasks"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({ "question": "what should I test first?", "analysis_id": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let problem: Value = r.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("test-architect"),
        "{problem}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // /health/detailed says why, and what the reasoning runs on.
    let (_, health) = crate::helpers::get_json(&format!("{api}/health/detailed")).await;
    assert_eq!(health["specialist_agents"]["status"], "down", "{health}");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["reasoning"]["planner"], "offline");
    assert_eq!(health["reasoning"]["running"], 0);
    // Questions no specialist answers still work.
    let (code, _, body) = call(
        "POST",
        &format!("{api}/api/v1/agent/tasks"),
        Some(ADMIN_KEY),
        Some(json!({ "question": "what can you do?" })),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    running.shutdown();
}

#[tokio::test]
async fn a_repeated_question_is_answered_from_the_reasoning_cache_until_it_is_cleared() {
    let shop = Shop::start().await;
    let (root, running, api) = (&shop.root, &shop.running, shop.api.clone());
    let learning = running.url(ServiceKind::Learning).unwrap();
    let ask = |q: &str| json!({ "question": q, "path": root.display().to_string() });
    let url = format!("{api}/api/v1/agent/tasks");

    let (_, _, first) = call(
        "POST",
        &url,
        Some(ADMIN_KEY),
        Some(ask("What should I test first?")),
    )
    .await;
    assert_eq!(first["answer"]["cached"], false);
    // Same question in other words' case and punctuation, same code (re-analysed).
    let (_, _, second) = call(
        "POST",
        &url,
        Some(ADMIN_KEY),
        Some(ask("what should i test first")),
    )
    .await;
    let a = &second["answer"];
    assert_eq!(a["cached"], true, "{a}");
    assert_eq!(a["text"], first["answer"]["text"]);
    // Only the analysis ran; the specialists' tools did not.
    let actions: Vec<&str> = a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["action"].as_str())
        .collect();
    assert_eq!(actions, ["analyze_repository"], "{actions:?}");
    // Unless asked to think afresh (a fresh answer is not a lookup: no hit, no miss).
    let mut again = ask("what should I test first");
    again["fresh"] = true.into();
    let (_, _, fresh) = call("POST", &url, Some(ADMIN_KEY), Some(again)).await;
    assert_eq!(fresh["answer"]["cached"], false, "{fresh}");
    let (_, metrics) = crate::helpers::get(&format!("{api}/metrics")).await;
    assert!(
        metrics.contains("reasoning_cache_total{result=\"hit\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("reasoning_cache_total{result=\"miss\"} 1"),
        "{metrics}"
    );

    // The learning engine clears it through the orchestrator (keyless from loopback).
    let (code, _, cleared) = call(
        "POST",
        &format!("{learning}/api/v1/optimize/reasoning_cache"),
        None,
        None,
    )
    .await;
    assert_eq!(code, 200, "{cleared}");
    assert_eq!(cleared["removed"], 1, "{cleared}");
    let (_, _, third) = call(
        "POST",
        &url,
        Some(ADMIN_KEY),
        Some(ask("What should I test first?")),
    )
    .await;
    assert_eq!(third["answer"]["cached"], false);
    running.shutdown();
}

/// An OpenAI-compatible model: first it calls `find_violations` on the analysis named in
/// its brief, then it answers citing one real location and one it made up.
async fn scripted_model(garbage: bool) -> String {
    use axum::response::IntoResponse;
    async fn chat(axum::Json(req): axum::Json<Value>) -> axum::response::Response {
        let system = req["messages"][0]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let id: i64 = system
            .split("analysis_id ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let has_result = req["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == "tool");
        let events = if !has_result {
            vec![
                json!({ "choices": [{ "index": 0, "delta": { "content": "I will list the security findings." } }] }),
                json!({ "choices": [{ "index": 0, "delta": { "tool_calls": [{ "index": 0, "id": "call_1", "type": "function", "function": { "name": "find_violations", "arguments": format!("{{\"analysis_id\": {id}, \"family\": \"security\",}}") } }] } }] }),
                json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "tool_calls" }] }),
            ]
        } else {
            vec![
                json!({ "choices": [{ "index": 0, "delta": { "content": "Two risks:\n- `eval` runs request data (`pkg/pricing.py:3`, SEC001)\n" } }] }),
                json!({ "choices": [{ "index": 0, "delta": { "content": "- a hard-coded password (`pkg/secrets.py:12`)\n" } }] }),
                json!({ "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }], "usage": { "prompt_tokens": 500, "completion_tokens": 40 } }),
            ]
        };
        let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
        body.push_str("data: [DONE]\n\n");
        ([("content-type", "text/event-stream")], body).into_response()
    }
    async fn nonsense() -> &'static str {
        "data: this is not JSON\n\n"
    }
    let app = if garbage {
        axum::Router::new().route("/v1/chat/completions", axum::routing::post(nonsense))
    } else {
        axum::Router::new().route("/v1/chat/completions", axum::routing::post(chat))
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/v1")
}

/// The services with a scripted OpenAI-compatible model as the planner, asked `question`.
async fn ask_with_model(ws: &tempfile::TempDir, garbage: bool, question: &str) -> Value {
    let root = ws.path().join("shop");
    let (mut config, _data) = test_config();
    config.workspace_roots = vec![ws.path().to_path_buf()];
    config.llm_provider = "openai".into();
    config.llm_model = Some("stub".into());
    config.llm_base_url = Some(scripted_model(garbage).await);
    let running = spawn(&config, &ServiceKind::ALL).await;
    let api = running.url(ServiceKind::Orchestrator).unwrap();
    let (code, _, body) = call(
        "POST",
        &format!("{api}/api/v1/agent/tasks"),
        Some(ADMIN_KEY),
        Some(json!({ "question": question, "path": root.display().to_string() })),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    running.shutdown();
    body["answer"].clone()
}

#[tokio::test]
async fn an_llm_provider_plans_the_tool_calls_and_its_made_up_citations_are_dropped() {
    let ws = workspace();
    let root = ws.path().join("shop");
    let a = ask_with_model(&ws, false, "is this code secure?").await;
    let steps = a["steps"].as_array().unwrap();
    let call_step = steps
        .iter()
        .find(|s| s["action"] == "find_violations")
        .expect("the model's call ran");
    assert_eq!(call_step["thought"], "I will list the security findings.");
    assert_eq!(
        call_step["arguments"]["family"], "security",
        "repaired trailing comma"
    );
    let text = a["text"].as_str().unwrap();
    assert!(text.contains("pkg/pricing.py:3"), "{text}");
    assert!(
        !text.contains("pkg/secrets.py"),
        "the made-up citation is dropped: {text}"
    );
    assert_eq!(a["quality"]["claims"], 2);
    assert_eq!(a["quality"]["verified_claims"], 0.5);
    assert_evidence_holds(&root, &a);

    // A model that answers garbage: the offline planner answers, and the trace says why.
    let a = ask_with_model(&ws, true, "review pkg/pricing.py for security").await;
    let fell_back = a["steps"].as_array().unwrap().iter().any(|s| {
        let t = s["thought"].as_str().unwrap();
        t.contains("language model could not answer") && t.contains("malformed")
    });
    assert!(fell_back, "{}", a["steps"]);
    assert_eq!(a["specialists"], json!(["security-specialist"]));
    assert!(a["text"].as_str().unwrap().contains("SEC001"));
}

#[tokio::test]
async fn in_sequence_the_test_architect_starts_from_the_security_findings() {
    let shop = Shop::start().await;
    let (root, running, api) = (&shop.root, &shop.running, shop.api.clone());
    let (code, _, body) = call(
        "POST",
        &format!("{api}/api/v1/agent/tasks"),
        Some(ADMIN_KEY),
        Some(json!({
            "question": "what should I test first?",
            "path": root.display().to_string(),
            "specialists": ["security-specialist", "test-architect"],
            "mode": "sequential",
        })),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let a = &body["answer"];
    assert_eq!(a["mode"], "sequential");
    assert_eq!(
        a["specialists"],
        json!(["security-specialist", "test-architect"])
    );
    let text = a["text"].as_str().unwrap();
    // `Cart.total` is the riskiest untested function on its own, but `calculate` and
    // `make_getter` sit where the Security Specialist found eval/exec: they come first.
    let cover = text.split("Cover first").nth(1).unwrap();
    let first = cover.lines().find(|l| l.starts_with("- ")).unwrap();
    assert!(
        first.contains("finding of the previous specialist is inside it"),
        "{text}"
    );
    assert!(!first.contains("Cart.total"), "{text}");
    let handover = a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["thought"].as_str().unwrap().contains("takes over"));
    assert!(handover);
    assert_eq!(a["collaboration"]["mode"], "sequential");
    running.shutdown();
}

#[tokio::test]
async fn the_planner_is_built_from_the_learned_state_the_learning_engine_publishes() {
    let ws = workspace();
    let root = ws.path().join("shop");
    let (mut config, _data) = test_config();
    config.workspace_roots = vec![ws.path().to_path_buf()];
    // What the learning engine would publish: a correction it learned (a phrase meaning
    // a security review), a route (testing questions to the Code Reviewer), and rated
    // routes: function questions answered poorly by the Code Reviewer alone and well by
    // the panel of all four, on 1,000 questions each (the unrated single specialists'
    // prior draws beat the panel's about once in 100,000 questions).
    let db = qa_store::Database::open(None, &config.data_dir, 1)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let state = json!({
        "extra_examples": [["security", "zorblax the codebase"], ["security", "zorblax it"], ["security", "please zorblax"]],
        "routes": { "testing": { "specialists": ["code-reviewer"], "mode": "single" } },
        "route_arms": { "function": [
            [{ "specialists": ["code-reviewer"], "mode": "single" }, 10.0, 990.0],
            [{ "specialists": ["test-architect", "code-reviewer", "performance-analyst", "security-specialist"], "mode": "parallel" }, 990.0, 10.0],
        ] },
    });
    let id = db
        .save_learned_state(None, "planner", &state.to_string())
        .await
        .unwrap();
    let running = spawn(&config, &ServiceKind::ALL).await;
    let api = running.url(ServiceKind::Orchestrator).unwrap();
    let url = format!("{api}/api/v1/agent/tasks");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, health) = crate::helpers::get_json(&format!("{api}/health/detailed")).await;
        if health["reasoning"]["learned_state"] == id {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ask = |q: &str| {
        let body = json!({ "question": q, "path": root.display().to_string() });
        let url = url.clone();
        async move { call("POST", &url, Some(ADMIN_KEY), Some(body)).await.2 }
    };
    let body = ask("zorblax the codebase").await;
    assert_eq!(body["answer"]["intent"], "security", "{body}");
    let body = ask("what should I test first?").await;
    assert_eq!(
        body["answer"]["specialists"],
        json!(["code-reviewer"]),
        "{body}"
    );
    // The ratings say the panel: a function question is answered by all four at once.
    let body = ask("how complex is calculate?").await;
    assert_eq!(body["answer"]["intent"], "function", "{body}");
    assert_eq!(body["answer"]["mode"], "parallel", "{body}");
    assert_eq!(
        body["answer"]["specialists"],
        json!([
            "test-architect",
            "code-reviewer",
            "performance-analyst",
            "security-specialist"
        ]),
        "{body}"
    );
    running.shutdown();
}

#[tokio::test]
async fn a_disabled_tool_is_an_observation_the_answer_survives() {
    let shop = Shop::start().await;
    let (root, running, api) = (&shop.root, &shop.running, shop.api.clone());
    let spec = running.url(ServiceKind::Specialists).unwrap();
    let (code, _, _) = call(
        "POST",
        &format!("{spec}/api/v1/tools/list_untested/disable"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(code, 204);
    let (code, _, body) = call(
        "POST",
        &format!("{api}/api/v1/agent/tasks"),
        Some(ADMIN_KEY),
        Some(
            json!({ "question": "what should I test first?", "path": root.display().to_string() }),
        ),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let a = &body["answer"];
    let failed = a["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"] == "list_untested")
        .unwrap();
    assert_eq!(failed["outcome"], "failed");
    assert!(
        failed["observation"].as_str().unwrap().contains("disabled"),
        "{failed}"
    );
    // It says what it could not do, and scores itself lower.
    assert!(
        a["text"]
            .as_str()
            .unwrap()
            .contains("cannot say what is untested"),
        "{a}"
    );
    assert!(a["quality"]["tool_success"].as_f64().unwrap() < 1.0);
    assert!(a["quality"]["score"].as_f64().unwrap() < 1.0);
    running.shutdown();
}

#[tokio::test]
async fn with_the_sentence_encoder_questions_are_understood_by_meaning() {
    let ws = workspace();
    let root = ws.path().join("shop");
    let question = json!({
        "question": "how many requests a second can this api take before it falls over",
        "path": root.display().to_string(),
    });
    let intent_with = |encoder: Option<std::path::PathBuf>| {
        let question = question.clone();
        let ws = ws.path().to_path_buf();
        async move {
            let (mut config, _data) = test_config();
            config.workspace_roots = vec![ws];
            config.encoder_dir = encoder;
            let running = spawn(
                &config,
                &[ServiceKind::Orchestrator, ServiceKind::Specialists],
            )
            .await;
            let api = running.url(ServiceKind::Orchestrator).unwrap();
            let (_, health) = crate::helpers::get_json(&format!("{api}/health/detailed")).await;
            let (code, _, body) = call(
                "POST",
                &format!("{api}/api/v1/agent/tasks"),
                Some(ADMIN_KEY),
                Some(question),
            )
            .await;
            assert_eq!(code, 200, "{body}");
            running.shutdown();
            (
                health["reasoning"]["intents"].clone(),
                body["answer"]["intent"].clone(),
            )
        }
    };

    // Without the files (none in the data directory): words alone, and the reason shown.
    let (status, words) = intent_with(None).await;
    assert_eq!(status["understands"], "words", "{status}");
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .contains("scripts/fetch-model.sh"),
        "{status}"
    );
    assert_ne!(words, "performance");

    // Corrupt files: the services still start, with the bad file named.
    let bad = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::write(bad.path().join(f), b"garbage").unwrap();
    }
    let (status, _) = intent_with(Some(bad.path().to_path_buf())).await;
    assert_eq!(status["understands"], "words", "{status}");
    assert!(
        status["reason"].as_str().unwrap().contains("config.json"),
        "{status}"
    );

    let Some(dir) = qa_embed::dir_for_tests() else {
        return;
    };
    let (status, meaning) = intent_with(Some(dir)).await;
    assert_eq!(status["understands"], "words and meaning", "{status}");
    assert_eq!(meaning, "performance");
}
