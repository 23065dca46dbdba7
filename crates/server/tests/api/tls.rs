//! HTTPS inside one process: certificate files that change are picked up without a
//! signal; a broken pair is refused and the served certificate stays; a service asked to
//! start with an unusable pair refuses to start and says why.
//!
//! Makes its certificates with openssl (scripts/test.sh installs it); skipped otherwise,
//! except in CI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use qa_server::ServiceKind;

use crate::helpers::{spawn, test_config};

fn openssl_available() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok();
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "openssl is missing in CI");
        eprintln!("SKIPPED: openssl not installed");
    }
    ok
}

/// A self-signed certificate for 127.0.0.1 named `name`, and its key.
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (crt, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "10", "-subj", &format!("/CN={name}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (crt, key)
}

/// A client that trusts only `crt` (self-signed: it is its own root).
fn client(crt: &Path) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(crt).unwrap()).unwrap()])
        .tls_info(true)
        .build()
        .unwrap()
}

async fn served_subject(url: &str, trust: &Path) -> Option<String> {
    let r = client(trust)
        .get(format!("{url}/health/live"))
        .send()
        .await
        .ok()?;
    let der = r
        .extensions()
        .get::<reqwest::tls::TlsInfo>()?
        .peer_certificate()?
        .to_vec();
    Some(qa_server::tls::describe(&der).unwrap().subject)
}

#[tokio::test]
async fn changed_certificate_files_are_served_and_a_broken_pair_is_kept_out() {
    if !openssl_available() {
        return;
    }
    let pki = tempfile::tempdir().unwrap();
    let (first, first_key) = self_signed(pki.path(), "first");
    let (second, second_key) = self_signed(pki.path(), "second");
    let (cert, key) = (pki.path().join("tls.crt"), pki.path().join("tls.key"));
    std::fs::copy(&first, &cert).unwrap();
    std::fs::copy(&first_key, &key).unwrap();
    let (mut config, _data) = test_config();
    config.tls_cert = Some(cert.clone());
    config.tls_key = Some(key.clone());
    config.tls_reload_secs = 1;
    let app = spawn(&config, &[ServiceKind::Learning]).await;
    let url = app.listeners()[0].url();
    assert!(url.starts_with("https://"), "{url}");
    assert_eq!(
        served_subject(&url, &first).await.as_deref(),
        Some("CN=first")
    );

    // Half a pair: the second certificate with the first key. Refused; the first stays.
    std::fs::copy(&second, &cert).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let detail = loop {
        let r = client(&first)
            .get(format!("{url}/health/detailed"))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        if !v["tls"]["last_reload_error"].is_null() || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let error = detail["tls"]["last_reload_error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("do not make a usable pair"), "{detail:#}");
    assert_eq!(
        served_subject(&url, &first).await.as_deref(),
        Some("CN=first")
    );

    // The matching key arrives: the second certificate is served, no restart.
    std::fs::copy(&second_key, &key).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while served_subject(&url, &second).await.as_deref() != Some("CN=second") {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = client(&second)
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tls_certificate_reloads_total{result=\"error\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tls_certificate_reloads_total{result=\"ok\"}"),
        "{metrics}"
    );
    app.shutdown();
}

#[tokio::test]
async fn an_unusable_pair_stops_the_start_with_the_reason() {
    if !openssl_available() {
        return;
    }
    let pki = tempfile::tempdir().unwrap();
    let (first, _) = self_signed(pki.path(), "first");
    let (_, other_key) = self_signed(pki.path(), "other");
    let (mut config, _data) = test_config();
    config.tls_cert = Some(first.clone());
    config.tls_key = Some(other_key);
    let err = qa_server::start(&config, &[ServiceKind::Learning])
        .await
        .err()
        .expect("a mismatched key is refused")
        .to_string();
    assert!(err.contains("do not make a usable pair"), "{err}");

    config.tls_key = Some(pki.path().join("missing.key"));
    let err = qa_server::start(&config, &[ServiceKind::Learning])
        .await
        .err()
        .expect("a missing key is refused")
        .to_string();
    assert!(
        err.contains("missing.key") && err.contains("QA_AGENT_TLS_KEY"),
        "{err}"
    );

    std::fs::write(pki.path().join("garbage.crt"), b"\x00\xffnot a certificate").unwrap();
    config.tls_cert = Some(pki.path().join("garbage.crt"));
    config.tls_key = Some(first.with_extension("key"));
    let err = qa_server::start(&config, &[ServiceKind::Learning])
        .await
        .err()
        .expect("garbage is refused")
        .to_string();
    assert!(err.contains("holds no PEM certificate"), "{err}");
}
