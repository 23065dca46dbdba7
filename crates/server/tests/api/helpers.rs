//! Starting the services for a test and talking to them.

use std::str::FromStr;

use qa_server::{Running, ServerConfig, ServiceKind};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor};

/// The admin key every test installation is bootstrapped with.
pub const ADMIN_KEY: &str = "qak_test_admin_key_0123456789abcdef";

/// Every port free, the embedded database in a temporary directory (kept alive by the
/// returned guard).
pub fn test_config() -> (ServerConfig, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut c = ServerConfig {
        data_dir: data.path().to_path_buf(),
        bootstrap_key: Some(ADMIN_KEY.into()),
        ..ServerConfig::default()
    };
    c.ports.orchestrator = 0;
    c.ports.specialists = 0;
    c.ports.conversation = 0;
    c.ports.conversation_ops = 0;
    c.ports.learning = 0;
    c.peer_timeout_ms = 500;
    (c, data)
}

/// A backend to run a test on: the embedded SQLite file, or a PostgreSQL schema of the
/// test's own (dropped on drop).
pub struct Backend {
    pub name: &'static str,
    pub config: ServerConfig,
    _data: tempfile::TempDir,
    schema: Option<(String, String)>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some((url, schema)) = self.schema.take() {
            // Best effort, on a runtime of its own (drop is not async).
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(&url).await {
                        let _ = pool
                            .execute(AssertSqlSafe(format!(
                                "DROP SCHEMA IF EXISTS {schema} CASCADE"
                            )))
                            .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// SQLite always; PostgreSQL too when `QA_AGENT_TEST_DATABASE_URL` is set (an error in
/// CI when it is not).
pub async fn backends(test: &str) -> Vec<Backend> {
    let (config, data) = test_config();
    let mut out = vec![Backend {
        name: "sqlite",
        config,
        _data: data,
        schema: None,
    }];
    match std::env::var("QA_AGENT_TEST_DATABASE_URL") {
        Ok(url) => {
            let schema = format!("qa_api_{}_{}", test, std::process::id());
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .expect("QA_AGENT_TEST_DATABASE_URL answers");
            admin
                .execute(AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                )))
                .await
                .unwrap();
            admin.close().await;
            // Each connection of the service gets the schema as its search path.
            PgConnectOptions::from_str(&url).expect("a valid PostgreSQL URL");
            let sep = if url.contains('?') { '&' } else { '?' };
            let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
            let (mut config, data) = test_config();
            config.database_url = Some(scoped);
            out.push(Backend {
                name: "postgres",
                config,
                _data: data,
                schema: Some((url, schema)),
            });
        }
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "QA_AGENT_TEST_DATABASE_URL is not set in CI (.ci/run sets it)"
            );
            eprintln!("SKIPPED: PostgreSQL leg of {test} (set QA_AGENT_TEST_DATABASE_URL)");
        }
    }
    out
}

pub async fn spawn(config: &ServerConfig, kinds: &[ServiceKind]) -> Running {
    qa_server::start(config, kinds)
        .await
        .expect("services start")
}

pub async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

pub async fn get_json(url: &str) -> (u16, Value) {
    let (status, body) = get(url).await;
    (status, serde_json::from_str(&body).expect("JSON body"))
}

/// An API call: method, URL, optional bearer key, optional JSON body. Returns the
/// status, the content type and the body parsed as JSON (`Null` when it is not JSON).
pub async fn call(
    method: &str,
    url: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value) {
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = r.text().await.unwrap();
    (
        status,
        content_type,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}
