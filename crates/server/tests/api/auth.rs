//! API keys, roles and the credential metrics, on each backend.

use qa_server::ServiceKind;
use qa_store::{Database, Role};

use crate::helpers::{ADMIN_KEY, backends, call, get, spawn, test_config};

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn keys_roles_and_revocation() {
    for b in backends("auth_keys").await {
        let app = spawn(&b.config, &[ServiceKind::Orchestrator]).await;
        let base = app.url(ServiceKind::Orchestrator).unwrap();
        let me = format!("{base}/api/v1/me");
        // The bootstrap admin exists, with the key from the configuration.
        let bootstrap = app.bootstrap.as_ref().expect("first start bootstraps");
        assert!(!bootstrap.generated);

        let (code, ctype, body) = call("GET", &me, None, None).await;
        assert_eq!(
            (code, ctype.as_str()),
            (401, "application/problem+json"),
            "{}",
            b.name
        );
        assert_eq!(body["type"], "/problems/unauthorized");
        assert!(
            body["detail"].as_str().unwrap().contains("Bearer"),
            "{body}"
        );
        let (code, _, body) = call("GET", &me, Some("qak_not-a-key"), None).await;
        assert_eq!(code, 401, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("not valid"));

        let (code, _, body) = call("GET", &me, Some(ADMIN_KEY), None).await;
        assert_eq!(code, 200, "{}: {body}", b.name);
        assert_eq!(body["tenant"], "default");
        assert_eq!(body["role"], "admin");
        assert_eq!(body["key_prefix"], &ADMIN_KEY[..12]);

        // A member of another tenant, created the way `qa-agent admin` does it.
        let db = Database::open(b.config.database_url.as_deref(), &b.config.data_dir, 1)
            .await
            .unwrap();
        let globex = db.create_tenant("globex").await.unwrap();
        let user = db
            .create_user(globex.id, "dev@globex.test", Role::Member)
            .await
            .unwrap();
        let member_key = qa_store::generate_api_key();
        db.add_api_key(&user, &member_key).await.unwrap();
        let (code, _, body) = call("GET", &me, Some(&member_key), None).await;
        assert_eq!(
            (code, body["tenant"].as_str()),
            (200, Some("globex")),
            "{body}"
        );

        // The audit log is for admins, and only of their own tenant.
        let audit = format!("{base}/api/v1/audit");
        let (code, _, body) = call("GET", &audit, Some(&member_key), None).await;
        assert_eq!(
            (code, body["type"].as_str()),
            (403, Some("/problems/forbidden"))
        );
        let (code, _, body) = call("GET", &audit, Some(ADMIN_KEY), None).await;
        assert_eq!(code, 200, "{body}");
        let actions: Vec<&str> = body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["bootstrap"], "{body}");
        let (code, ctype, _) =
            call("GET", &format!("{audit}?limit=0"), Some(ADMIN_KEY), None).await;
        assert_eq!((code, ctype.as_str()), (422, "application/problem+json"));
        let (code, ctype, body) =
            call("GET", &format!("{audit}?limit=x"), Some(ADMIN_KEY), None).await;
        assert_eq!(
            (code, ctype.as_str()),
            (400, "application/problem+json"),
            "{body}"
        );

        // A revoked key stops working at once.
        db.revoke_api_key(&member_key[..16])
            .await
            .unwrap()
            .expect("revoked");
        let (code, _, body) = call("GET", &me, Some(&member_key), None).await;
        assert_eq!(code, 401);
        assert!(
            body["detail"].as_str().unwrap().contains("revoked"),
            "{body}"
        );

        // Unknown routes under /api/v1 are problem details too.
        let (code, ctype, _) =
            call("GET", &format!("{base}/api/v1/nope"), Some(ADMIN_KEY), None).await;
        assert_eq!((code, ctype.as_str()), (404, "application/problem+json"));

        // Each refusal is counted by reason; none is an authentication outage.
        let text = get(&format!("{base}/metrics")).await.1;
        assert_eq!(
            metric(&text, "auth_failures_total{reason=\"missing\"}"),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            metric(&text, "auth_failures_total{reason=\"invalid\"}"),
            Some(1.0)
        );
        assert_eq!(
            metric(&text, "auth_failures_total{reason=\"revoked\"}"),
            Some(1.0)
        );
        assert!(text.contains("# TYPE auth_errors_total counter"));
        assert!(!text.contains("auth_errors_total{"), "{text}");
        db.close().await;
        app.shutdown();
        app.wait(std::time::Duration::from_secs(5)).await;
    }
}

#[tokio::test]
async fn keys_that_cannot_be_checked_are_an_outage_not_a_rejection() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (mut config, _data) = test_config();
    config.database_url = Some(format!("postgres://qa@127.0.0.1:{port}/qa"));
    let app = spawn(&config, &[ServiceKind::Orchestrator]).await;
    let base = app.url(ServiceKind::Orchestrator).unwrap();
    let (code, ctype, body) =
        call("GET", &format!("{base}/api/v1/me"), Some(ADMIN_KEY), None).await;
    assert_eq!(
        (code, ctype.as_str()),
        (503, "application/problem+json"),
        "{body}"
    );
    assert_eq!(body["type"], "/problems/auth-unavailable");
    let text = get(&format!("{base}/metrics")).await.1;
    assert_eq!(
        metric(&text, "auth_errors_total{kind=\"backend\"}"),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("auth_failures_total{"), "{text}");
    app.shutdown();
    app.wait(std::time::Duration::from_secs(5)).await;
}
