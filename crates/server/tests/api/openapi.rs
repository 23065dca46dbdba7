//! The OpenAPI document describes every route the services serve, and the docs page
//! renders it without assets from elsewhere.

use qa_server::ServiceKind;

use crate::helpers::{call, get, spawn, test_config};

/// Every `/api/v1` operation the services serve (method, path), from their routers.
const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/api/v1/me"),
    ("get", "/api/v1/audit"),
    ("post", "/api/v1/analyses"),
    ("get", "/api/v1/analyses"),
    ("post", "/api/v1/analyses/upload"),
    ("get", "/api/v1/analyses/{id}"),
    ("get", "/api/v1/analyses/{id}/findings"),
    ("get", "/api/v1/analyses/{id}/components"),
    ("get", "/api/v1/analyses/{id}/sarif"),
    ("get", "/api/v1/agent/specialists"),
    ("post", "/api/v1/feedback"),
    ("delete", "/api/v1/feedback"),
    ("delete", "/api/v1/feedback/{id}"),
    ("get", "/api/v1/learning/state"),
    ("get", "/api/v1/learning/dismissals"),
    ("get", "/api/v1/knowledge/search"),
    ("get", "/api/v1/preferences"),
    ("put", "/api/v1/preferences"),
    ("post", "/api/v1/learning/cycle"),
    ("post", "/api/v1/learning/rollback"),
    ("post", "/api/v1/maintenance/optimize"),
    ("post", "/api/v1/optimize/reasoning_cache"),
    ("post", "/api/v1/agent/tasks"),
    ("get", "/api/v1/agent/tasks"),
    ("get", "/api/v1/agent/tasks/{id}"),
    ("post", "/api/v1/agent/tasks/{id}/cancel"),
    ("post", "/api/v1/agent/reasoning_cache/clear"),
    ("post", "/api/v1/session-token"),
    ("get", "/api/v1/conversations"),
    ("get", "/api/v1/conversations/{id}"),
    ("delete", "/api/v1/conversations/{id}"),
    ("get", "/api/v1/conversations/{id}/export"),
    ("get", "/api/v1/tools"),
    ("post", "/api/v1/tools/{name}"),
    ("post", "/api/v1/tools/{name}/disable"),
    ("post", "/api/v1/tools/{name}/enable"),
    ("get", "/api/v1/generated-tests/{id}"),
];

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_is_served_without_a_key() {
    let (config, _data) = test_config();
    let app = spawn(&config, &[ServiceKind::Orchestrator]).await;
    let base = app.url(ServiceKind::Orchestrator).unwrap();
    let (code, ctype, doc) = call("GET", &format!("{base}/api/v1/openapi.json"), None, None).await;
    assert_eq!((code, ctype.as_str()), (200, "application/json"));
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = 0;
    for (method, path) in paths.iter().flat_map(|(p, ops)| {
        ops.as_object()
            .unwrap()
            .keys()
            .map(move |m| (m.clone(), p.clone()))
    }) {
        assert!(
            OPERATIONS.contains(&(method.as_str(), path.as_str())),
            "{method} {path} is documented but not in this test's list"
        );
        documented += 1;
    }
    assert_eq!(
        documented,
        OPERATIONS.len(),
        "{}",
        serde_json::to_string_pretty(&doc["paths"]).unwrap()
    );
    // Responses name their schemas, problems included.
    let findings = &doc["paths"]["/api/v1/analyses/{id}/findings"]["get"];
    assert_eq!(
        findings["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/FindingPage"
    );
    assert!(doc["components"]["schemas"]["Problem"]["properties"]["detail"].is_object());
    assert!(
        doc["components"]["schemas"]["Evidence"]["properties"]["file"].is_object(),
        "{}",
        doc["components"]
    );
    // The keyless operational calls say so.
    let spec = &doc["paths"]["/api/v1/agent/specialists"]["get"]["security"];
    assert!(
        spec.as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_object().unwrap().is_empty()),
        "{spec}"
    );

    let (code, page) = get(&format!("{base}/api/v1/docs")).await;
    assert_eq!(code, 200);
    assert!(
        page.contains("/api/v1/openapi.json") && !page.contains("https://"),
        "the page loads nothing from the internet"
    );
    app.shutdown();
    app.wait(std::time::Duration::from_secs(5)).await;
}
