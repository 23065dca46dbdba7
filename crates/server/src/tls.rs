//! HTTPS on every listener when a certificate is configured (`tls_cert`, `tls_key`), and
//! certificate renewal without downtime: the files are read again on SIGHUP and whenever
//! they change (checked every `tls_reload_secs`), so a renewed Kubernetes Secret or a
//! `scripts/renew_certificates.sh` run reaches new connections while open ones carry on.
//! A certificate that fails to load never replaces the one being served.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::{Duration, SystemTime};

use axum_server::tls_rustls::RustlsConfig;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use x509_cert::der::Decode;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "cannot read {path}: {source}; check tls_cert/tls_key (QA_AGENT_TLS_CERT/QA_AGENT_TLS_KEY)"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate { path: PathBuf },
    #[error("the certificate is not valid X.509: {0}")]
    Parse(String),
    #[error(
        "the certificate and key do not make a usable pair: {0}; give the key the certificate was issued for, in PEM (PKCS#8, PKCS#1 or SEC1)"
    )]
    Pair(std::io::Error),
    #[error("cannot read the CA bundle {path}: {reason}")]
    Ca { path: PathBuf, reason: String },
}

/// What an operator needs to know about a certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateInfo {
    /// SHA-256 of the DER, hex with colons (as `openssl x509 -fingerprint -sha256`).
    pub sha256: String,
    pub subject: String,
    /// Seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// `not_after` as `YYYY-MM-DDTHH:MM:SSZ`.
    pub expires: String,
}

impl CertificateInfo {
    /// Whole days until it expires (negative once expired).
    pub fn days_left(&self, now: SystemTime) -> i64 {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        (self.not_after - now).div_euclid(86_400)
    }
}

/// Reads the leaf certificate (the first of a chain) from DER.
pub fn describe(der: &[u8]) -> Result<CertificateInfo, TlsError> {
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| TlsError::Parse(e.to_string()))?;
    let tbs = cert.tbs_certificate();
    let validity = tbs.validity();
    let digest = Sha256::digest(der);
    let sha256 = digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let not_after = validity.not_after.to_unix_duration().as_secs() as i64;
    Ok(CertificateInfo {
        sha256,
        subject: tbs.subject().to_string(),
        not_before: validity.not_before.to_unix_duration().as_secs() as i64,
        not_after,
        expires: utc(not_after),
    })
}

fn utc(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Checks a PEM certificate chain and key the way the services load them, and
/// describes the leaf: what passes here is what a reload accepts.
pub async fn check_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertificateInfo, TlsError> {
    let info = leaf(cert_pem, Path::new("the certificate"))?;
    RustlsConfig::from_pem(cert_pem.to_vec(), key_pem.to_vec())
        .await
        .map_err(TlsError::Pair)?;
    Ok(info)
}

fn leaf(cert_pem: &[u8], path: &Path) -> Result<CertificateInfo, TlsError> {
    let first = CertificateDer::pem_slice_iter(cert_pem)
        .next()
        .ok_or_else(|| TlsError::NoCertificate { path: path.into() })?
        .map_err(|e| TlsError::Parse(e.to_string()))?;
    describe(first.as_ref())
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    pub result: &'static str,
}

/// The served certificate, for `/metrics` and `/health/detailed`.
#[derive(Default)]
pub struct TlsStatus {
    pub expiry: Gauge<i64, AtomicI64>,
    pub reloads: Family<ReloadLabels, Counter>,
    current: std::sync::Mutex<Option<CertificateInfo>>,
    last_error: std::sync::Mutex<Option<String>>,
}

impl TlsStatus {
    pub fn current(&self) -> Option<CertificateInfo> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn serving(&self, info: CertificateInfo) {
        self.expiry.set(info.not_after);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(info);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The certificate every listener serves, and where it is read from.
pub struct Tls {
    pub rustls: RustlsConfig,
    cert: PathBuf,
    key: PathBuf,
    pub status: Arc<TlsStatus>,
}

/// Size and modification time of both files: a change means "read them again".
type Stamp = Option<[(u64, SystemTime); 2]>;

impl Tls {
    /// Loads the pair at start; an error here stops the start with the reason.
    pub async fn load(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let (cert_pem, key_pem) = read_pair(cert, key).await?;
        let info = leaf(&cert_pem, cert)?;
        let rustls = RustlsConfig::from_pem(cert_pem, key_pem)
            .await
            .map_err(TlsError::Pair)?;
        let status = Arc::new(TlsStatus::default());
        status.serving(info);
        Ok(Tls {
            rustls,
            cert: cert.into(),
            key: key.into(),
            status,
        })
    }

    /// Reads the files again and serves them to new connections; on any error the
    /// current certificate stays.
    pub async fn reload(&self) -> Result<CertificateInfo, TlsError> {
        let result: Result<CertificateInfo, TlsError> = async {
            let (cert_pem, key_pem) = read_pair(&self.cert, &self.key).await?;
            let info = leaf(&cert_pem, &self.cert)?;
            self.rustls
                .reload_from_pem(cert_pem, key_pem)
                .await
                .map_err(TlsError::Pair)?;
            Ok(info)
        }
        .await;
        match &result {
            Ok(info) => {
                let changed = self.status.current().map(|c| c.sha256) != Some(info.sha256.clone());
                self.status.serving(info.clone());
                self.status
                    .reloads
                    .get_or_create(&ReloadLabels { result: "ok" })
                    .inc();
                if changed {
                    tracing::info!(sha256 = %info.sha256, not_after = info.not_after, "serving the renewed certificate");
                }
            }
            Err(e) => {
                self.status
                    .reloads
                    .get_or_create(&ReloadLabels { result: "error" })
                    .inc();
                *self
                    .status
                    .last_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                tracing::error!(error = %e, "certificate reload failed; still serving the previous certificate");
            }
        }
        result
    }

    fn stamp(&self) -> Stamp {
        let one = |p: &Path| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.len(), m.modified().ok()?))
        };
        Some([one(&self.cert)?, one(&self.key)?])
    }
}

async fn read_pair(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let read = |path: &Path| {
        let path = path.to_path_buf();
        async move {
            tokio::fs::read(&path)
                .await
                .map_err(|source| TlsError::Read { path, source })
        }
    };
    Ok((read(cert).await?, read(key).await?))
}

/// Reloads on SIGHUP and when the files change. Files written one after the other
/// (certificate, then key) may be caught half-way: that reload fails, keeps the old
/// pair, and the next check picks up the complete one.
pub fn spawn_reloader(tls: Arc<Tls>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    // Registered before the listeners are announced: a SIGHUP sent right after must not
    // meet the default action, which ends the process.
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "no SIGHUP handler; certificates reload on change only");
            None
        }
    };
    tokio::spawn(async move {
        let mut seen = tls.stamp();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let forced = tokio::select! {
                _ = tick.tick() => false,
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
                _ = shutdown.wait_for(|s| *s) => return,
            };
            let now = tls.stamp();
            if forced || now != seen {
                if forced {
                    tracing::info!("SIGHUP: reloading the certificate");
                }
                // A failed attempt is retried at the next tick even if nothing changes.
                if tls.reload().await.is_ok() {
                    seen = now;
                }
            }
        }
    });
}

/// An HTTP client builder that trusts, besides the system's roots, the PEM bundle at
/// `ca` (a private CA that signed the services' certificates).
pub fn client_builder(ca: Option<&Path>) -> Result<reqwest::ClientBuilder, TlsError> {
    let mut builder = reqwest::Client::builder();
    if let Some(path) = ca {
        let err = |reason: String| TlsError::Ca {
            path: path.into(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| err(e.to_string()))?;
        if certs.is_empty() {
            return Err(err("no PEM certificate in it".into()));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(builder)
}

/// The CA bundle clients trust, from `QA_AGENT_TLS_CA`.
pub fn ca_from_env() -> Option<PathBuf> {
    std::env::var_os("QA_AGENT_TLS_CA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}
