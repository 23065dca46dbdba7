//! The analysis API end to end: submit a path, the specialist service's worker runs it,
//! results, filters, pages, SARIF, tenant isolation, bad input, and the crash case.

use std::time::{Duration, Instant};

use qa_server::{ServerConfig, ServiceKind};
use qa_store::{ANALYSIS_JOB, Database, Role};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_KEY, backends, call, get, spawn};

/// A workspace root holding one small Python project with two findings.
pub fn workspace() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    let proj = ws.path().join("shop");
    std::fs::create_dir_all(proj.join("pkg")).unwrap();
    std::fs::write(
        proj.join("pkg/pricing.py"),
        "def calculate(request):\n    expr = request.args['expr']\n    return eval(expr)\n\n\
         class Cart:\n    def total(self, items):\n        s = 0\n        for i in items:\n            if i > 0:\n                s += i\n        return s\n",
    )
    .unwrap();
    std::fs::write(
        proj.join("pkg/tools.py"),
        "def make_getter(name):\n    exec(f\"def get_{name}(self): return self._{name}\")\n",
    )
    .unwrap();
    ws
}

/// Submits `path` for analysis and waits until it is done; its id.
pub async fn analyse(base: &str, key: &str, path: &std::path::Path) -> i64 {
    let (code, _, body) = call(
        "POST",
        &format!("{base}/api/v1/analyses"),
        Some(key),
        Some(serde_json::json!({ "path": path })),
    )
    .await;
    assert!(code == 202 || code == 200, "{body}");
    let id = body["id"].as_i64().unwrap();
    assert_eq!(wait_done(base, key, id).await["status"], "done");
    id
}

pub async fn wait_done(base: &str, key: &str, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, _, body) = call(
            "GET",
            &format!("{base}/api/v1/analyses/{id}"),
            Some(key),
            None,
        )
        .await;
        assert_eq!(code, 200, "{body}");
        if body["status"] == "done" || body["status"] == "failed" {
            return body;
        }
        assert!(Instant::now() < deadline, "analysis {id} not done: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn open_db(config: &ServerConfig) -> Database {
    Database::open(config.database_url.as_deref(), &config.data_dir, 1)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_path_is_analysed_in_the_background_and_its_results_are_served() {
    for mut b in backends("analyses_e2e").await {
        let ws = workspace();
        b.config.workspace_roots = vec![ws.path().to_path_buf()];
        let app = spawn(
            &b.config,
            &[ServiceKind::Orchestrator, ServiceKind::Specialists],
        )
        .await;
        let base = app.url(ServiceKind::Orchestrator).unwrap();
        let analyses = format!("{base}/api/v1/analyses");
        let path = ws.path().join("shop").display().to_string();

        let (code, _, body) = call(
            "POST",
            &analyses,
            Some(ADMIN_KEY),
            Some(json!({ "path": path })),
        )
        .await;
        assert_eq!(code, 202, "{}: {body}", b.name);
        assert_eq!(body["repository"], "shop");
        let id = body["id"].as_i64().unwrap();
        let done = wait_done(&base, ADMIN_KEY, id).await;
        assert_eq!(done["status"], "done", "{done}");
        assert_eq!(done["progress"], 1.0);
        assert_eq!(done["summary"]["files"], 2, "{done}");
        assert_eq!(done["summary"]["functions"], 3, "{done}");

        // Findings, filtered and paged.
        let (code, _, all) = call(
            "GET",
            &format!("{analyses}/{id}/findings"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(code, 200, "{all}");
        let items = all["items"].as_array().unwrap();
        let rules: Vec<&str> = items
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap())
            .collect();
        assert_eq!(rules.iter().filter(|r| **r == "SEC001").count(), 2, "{all}");
        let (_, _, one) = call(
            "GET",
            &format!("{analyses}/{id}/findings?rule=SEC001&file=pkg/tools.py"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(one["items"].as_array().unwrap().len(), 1, "{one}");
        assert_eq!(one["items"][0]["line"], 2);
        let (_, _, page1) = call(
            "GET",
            &format!("{analyses}/{id}/findings?rule=SEC001&limit=1"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        let cursor = page1["next_cursor"].as_i64().expect("a next page");
        let (_, _, page2) = call(
            "GET",
            &format!("{analyses}/{id}/findings?rule=SEC001&limit=1&cursor={cursor}"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_ne!(page1["items"][0]["id"], page2["items"][0]["id"]);
        let (code, ctype, _) = call(
            "GET",
            &format!("{analyses}/{id}/findings?severity=urgent"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!((code, ctype.as_str()), (422, "application/problem+json"));

        // Components: every function with its metrics.
        let (_, _, funcs) = call(
            "GET",
            &format!("{analyses}/{id}/components?kind=function"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        let total = funcs["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "Cart.total")
            .expect("Cart.total");
        assert_eq!(total["metrics"]["cyclomatic"], 3, "{total}");
        assert_eq!(total["file"], "pkg/pricing.py");

        // SARIF export.
        let r = reqwest::Client::new()
            .get(format!("{analyses}/{id}/sarif"))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "application/sarif+json");
        let sarif: Value = r.json().await.unwrap();
        assert_eq!(sarif["version"], "2.1.0");
        assert!(sarif["runs"][0]["results"].as_array().unwrap().len() >= 2);

        // A second run of unchanged content reuses the per-file results.
        let (_, _, again) = call(
            "POST",
            &analyses,
            Some(ADMIN_KEY),
            Some(json!({ "path": path, "repository": "shop" })),
        )
        .await;
        let again = wait_done(&base, ADMIN_KEY, again["id"].as_i64().unwrap()).await;
        assert_eq!(again["summary"]["cache"]["files_reused"], 2, "{again}");
        assert_eq!(again["summary"]["cache"]["files_analysed"], 0);

        // The worker's executions are in the specialist service's metrics.
        let spec = app.url(ServiceKind::Specialists).unwrap();
        let text = get(&format!("{spec}/metrics")).await.1;
        assert!(
            text.contains(
                "tool_execution_total{tool=\"analyze_repository\",outcome=\"success\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("tool_success_rate{tool=\"analyze_repository\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("analysis_job_duration_seconds_count 2"),
            "{text}"
        );

        // Another tenant sees none of it: 404, never 403.
        let db = open_db(&b.config).await;
        let t = db.create_tenant("other").await.unwrap();
        let u = db
            .create_user(t.id, "eve@other.test", Role::Admin)
            .await
            .unwrap();
        let eve = qa_store::generate_api_key();
        db.add_api_key(&u, &eve).await.unwrap();
        for suffix in ["", "/findings", "/components", "/sarif"] {
            let (code, ctype, _) =
                call("GET", &format!("{analyses}/{id}{suffix}"), Some(&eve), None).await;
            assert_eq!(
                (code, ctype.as_str()),
                (404, "application/problem+json"),
                "{suffix}"
            );
        }
        // Counted as cross-tenant denials (a security signal); a missing id is not.
        let (code, _, _) = call("GET", &format!("{analyses}/999999"), Some(&eve), None).await;
        assert_eq!(code, 404);
        let text = get(&format!("{base}/metrics")).await.1;
        assert!(
            text.contains("cross_tenant_denials_total{resource=\"analysis\"} 4"),
            "{text}"
        );
        let (_, _, list) = call("GET", &analyses, Some(&eve), None).await;
        assert_eq!(list["items"], json!([]));
        let (_, _, list) = call("GET", &analyses, Some(ADMIN_KEY), None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 2);

        // Read-only mode refuses the submission and keeps the reads.
        db.set_setting("read_only", "on").await.unwrap();
        let (code, _, body) = call(
            "POST",
            &analyses,
            Some(ADMIN_KEY),
            Some(json!({ "path": path })),
        )
        .await;
        assert_eq!(code, 503, "{body}");
        assert_eq!(body["type"], "/problems/read-only");
        assert_eq!(call("GET", &analyses, Some(ADMIN_KEY), None).await.0, 200);
        db.set_setting("read_only", "off").await.unwrap();
        db.close().await;
        app.shutdown();
        app.wait(Duration::from_secs(5)).await;
    }
}

#[tokio::test]
async fn bad_submissions_get_problem_details_and_queue_nothing() {
    let mut b = backends("analyses_bad").await.remove(0);
    let ws = workspace();
    let outside = tempfile::tempdir().unwrap();
    b.config.workspace_roots = vec![ws.path().to_path_buf()];
    let app = spawn(&b.config, &[ServiceKind::Orchestrator]).await;
    let base = app.url(ServiceKind::Orchestrator).unwrap();
    let analyses = format!("{base}/api/v1/analyses");
    let escape = format!("{}/shop/../../", ws.path().display());
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({ "path": outside.path() }), 403, "outside"),
        (json!({ "path": escape }), 403, "outside"),
        (json!({ "path": "/etc/passwd" }), 403, "outside"),
        // Outside the roots, existing or not, the answer is the same.
        (json!({ "path": "/etc/no-such-file" }), 403, "outside"),
        (json!({ "path": "relative/path" }), 403, "outside"),
        (
            json!({ "path": format!("{}/nope", ws.path().display()) }),
            422,
            "does not exist",
        ),
        (json!({ "path": 42 }), 422, "invalid type"),
        (
            json!({ "path": "x", "colour": "red" }),
            422,
            "unknown field",
        ),
        (json!({}), 422, "missing field"),
    ];
    for (body, status, says) in cases {
        let (code, ctype, problem) =
            call("POST", &analyses, Some(ADMIN_KEY), Some(body.clone())).await;
        assert_eq!(
            (code, ctype.as_str()),
            (status, "application/problem+json"),
            "{body}: {problem}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{body}: {problem}"
        );
    }
    let client = reqwest::Client::new();
    let raw = |body: Vec<u8>, ctype: &'static str| {
        client
            .post(&analyses)
            .bearer_auth(ADMIN_KEY)
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    let r = raw(b"{\"path\": ".to_vec(), "application/json")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("malformed JSON"));
    let r = raw(b"path=x".to_vec(), "text/plain").await.unwrap();
    assert_eq!(r.status(), 415);
    let huge = format!("{{\"path\": \"{}\"}}", "a".repeat(3 << 20));
    let r = raw(huge.into_bytes(), "application/json").await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let (code, ctype, _) = call("GET", &format!("{analyses}/abc"), Some(ADMIN_KEY), None).await;
    assert_eq!((code, ctype.as_str()), (400, "application/problem+json"));
    let (code, _, _) = call("GET", &format!("{analyses}/999999"), Some(ADMIN_KEY), None).await;
    assert_eq!(code, 404);
    // Nothing was queued by any of them.
    let (_, _, list) = call("GET", &analyses, Some(ADMIN_KEY), None).await;
    assert_eq!(list["items"], json!([]));
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;
}

/// A worker claims a job and dies. Once its lease expires another worker runs the job;
/// the dead worker can no longer renew or complete it, and the results are stored once.
#[tokio::test]
async fn a_job_whose_worker_died_is_done_once_by_another() {
    for mut b in backends("analyses_crash").await {
        let ws = workspace();
        b.config.workspace_roots = vec![ws.path().to_path_buf()];
        b.config.job_lease_secs = 2;
        // The orchestrator alone: nothing runs the job yet.
        let api = spawn(&b.config, &[ServiceKind::Orchestrator]).await;
        let base = api.url(ServiceKind::Orchestrator).unwrap();
        let path = ws.path().join("shop").display().to_string();
        let (code, _, body) = call(
            "POST",
            &format!("{base}/api/v1/analyses"),
            Some(ADMIN_KEY),
            Some(json!({ "path": path })),
        )
        .await;
        assert_eq!(code, 202, "{body}");
        let id = body["id"].as_i64().unwrap();

        let db = open_db(&b.config).await;
        let dead = db
            .claim_job(ANALYSIS_JOB, "dead-worker", 1_000)
            .await
            .unwrap()
            .expect("a queued job");
        assert_eq!(dead.attempts, 1);
        // A live worker starts while the dead one's lease still runs.
        let workers = spawn(&b.config, &[ServiceKind::Specialists]).await;
        let done = wait_done(&base, ADMIN_KEY, id).await;
        assert_eq!(done["status"], "done", "{}: {done}", b.name);
        let job = db.job(dead.id).await.unwrap().unwrap();
        assert_eq!(
            (job.status.as_str(), job.attempts),
            ("done", 2),
            "{}",
            b.name
        );
        // The dead worker wakes up: its lease is gone.
        assert!(
            !db.renew_job(dead.id, "dead-worker", 1_000, 0.5)
                .await
                .unwrap()
        );
        let result = qa_store::AnalysisResult {
            summary: "{}",
            report: "{}",
            content_hash: "x",
            components: &[],
            findings: &[],
        };
        assert!(
            !db.finish_analysis(dead.id, "dead-worker", id, &result)
                .await
                .unwrap()
        );
        // Results exactly once.
        let (_, _, findings) = call(
            "GET",
            &format!("{base}/api/v1/analyses/{id}/findings"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(findings["items"].as_array().unwrap().len(), 2, "{findings}");
        db.close().await;
        workers.shutdown();
        api.shutdown();
        workers.wait(Duration::from_secs(5)).await;
        api.wait(Duration::from_secs(5)).await;
    }
}

/// A `.tar.gz` of `(path, contents)`; names are written raw, so tests can build
/// archives a well-behaved tool would refuse to make.
fn tar_gz(entries: &[(&str, &[u8])], symlink: Option<(&str, &str)>) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    for (name, data) in entries {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    if let Some((name, target)) = symlink {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, name, target).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

async fn upload(base: &str, repo: &str, body: Vec<u8>) -> (u16, String, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/analyses/upload?repository={repo}"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn uploads_are_unpacked_safely_analysed_and_served_from_cache() {
    let mut b = backends("analyses_upload").await.remove(0);
    b.config.max_upload_bytes = 512 * 1024;
    let app = spawn(
        &b.config,
        &[ServiceKind::Orchestrator, ServiceKind::Specialists],
    )
    .await;
    let base = app.url(ServiceKind::Orchestrator).unwrap();
    let code: &[u8] = b"def calculate(request):\n    return eval(request.args['expr'])\n";

    let archive = tar_gz(
        &[
            ("shop/pkg/pricing.py", code),
            ("./shop/README.md", b"# shop\n"),
        ],
        None,
    );
    let (status, _, body) = upload(&base, "shop", archive.clone()).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    let done = wait_done(&base, ADMIN_KEY, id).await;
    assert_eq!(
        (done["status"].as_str(), done["summary"]["files"].as_u64()),
        (Some("done"), Some(1)),
        "{done}"
    );
    let (_, _, findings) = call(
        "GET",
        &format!("{base}/api/v1/analyses/{id}/findings"),
        Some(ADMIN_KEY),
        None,
    )
    .await;
    assert_eq!(
        findings["items"][0]["file"], "shop/pkg/pricing.py",
        "{findings}"
    );
    // The same archive again: answered from the stored results at once.
    let (status, _, again) = upload(&base, "shop", archive).await;
    assert_eq!(
        (status, again["id"].as_i64(), again["cached"].as_bool()),
        (200, Some(id), Some(true)),
        "{again}"
    );

    let (status, _, body) = upload(&base, "shop-zip", zip_of(&[("src/tools.py", code)])).await;
    assert_eq!(status, 202, "{body}");
    let done = wait_done(&base, ADMIN_KEY, body["id"].as_i64().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");

    // Hostile or broken archives: 400 with the reason, nothing written anywhere.
    let zeros = vec![0u8; 8 << 20];
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "dotdot",
            tar_gz(&[("../evil.py", b"x = 1\n")], None),
            "outside the upload",
        ),
        (
            "nested dotdot",
            tar_gz(&[("a/../../evil.py", b"x = 1\n")], None),
            "outside the upload",
        ),
        (
            "absolute",
            tar_gz(&[("/tmp/qa-agent-evil.py", b"x = 1\n")], None),
            "outside the upload",
        ),
        (
            "symlink",
            tar_gz(&[("ok.py", b"x = 1\n")], Some(("link", "/etc"))),
            "is a link",
        ),
        (
            "zip dotdot",
            zip_of(&[("../evil.py", b"x = 1\n")]),
            "outside the upload",
        ),
        ("bomb", zip_of(&[("zeros.txt", &zeros)]), "times its size"),
        ("not an archive", b"print('hi')\n".to_vec(), "neither"),
        (
            "truncated",
            tar_gz(&[("a.py", code)], None)[..30].to_vec(),
            "damaged",
        ),
    ];
    for (what, body, says) in cases {
        let (status, ctype, problem) = upload(&base, "bad", body).await;
        assert_eq!(
            (status, ctype.as_str()),
            (400, "application/problem+json"),
            "{what}: {problem}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{what}: {problem}"
        );
    }
    assert!(!std::path::Path::new("/tmp/qa-agent-evil.py").exists());
    let uploads = b.config.data_dir.join("uploads/1");
    let left: Vec<String> = std::fs::read_dir(&uploads)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left.len(),
        2,
        "only the two good uploads are kept: {left:?}"
    );
    assert!(
        !b.config.data_dir.join("uploads/evil.py").exists()
            && !b.config.data_dir.join("evil.py").exists()
    );

    // Over the size limit: 413; no repository name: 400.
    let (status, ctype, _) = upload(&base, "big", vec![0x1f; 600 * 1024]).await;
    assert_eq!((status, ctype.as_str()), (413, "application/problem+json"));
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/analyses/upload"))
        .bearer_auth(ADMIN_KEY)
        .body(zip_of(&[("a.py", code)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.shutdown();
    app.wait(Duration::from_secs(5)).await;
}
