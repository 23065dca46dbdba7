//! The learning engine end to end: feedback given over the API changes what the next
//! findings list, SARIF and chat tool show, visibly and reversibly; bad feedback is
//! refused without storing anything; rollback and a corrupt snapshot are survived.

use std::time::{Duration, Instant};

use qa_server::ServiceKind;
use qa_store::{Database, Role};
use serde_json::{Value, json};

use crate::analyses::{analyse, workspace};
use crate::helpers::{ADMIN_KEY, backends, call, get};

const ALL: &[ServiceKind] = &[
    ServiceKind::Orchestrator,
    ServiceKind::Specialists,
    ServiceKind::Learning,
];

async fn findings(base: &str, key: &str, id: i64, query: &str) -> Vec<Value> {
    let (code, _, body) = call(
        "GET",
        &format!("{base}/api/v1/analyses/{id}/findings{query}"),
        Some(key),
        None,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// The related knowledge shown with a task's answer (none: empty).
fn related_of(task: &Value) -> Vec<Value> {
    task["answer"]["related"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn feedback(learning: &str, key: &str, body: Value) -> (u16, Value) {
    let (code, _, body) = call(
        "POST",
        &format!("{learning}/api/v1/feedback"),
        Some(key),
        Some(body),
    )
    .await;
    (code, body)
}

/// Waits until `check` holds (the engine learns asynchronously, within a second or so).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn user_key(db: &Database, tenant: &str, email: &str) -> String {
    let t = match db.tenant_by_name(tenant).await.unwrap() {
        Some(t) => t,
        None => db.create_tenant(tenant).await.unwrap(),
    };
    let u = db.create_user(t.id, email, Role::Member).await.unwrap();
    let key = qa_store::generate_api_key();
    db.add_api_key(&u, &key).await.unwrap();
    key
}

#[tokio::test]
async fn a_dismissed_finding_stays_dismissed_until_undone_and_noisy_rules_sink() {
    for mut b in backends("learning_e2e").await {
        let ws = workspace();
        // A medium finding of another rule, ranked below the two `high` SEC001 ones
        // until users judge SEC001 noisy here.
        std::fs::write(
            ws.path().join("shop/pkg/store.py"),
            "def save(x):\n    try:\n        x.flush()\n    except ValueError:\n        pass\n",
        )
        .unwrap();
        b.config.workspace_roots = vec![ws.path().to_path_buf()];
        let app = crate::helpers::spawn(&b.config, ALL).await;
        let base = app.url(ServiceKind::Orchestrator).unwrap();
        let learning = app.url(ServiceKind::Learning).unwrap();
        let db = Database::open(b.config.database_url.as_deref(), &b.config.data_dir, 1)
            .await
            .unwrap();
        let alice = user_key(&db, "default", "alice@example.com").await;
        let bob = user_key(&db, "default", "bob@example.com").await;

        let id = analyse(&base, ADMIN_KEY, &ws.path().join("shop")).await;
        let before = findings(&base, &alice, id, "").await;
        assert!(before.len() >= 3, "{}: {before:?}", b.name);
        let exec = before
            .iter()
            .find(|f| f["message"].as_str().unwrap().contains("exec"))
            .unwrap_or(&before[0])
            .clone();
        let exec_id = exec["id"].as_i64().unwrap();
        assert_eq!(exec["learned"]["level"], "prior", "{exec}");

        // Alice dismisses it as a false positive.
        let (code, stored) = feedback(
            &learning,
            &alice,
            json!({ "target": "finding", "target_id": exec_id, "kind": "dismiss", "reason": "false_positive" }),
        )
        .await;
        assert_eq!(code, 202, "{}: {stored}", b.name);
        let feedback_id = stored["id"].as_i64().unwrap();
        eventually("the dismissed finding is left out", || async {
            !findings(&base, &bob, id, "")
                .await
                .iter()
                .any(|f| f["id"] == exec_id)
        })
        .await;
        // Shown on request, with who dismissed it; the next analysis of the same
        // repository does not report it either (same fingerprint).
        let listed = findings(&base, &bob, id, "?include_dismissed=true").await;
        let flagged = listed.iter().find(|f| f["id"] == exec_id).unwrap();
        assert_eq!(flagged["dismissed"]["feedback_id"], feedback_id);
        assert_eq!(flagged["suppressed"], true);
        let again = analyse(&base, ADMIN_KEY, &ws.path().join("shop")).await;
        let repeat = findings(&base, &alice, again, "").await;
        assert!(
            !repeat
                .iter()
                .any(|f| f["fingerprint"] == exec["fingerprint"]),
            "{}: a dismissed finding was reported again: {repeat:?}",
            b.name
        );
        // SARIF carries it as an external suppression with the reason.
        let (code, _, sarif) = call(
            "GET",
            &format!("{base}/api/v1/analyses/{again}/sarif"),
            Some(&alice),
            None,
        )
        .await;
        assert_eq!(code, 200);
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        let suppressed = results
            .iter()
            .find(|r| {
                r["partialFingerprints"]
                    .to_string()
                    .contains(exec["fingerprint"].as_str().unwrap())
            })
            .unwrap_or_else(|| panic!("{}: no SARIF result for the finding: {sarif}", b.name));
        let s = suppressed["suppressions"].to_string();
        assert!(
            s.contains("external") && s.contains("false_positive"),
            "{s}"
        );

        // Another tenant's user cannot touch it: 404, and nothing stored.
        let eve = user_key(&db, "other", "eve@other.test").await;
        let (code, body) = feedback(
            &learning,
            &eve,
            json!({ "target": "finding", "target_id": exec_id, "kind": "confirm" }),
        )
        .await;
        assert_eq!(code, 404, "{body}");

        // Undo: the finding is back.
        let (code, _, body) = call(
            "DELETE",
            &format!("{learning}/api/v1/feedback/{feedback_id}"),
            Some(&alice),
            None,
        )
        .await;
        assert_eq!(code, 200, "{body}");
        eventually("the undone dismissal shows the finding again", || async {
            findings(&base, &bob, again, "")
                .await
                .iter()
                .any(|f| f["fingerprint"] == exec["fingerprint"])
        })
        .await;

        // Two users dismiss the rule's findings (Alice in the first analysis, Bob in the
        // second): its precision here drops and its findings sink below the others,
        // with the evidence (the feedback ids) shown.
        let rule = exec["rule_id"].as_str().unwrap().to_string();
        let top_before = findings(&base, &alice, id, "?sort=rank").await;
        assert_eq!(top_before[0]["rule_id"], rule.as_str(), "{top_before:?}");
        for (key, analysis) in [(&alice, id), (&bob, again)] {
            let all = findings(&base, key, analysis, "?include_dismissed=true").await;
            let f = all.iter().find(|f| f["rule_id"] == rule.as_str()).unwrap();
            let (code, body) = feedback(
                &learning,
                key,
                json!({ "target": "finding", "target_id": f["id"], "kind": "dismiss", "reason": "wont_fix" }),
            )
            .await;
            assert_eq!(code, 202, "{body}");
        }
        eventually("two users' judgement of the rule is learned", || async {
            findings(&base, &alice, id, "?include_dismissed=true&sort=rank")
                .await
                .iter()
                .any(|f| f["rule_id"] == rule.as_str() && f["learned"]["users"] == 2)
        })
        .await;
        let ranked = findings(&base, &alice, id, "?include_dismissed=true&sort=rank").await;
        assert_eq!(ranked[0]["rule_id"], "MNT010", "{ranked:?}");
        let noisy = ranked
            .iter()
            .find(|f| f["rule_id"] == rule.as_str())
            .unwrap();
        assert_eq!(noisy["learned"]["level"], "repository", "{noisy}");
        assert!(
            noisy["learned"]["precision"].as_f64().unwrap() < 0.6,
            "{noisy}"
        );
        assert_eq!(
            noisy["learned"]["evidence"].as_array().unwrap().len(),
            2,
            "{noisy}"
        );

        // What was learned is inspectable; a cycle and a rollback answer with real
        // values, and the rollback undoes the last learning.
        let (code, _, state) = call(
            "GET",
            &format!("{learning}/api/v1/learning/state"),
            Some(&alice),
            None,
        )
        .await;
        assert_eq!(code, 200, "{state}");
        assert!(state["rules"].to_string().contains(&rule), "{state}");
        let (code, _, cycle) = call(
            "POST",
            &format!("{learning}/api/v1/learning/cycle"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(code, 200, "{cycle}");
        // The retracted dismissal no longer counts.
        assert_eq!(cycle["events"], 2, "{cycle}");
        let (code, _, rolled) = call(
            "POST",
            &format!("{learning}/api/v1/learning/rollback"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(code, 200, "{rolled}");
        assert!(
            rolled["feedback_set_aside"].as_u64().unwrap() >= 1,
            "{rolled}"
        );
        let (code, _, audit) = call(
            "GET",
            &format!("{base}/api/v1/audit"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(code, 200);
        assert!(audit.to_string().contains("learning.rollback"), "{audit}");

        // The metrics and health say what happened.
        let (_, metrics) = get(&format!("{learning}/metrics")).await;
        assert!(
            metrics.contains("learning_events_total{kind=\"dismissal\"}"),
            "{metrics}"
        );
        let (_, _, health) = call("GET", &format!("{learning}/health/detailed"), None, None).await;
        let fp = &health["feedback_processing"];
        assert_eq!(fp["status"], "up", "{health}");
        assert_eq!(fp["pending"], 0, "{health}");
        assert!(fp["last_learning_event_at_ms"].is_i64(), "{health}");
        app.shutdown();
    }
}

#[tokio::test]
async fn bad_feedback_is_refused_and_stores_nothing() {
    let mut b = backends("learning_bad").await.remove(0);
    let ws = workspace();
    b.config.workspace_roots = vec![ws.path().to_path_buf()];
    let app = crate::helpers::spawn(&b.config, ALL).await;
    let learning = app.url(ServiceKind::Learning).unwrap();
    let url = format!("{learning}/api/v1/feedback");
    let cases = [
        (
            json!({ "target": "answer", "target_id": 1, "kind": "rating", "rating": 9 }),
            422,
        ),
        (
            json!({ "target": "answer", "target_id": 1, "kind": "dismiss" }),
            422,
        ),
        (
            json!({ "target": "finding", "target_id": 999999, "kind": "dismiss" }),
            404,
        ),
        (
            json!({ "target": "finding", "target_id": "not-a-number", "kind": "confirm" }),
            404,
        ),
        (
            json!({ "target": "answer", "target_id": 424242, "kind": "rating", "thumb": "up" }),
            404,
        ),
        (
            json!({ "target": "finding", "target_id": 1, "kind": "dismiss", "reason": "boring" }),
            422,
        ),
        (
            json!({ "target": "correction", "target_id": 1, "kind": "correction", "intent": "astrology" }),
            422,
        ),
        (
            json!({ "target": "answer", "target_id": 1, "kind": "rating", "rating": 3, "surprise": true }),
            422,
        ),
        (
            json!({ "target": "answer", "target_id": 1, "kind": "correction", "comment": "x".repeat(5000) }),
            413,
        ),
    ];
    for (body, want) in cases {
        let (code, _, problem) = call("POST", &url, Some(ADMIN_KEY), Some(body.clone())).await;
        assert_eq!(code, want, "{body}: {problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
    }
    // Malformed JSON and no key.
    let r = reqwest::Client::new()
        .post(&url)
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let (code, _, _) = call("POST", &url, None, Some(json!({}))).await;
    assert_eq!(code, 401);
    // A labelled upload with one bad item stores none of it.
    let (code, _, problem) = call(
        "POST",
        &format!("{learning}/api/v1/learning/cycle"),
        Some(ADMIN_KEY),
        Some(json!({ "feedback": [
            { "target": "answer", "target_id": 1, "kind": "rating", "rating": 9 }
        ] })),
    )
    .await;
    assert_eq!(code, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("feedback[0]"),
        "{problem}"
    );
    // Nothing was stored by any of it; a rollback with nothing learned is a conflict.
    let (_, _, health) = call("GET", &format!("{learning}/health/detailed"), None, None).await;
    assert_eq!(health["feedback_processing"]["pending"], 0, "{health}");
    let (code, _, _) = call(
        "POST",
        &format!("{learning}/api/v1/learning/rollback"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(code, 409);
    // Floods are cut off with 429 and Retry-After.
    let mut limited = false;
    for _ in 0..130 {
        let r = reqwest::Client::new()
            .post(&url)
            .bearer_auth(ADMIN_KEY)
            .json(&json!({ "target": "answer", "target_id": 1, "kind": "rating", "rating": 3 }))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            limited = true;
            break;
        }
    }
    assert!(limited, "130 pieces of feedback in a burst were all taken");
    app.shutdown();
}

#[tokio::test]
async fn a_corrupt_snapshot_at_start_is_survived() {
    let b = backends("learning_corrupt").await.remove(0);
    {
        let db = Database::open(b.config.database_url.as_deref(), &b.config.data_dir, 1)
            .await
            .unwrap();
        db.migrate().await.unwrap();
        db.save_learned_state(None, "learning", "{\"version\": 1, \"tenants\": [")
            .await
            .unwrap();
    }
    let app = crate::helpers::spawn(&b.config, &[ServiceKind::Learning]).await;
    let learning = app.url(ServiceKind::Learning).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let health = loop {
        let (_, _, body) = call("GET", &format!("{learning}/health/detailed"), None, None).await;
        if body["feedback_processing"]["learned_state"]["at_start"].is_string() {
            break body;
        }
        assert!(Instant::now() < deadline, "no start status: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let start = health["feedback_processing"]["learned_state"]["at_start"]
        .as_str()
        .unwrap();
    assert!(
        start.contains("did not parse") || start.contains("no snapshot parsed"),
        "{health}"
    );
    let (code, _) = crate::helpers::get_json(&format!("{learning}/health/ready")).await;
    assert_eq!(code, 200);
    app.shutdown();
}

#[tokio::test]
async fn answers_follow_the_askers_preferences_set_or_learned_from_their_feedback() {
    let mut b = backends("learning_prefs").await.remove(0);
    let ws = workspace();
    b.config.workspace_roots = vec![ws.path().to_path_buf()];
    let app = crate::helpers::spawn(&b.config, ALL).await;
    let base = app.url(ServiceKind::Orchestrator).unwrap();
    let learning = app.url(ServiceKind::Learning).unwrap();
    let prefs = format!("{learning}/api/v1/preferences");
    let ask = || async {
        let (code, _, answer) = call(
            "POST",
            &format!("{base}/api/v1/agent/tasks"),
            Some(ADMIN_KEY),
            Some(json!({ "question": "what is risky in this repository?", "path": ws.path().join("shop"), "fresh": true })),
        )
        .await;
        assert_eq!(code, 200, "{answer}");
        answer
    };
    let full = ask().await;
    let full_text = full["answer"]["text"].as_str().unwrap().to_string();
    assert!(
        full_text.chars().count() >= 600,
        "the risk answer is long enough to shorten: {full_text}"
    );
    assert!(!full_text.contains("Shortened to your preference"));

    // Set: short answers, with where the whole one is.
    let (code, _, set) = call(
        "PUT",
        &prefs,
        Some(ADMIN_KEY),
        Some(json!({ "answer_length": "short" })),
    )
    .await;
    assert_eq!(code, 200, "{set}");
    assert_eq!(set["effective"]["answer_length"]["source"], "explicit");
    let short = ask().await;
    let id = short["id"].as_i64().unwrap();
    let text = short["answer"]["text"].as_str().unwrap();
    assert!(text.contains("Shortened to your preference"), "{text}");
    assert!(
        text.contains(&format!("/api/v1/agent/tasks/{id}")),
        "{text}"
    );
    assert!(text.len() < full_text.len());
    let (_, _, stored) = call(
        "GET",
        &format!("{base}/api/v1/agent/tasks/{id}"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert!(
        stored["answer"]["text"].as_str().unwrap().len() >= 600,
        "{stored}"
    );

    // Unset, then learned from the asker's own feedback: two wishes for shorter answers.
    let (code, _, back) = call("PUT", &prefs, Some(ADMIN_KEY), Some(json!({}))).await;
    assert_eq!(code, 200, "{back}");
    assert_eq!(back["effective"]["answer_length"]["source"], "default");
    for comment in ["too long, I only need the gist", "shorter please"] {
        let (code, body) = feedback(
            &learning,
            ADMIN_KEY,
            json!({ "target": "answer", "target_id": id, "kind": "rating", "rating": 2, "comment": comment }),
        )
        .await;
        assert_eq!(code, 202, "{body}");
    }
    eventually("the preference is inferred", || async {
        let (_, _, p) = call("GET", &prefs, Some(ADMIN_KEY), None).await;
        p["effective"]["answer_length"]["source"] == "inferred"
    })
    .await;
    // The orchestrator reads a new snapshot within a second of its publication.
    eventually("the next answer is shortened", || async {
        ask().await["answer"]["text"]
            .as_str()
            .unwrap()
            .contains("Shortened to your preference")
    })
    .await;

    // Bad settings change nothing.
    for bad in [
        json!({ "test_framework": "nose" }),
        json!({ "answer_length": "medium" }),
        json!({ "font": "big" }),
    ] {
        let (code, _, problem) = call("PUT", &prefs, Some(ADMIN_KEY), Some(bad.clone())).await;
        assert_eq!(code, 422, "{bad}: {problem}");
    }
    let (_, _, p) = call("GET", &prefs, Some(ADMIN_KEY), None).await;
    assert_eq!(p["explicit"], json!({}), "{p}");
    app.shutdown();
}

#[tokio::test]
async fn a_corrected_question_is_understood_next_time_in_that_tenant_only() {
    let b = backends("learning_correct").await.remove(0);
    let app = crate::helpers::spawn(&b.config, ALL).await;
    let base = app.url(ServiceKind::Orchestrator).unwrap();
    let learning = app.url(ServiceKind::Learning).unwrap();
    let db = Database::open(b.config.database_url.as_deref(), &b.config.data_dir, 1)
        .await
        .unwrap();
    let eve = user_key(&db, "other", "eve@other.test").await;
    // A question the built-in word model reads as one about a function's facts.
    let question = "is `legacy_tax_rate` still referenced anywhere";
    let ask = |key: String| {
        let url = format!("{base}/api/v1/agent/tasks");
        async move {
            let (code, _, answer) = call(
                "POST",
                &url,
                Some(&key),
                Some(json!({ "question": question, "fresh": true })),
            )
            .await;
            assert_eq!(code, 200, "{answer}");
            answer
        }
    };
    let first = ask(ADMIN_KEY.to_string()).await;
    assert_ne!(first["answer"]["intent"], "search", "{first}");
    let (code, body) = feedback(
        &learning,
        ADMIN_KEY,
        json!({ "target": "correction", "target_id": first["id"], "kind": "correction", "intent": "search",
                "comment": "I meant: where is it used" }),
    )
    .await;
    assert_eq!(code, 202, "{body}");
    eventually("the corrected question is understood", || async {
        ask(ADMIN_KEY.to_string()).await["answer"]["intent"] == "search"
    })
    .await;
    // The correction is shown with its evidence, and another tenant is untouched.
    let (_, _, state) = call(
        "GET",
        &format!("{learning}/api/v1/learning/state"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(state["corrections"][0][0], "search", "{state}");
    assert_eq!(
        ask(eve).await["answer"]["intent"],
        first["answer"]["intent"]
    );
    app.shutdown();
}

#[tokio::test]
async fn a_well_rated_answer_is_shown_with_similar_later_questions_of_its_tenant_only() {
    // The first backend's orchestrator has the sentence encoder (related by meaning), the
    // other's has not (related by shared words).
    let mut encoder = qa_embed::dir_for_tests();
    for mut b in backends("learning_knowledge").await {
        let by_meaning = encoder.is_some();
        b.config.encoder_dir = encoder.take();
        let ws = workspace();
        b.config.workspace_roots = vec![ws.path().to_path_buf()];
        let models = b.config.data_dir.join("models-elsewhere");
        b.config.models_dir = Some(models.clone());
        let app = crate::helpers::spawn(&b.config, ALL).await;
        let base = app.url(ServiceKind::Orchestrator).unwrap();
        let learning = app.url(ServiceKind::Learning).unwrap();
        let ask = |key: String, question: &'static str| {
            let (base, path) = (base.clone(), ws.path().join("shop"));
            async move {
                let (code, _, answer) = call(
                    "POST",
                    &format!("{base}/api/v1/agent/tasks"),
                    Some(&key),
                    Some(json!({ "question": question, "path": path })),
                )
                .await;
                assert_eq!(code, 200, "{answer}");
                answer
            }
        };
        let search = |key: String, q: &'static str| {
            let learning = learning.clone();
            async move {
                let url = format!(
                    "{learning}/api/v1/knowledge/search?q={}",
                    q.replace(' ', "+")
                );
                let (code, _, body) = call("GET", &url, Some(&key), None).await;
                // 503 only until the learning engine has opened its index.
                assert!(code == 200 || code == 503, "{body}");
                body["hits"].as_array().cloned().unwrap_or_default()
            }
        };
        // The rules' explanations are there from the start.
        eventually("the rules are indexed", || async {
            search(ADMIN_KEY.into(), "subprocess shell")
                .await
                .iter()
                .any(|h| h["kind"] == "rule")
        })
        .await;

        let first = ask(ADMIN_KEY.into(), "which functions have no tests?").await;
        assert!(first["answer"].get("related").is_none(), "{first}");
        let id = first["id"].as_i64().unwrap();
        let (code, body) = feedback(
            &learning,
            ADMIN_KEY,
            json!({ "target": "answer", "target_id": id, "kind": "rating", "rating": 5 }),
        )
        .await;
        assert_eq!(code, 202, "{body}");
        let fid = body["id"].as_i64().unwrap();
        eventually("the answer is indexed", || async {
            search(ADMIN_KEY.into(), "functions without tests")
                .await
                .iter()
                .any(|h| h["reference"] == format!("GET /api/v1/agent/tasks/{id}"))
        })
        .await;

        // A paraphrase gets it as related knowledge; an unrelated question does not.
        let later = ask(ADMIN_KEY.into(), "which of the functions lack tests").await;
        let related = related_of(&later);
        assert_eq!(related.len(), 1, "{later}");
        assert_eq!(related[0]["title"], "which functions have no tests?");
        assert_eq!(
            related[0]["reference"],
            format!("GET /api/v1/agent/tasks/{id}")
        );
        let text = later["answer"]["text"].as_str().unwrap();
        assert!(
            text.contains("Related, from your team's accepted work"),
            "{text}"
        );
        let steps = later["answer"]["steps"].as_array().unwrap();
        assert!(
            steps.iter().any(|s| s["thought"]
                .as_str()
                .unwrap_or_default()
                .contains("knowledge base")),
            "{steps:?}"
        );
        let other = ask(ADMIN_KEY.into(), "is there any hard-coded password?").await;
        assert!(other["answer"].get("related").is_none(), "{other}");
        if by_meaning {
            // Few words in common, the same need.
            let paraphrase = ask(ADMIN_KEY.into(), "are there untested functions in here?").await;
            let related = related_of(&paraphrase);
            assert_eq!(related.len(), 1, "{paraphrase}");
            assert_eq!(related[0]["title"], "which functions have no tests?");
        }

        // Another tenant neither finds nor is shown it.
        let db = Database::open(b.config.database_url.as_deref(), &b.config.data_dir, 1)
            .await
            .unwrap();
        let stranger = user_key(&db, "knowledge-other", "o@example.com").await;
        assert!(
            search(stranger.clone(), "functions without tests")
                .await
                .iter()
                .all(|h| h["kind"] == "rule"),
        );
        let theirs = ask(stranger, "which of the functions lack tests").await;
        assert!(theirs["answer"].get("related").is_none(), "{theirs}");

        let answer_indexed = || async {
            search(ADMIN_KEY.into(), "functions without tests")
                .await
                .iter()
                .any(|h| h["kind"] == "answer")
        };

        // Undone: out of the index and out of the next answer.
        let (code, _, body) = call(
            "DELETE",
            &format!("{learning}/api/v1/feedback/{fid}"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(code, 200, "{body}");
        eventually("the answer leaves the index", || async {
            !answer_indexed().await
        })
        .await;

        // Rated again, then the learning rolled back: out of the index again.
        let (code, body) = feedback(
            &learning,
            ADMIN_KEY,
            json!({ "target": "answer", "target_id": id, "kind": "rating", "rating": 5 }),
        )
        .await;
        assert_eq!(code, 202, "{body}");
        eventually("the answer is indexed again", answer_indexed).await;
        let (code, _, body) = call(
            "POST",
            &format!("{learning}/api/v1/learning/rollback"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(code, 200, "{body}");
        eventually("the rolled-back answer leaves the index", || async {
            !answer_indexed().await
        })
        .await;

        // The index is in models_dir, the health detail says so, maintenance compacts it.
        assert!(models.join("knowledge/meta.json").exists());
        assert!(models.join("learned-state.json").exists());
        let (_, health) = crate::helpers::get_json(&format!("{learning}/health/detailed")).await;
        assert_eq!(health["knowledge"]["status"], "up", "{health}");
        assert!(health["knowledge"]["by_kind"]["rule"].as_u64().unwrap() > 10);
        let (code, _, m) = call(
            "POST",
            &format!("{learning}/api/v1/maintenance/optimize"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(code, 200, "{m}");
        assert!(m["steps"].to_string().contains("knowledge index"), "{m}");
        let (_, health) = crate::helpers::get_json(&format!("{learning}/health/detailed")).await;
        assert_eq!(health["knowledge"]["segments"], 1, "{health}");

        // Bad searches are refused.
        for bad in ["", "q=", "q=x&kind=novel", "q=x&limit=0", "q=x&limit=500"] {
            let (code, _, p) = call(
                "GET",
                &format!("{learning}/api/v1/knowledge/search?{bad}"),
                Some(ADMIN_KEY),
                None,
            )
            .await;
            assert!(code == 422 || code == 400, "{bad}: {code} {p}");
        }
        let (code, _, _) = call(
            "GET",
            &format!("{learning}/api/v1/knowledge/search?q=x"),
            Some("qak_wrong"),
            None,
        )
        .await;
        assert_eq!(code, 401);
        app.shutdown();
    }
}
