//! The specialist service's tools over HTTP: schemas, evidence that checks out against
//! the files, tenant isolation, the admin switch, metrics.

use std::time::Duration;

use qa_server::ServiceKind;
use qa_store::{Database, Role};
use serde_json::{Value, json};

use crate::analyses::{analyse, workspace};
use crate::helpers::{ADMIN_KEY, call, get, get_json, spawn, test_config};

/// Every evidence entry names a line that exists and holds what it claims.
fn check_evidence(root: &std::path::Path, evidence: &Value, needle: impl Fn(&Value) -> String) {
    let items = evidence.as_array().unwrap();
    assert!(!items.is_empty());
    for e in items {
        let text = std::fs::read_to_string(root.join(e["file"].as_str().unwrap())).unwrap();
        let line = e["line"].as_u64().unwrap() as usize;
        let at = text
            .lines()
            .nth(line - 1)
            .unwrap_or_else(|| panic!("no line {line}: {e}"));
        assert!(at.contains(&needle(e)), "{e} but line {line} is `{at}`");
    }
}

#[tokio::test]
async fn tools_run_on_the_tenants_analysis_with_evidence_that_checks_out() {
    let ws = workspace();
    let (mut config, _data) = test_config();
    config.workspace_roots = vec![ws.path().to_path_buf()];
    let app = spawn(
        &config,
        &[ServiceKind::Orchestrator, ServiceKind::Specialists],
    )
    .await;
    let orch = app.url(ServiceKind::Orchestrator).unwrap();
    let spec = app.url(ServiceKind::Specialists).unwrap();
    let root = ws.path().join("shop");
    let id = analyse(&orch, ADMIN_KEY, &root).await;
    let tool = |name: &str| format!("{spec}/api/v1/tools/{name}");

    let (code, _, list) = call(
        "GET",
        &format!("{spec}/api/v1/tools"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(code, 200, "{list}");
    let names: Vec<&str> = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "analysis_summary",
            "analyze_repository",
            "compare_analyses",
            "explain_rule",
            "find_violations",
            "function_metrics",
            "function_source",
            "generate_tests",
            "list_untested",
            "search_code",
            "verify_evidence"
        ]
    );
    for t in list["tools"].as_array().unwrap() {
        assert_eq!(
            (t["circuit"].as_str(), t["disabled"].as_bool()),
            (Some("closed"), Some(false))
        );
        assert_eq!(t["input_schema"]["type"], "object", "{t}");
    }

    // Tests generated and run in the sandbox, stored with their validation runs.
    let (code, _, r) = call(
        "POST",
        &tool("generate_tests"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "file": "pkg/pricing.py", "target": "Cart.total", "budget_seconds": 30 })),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    let source = r["data"]["test_source"].as_str().unwrap();
    assert!(
        source.contains("def test_cart_total") && source.contains("assert "),
        "{source}"
    );
    assert_eq!(r["data"]["validation_runs"], 5);
    let stored_id = r["data"]["generated_tests_id"].as_i64().unwrap();
    let (code, _, stored) = call(
        "GET",
        &format!("{spec}/api/v1/generated-tests/{stored_id}"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(code, 200, "{stored}");
    assert_eq!(stored["status"], "validated");
    assert_eq!(stored["code"].as_str(), Some(source));
    assert_eq!(stored["runs"].as_array().unwrap().len(), 5);
    assert!(stored["coverage"].as_f64().unwrap() > 50.0, "{stored}");
    // Not Python, or outside the analysed tree: refused, nothing run.
    std::fs::write(ws.path().join("outside.py"), "def f():\n    return 1\n").unwrap();
    for (file, want) in [
        ("README.md", 422),
        ("../outside.py", 422),
        ("pkg/none.py", 404),
    ] {
        let (code, _, r) = call(
            "POST",
            &tool("generate_tests"),
            Some(ADMIN_KEY),
            Some(json!({ "analysis_id": id, "file": file })),
        )
        .await;
        assert_eq!(code, want, "{file}: {r}");
    }
    let (code, _, _) = call(
        "GET",
        &format!("{spec}/api/v1/generated-tests/999999"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(code, 404);

    let (code, _, r) = call(
        "POST",
        &tool("explain_rule"),
        Some(ADMIN_KEY),
        Some(json!({ "rule": "SEC001" })),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    assert!(r["summary"].as_str().unwrap().starts_with("SEC001"), "{r}");
    assert!(
        r["data"]["docs"]
            .as_str()
            .unwrap()
            .contains("## How to fix")
    );

    let (code, _, r) = call(
        "POST",
        &tool("find_violations"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "family": "security" })),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["data"]["findings"].as_array().unwrap().len(), 2, "{r}");
    check_evidence(&root, &r["evidence"], |_| "e".into());
    let lines: Vec<String> = r["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}:{}", e["file"].as_str().unwrap(), e["line"]))
        .collect();
    assert_eq!(lines, ["pkg/pricing.py:3", "pkg/tools.py:2"]);
    let (_, _, r) = call(
        "POST",
        &tool("find_violations"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "family": "performance" })),
    )
    .await;
    assert_eq!(r["data"]["findings"], json!([]), "{r}");

    // A directory scope matches by prefix.
    let (_, _, r) = call(
        "POST",
        &tool("find_violations"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "file": "pkg/", "family": "security" })),
    )
    .await;
    assert_eq!(r["data"]["findings"].as_array().unwrap().len(), 2, "{r}");

    // Citations are checked against the files: what holds, what does not, and what is
    // outside the analysed tree.
    std::fs::write(root.join(".env"), "SECRET=hunter2\n").unwrap();
    let (code, _, r) = call(
        "POST",
        &tool("verify_evidence"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "items": [
            { "file": "pkg/pricing.py", "line": 3, "rule_id": "SEC001" },
            { "file": "pkg/pricing.py", "line": 6, "symbol": "Cart.total" },
            { "file": "pkg/pricing.py", "line": 2, "excerpt": "request.args" },
            { "file": "pkg/pricing.py", "line": 1, "rule_id": "SEC001" },
            { "file": "pkg/pricing.py", "line": 99 },
            { "file": "pkg/pricing.py", "line": 1, "symbol": "Cart.total" },
            { "file": "../../etc/passwd", "line": 1 },
            { "file": ".env", "line": 1 },
        ] })),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    let verdicts: Vec<bool> = r["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["verified"].as_bool().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        [true, true, true, false, false, false, false, false],
        "{r}"
    );
    // A file under the root that the analysis did not read is not evidence, and its
    // lines are not handed out.
    assert_eq!(r["data"]["items"][7]["text"], Value::Null, "{r}");
    assert_eq!(r["data"]["items"][0]["text"], "return eval(expr)");

    let (code, _, r) = call(
        "POST",
        &tool("list_untested"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "limit": 2 })),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["data"]["untested_total"], 3, "{r}");
    assert_eq!(r["data"]["untested"].as_array().unwrap().len(), 2);
    check_evidence(&root, &r["evidence"], |e| {
        e["detail"]
            .as_str()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .rsplit('.')
            .next()
            .unwrap()
            .to_string()
    });

    let (code, _, r) = call(
        "POST",
        &tool("function_metrics"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "name": "total" })),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    assert_eq!(r["data"]["functions"][0]["name"], "Cart.total");
    assert_eq!(r["data"]["functions"][0]["metrics"]["cyclomatic"], 3);
    check_evidence(&root, &r["evidence"], |_| "def total".into());

    // Source and search read the analysed tree.
    let (code, _, r) = call(
        "POST",
        &tool("function_source"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "name": "Cart.total" })),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    let src = r["data"]["functions"][0]["source"].as_str().unwrap();
    assert!(
        src.starts_with("    def total(self, items):") && src.ends_with("return s"),
        "{src}"
    );
    check_evidence(&root, &r["evidence"], |_| "def total".into());
    let (_, _, r) = call(
        "POST",
        &tool("search_code"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "query": "cart", "kind": "symbol" })),
    )
    .await;
    let found: Vec<&str> = r["data"]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["Cart", "Cart.total"], "{r}");
    let (_, _, r) = call(
        "POST",
        &tool("search_code"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "query": "eval(", "kind": "text" })),
    )
    .await;
    assert_eq!(r["data"]["matches"].as_array().unwrap().len(), 1, "{r}");
    check_evidence(&root, &r["evidence"], |_| "eval(".into());
    let (_, _, r) = call(
        "POST",
        &tool("search_code"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id, "query": "^def \\w+\\(", "kind": "text", "regex": true })),
    )
    .await;
    assert_eq!(r["data"]["matches"].as_array().unwrap().len(), 2, "{r}");

    // Inputs are checked against the schema; the problem says what is wrong.
    for (name, input, says) in [
        (
            "find_violations",
            json!({ "analysis_id": "x" }),
            "input does not match",
        ),
        (
            "find_violations",
            json!({ "analysis_id": id, "colour": 1 }),
            "input does not match",
        ),
        (
            "find_violations",
            json!({ "analysis_id": id, "limit": 0 }),
            "input does not match",
        ),
        (
            "find_violations",
            json!({ "analysis_id": id, "family": "style" }),
            "unknown family",
        ),
        ("explain_rule", json!({}), "input does not match"),
        (
            "search_code",
            json!({ "analysis_id": id, "query": "x", "kind": "everything" }),
            "input does not match",
        ),
        (
            "search_code",
            json!({ "analysis_id": id, "query": "(", "kind": "text", "regex": true }),
            "not a valid regular expression",
        ),
        (
            "compare_analyses",
            json!({ "base": id, "head": id }),
            "same analysis",
        ),
    ] {
        let (code, ctype, p) =
            call("POST", &tool(name), Some(ADMIN_KEY), Some(input.clone())).await;
        assert_eq!(
            (code, ctype.as_str()),
            (422, "application/problem+json"),
            "{input}: {p}"
        );
        assert!(p["detail"].as_str().unwrap().contains(says), "{input}: {p}");
    }
    assert_eq!(
        call("POST", &tool("nope"), Some(ADMIN_KEY), Some(json!({})))
            .await
            .0,
        404
    );
    assert_eq!(
        call(
            "POST",
            &tool("explain_rule"),
            Some(ADMIN_KEY),
            Some(json!({ "rule": "XYZ999" }))
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(
            "POST",
            &tool("explain_rule"),
            None,
            Some(json!({ "rule": "SEC001" }))
        )
        .await
        .0,
        401
    );

    // The repository changes: a second analysis, compared with the first by fingerprint.
    std::fs::write(
        root.join("pkg/tools.py"),
        "def make_getter(name):\n    return name\n",
    )
    .unwrap();
    let id2 = analyse(&orch, ADMIN_KEY, &root).await;
    let (code, _, r) = call(
        "POST",
        &tool("compare_analyses"),
        Some(ADMIN_KEY),
        Some(json!({ "base": id, "head": id2 })),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    assert_eq!(
        (
            r["data"]["new"].as_array().unwrap().len(),
            r["data"]["unchanged"].as_u64()
        ),
        (0, Some(1)),
        "{r}"
    );
    assert_eq!(r["data"]["fixed"][0]["file"], "pkg/tools.py", "{r}");

    // A tool that analyses: queued on the job queue, run by the worker, waited for.
    let (code, _, r) = call(
        "POST",
        &tool("analyze_repository"),
        Some(ADMIN_KEY),
        Some(json!({ "path": root, "wait_seconds": 30 })),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    assert_eq!(
        (
            r["data"]["status"].as_str(),
            r["data"]["summary"]["files"].as_u64()
        ),
        (Some("done"), Some(2)),
        "{r}"
    );
    assert!(r["data"]["analysis_id"].as_i64().unwrap() > id2);
    let (code, _, p) = call(
        "POST",
        &tool("analyze_repository"),
        Some(ADMIN_KEY),
        Some(json!({ "path": "/etc" })),
    )
    .await;
    assert_eq!(code, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("outside"), "{p}");
    let (code, _, _) = call(
        "POST",
        &tool("analyze_repository"),
        Some(ADMIN_KEY),
        Some(json!({ "path": root.join("nope") })),
    )
    .await;
    assert_eq!(code, 404);

    // Another tenant cannot reach this analysis through a tool.
    let db = Database::open(None, &config.data_dir, 1).await.unwrap();
    let other = db.create_tenant("other").await.unwrap();
    let eve = db
        .create_user(other.id, "eve@other.test", Role::Member)
        .await
        .unwrap();
    let eve_key = qa_store::generate_api_key();
    db.add_api_key(&eve, &eve_key).await.unwrap();
    let (code, _, p) = call(
        "POST",
        &tool("find_violations"),
        Some(&eve_key),
        Some(json!({ "analysis_id": id })),
    )
    .await;
    assert_eq!(code, 404, "{p}");

    // An admin switches a tool off for every replica, and back on; a member cannot.
    assert_eq!(
        call(
            "POST",
            &format!("{}/disable", tool("find_violations")),
            Some(&eve_key),
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        call(
            "POST",
            &format!("{}/disable", tool("find_violations")),
            Some(ADMIN_KEY),
            None
        )
        .await
        .0,
        204
    );
    let (code, _, p) = call(
        "POST",
        &tool("find_violations"),
        Some(ADMIN_KEY),
        Some(json!({ "analysis_id": id })),
    )
    .await;
    assert_eq!(
        (code, p["type"].as_str()),
        (503, Some("/problems/tool-disabled")),
        "{p}"
    );
    let (_, health) = get_json(&format!("{spec}/health/detailed")).await;
    assert_eq!(
        health["tools"]["find_violations"]["disabled"], true,
        "{health}"
    );
    assert_eq!(health["tools"]["find_violations"]["circuit"], "closed");
    assert_eq!(
        call(
            "POST",
            &format!("{}/enable", tool("find_violations")),
            Some(ADMIN_KEY),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            "POST",
            &tool("find_violations"),
            Some(ADMIN_KEY),
            Some(json!({ "analysis_id": id }))
        )
        .await
        .0,
        200
    );
    let audit: Vec<String> = db
        .audit_log(None, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.entry.action)
        .collect();
    assert!(
        audit.contains(&"tool.disable".to_string()) && audit.contains(&"tool.enable".to_string()),
        "{audit:?}"
    );

    // Executions are counted per tool and outcome; refused inputs are not executions.
    let text = get(&format!("{spec}/metrics")).await.1;
    assert!(
        text.contains("tool_execution_total{tool=\"find_violations\",outcome=\"success\"} 4"),
        "{text}"
    );
    assert!(
        text.contains("tool_success_rate{tool=\"explain_rule\"} 1"),
        "{text}"
    );
    db.close().await;
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;
}
