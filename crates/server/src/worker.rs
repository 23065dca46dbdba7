//! The specialist service's analysis workers: each claims a job from the durable queue,
//! renews its lease while the analysis runs (reporting progress), and stores the results
//! and completes the job in one transaction, only while it still holds the lease.
//!
//! A worker that dies leaves its lease to expire; another claims the job again. A worker
//! that lost its lease (it stalled past it) drops its results: no job completes twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use qa_analysis::{Analyzer, RepoAnalysis};
use qa_store::{ANALYSIS_JOB, AnalysisResult, Job, NewComponent, NewFinding};
use serde_json::json;

use crate::AppState;

/// How often an idle worker looks for work when nothing wakes it.
const POLL: Duration = Duration::from_millis(500);
/// Analyzers kept (with their per-file result caches), by repository root.
const ANALYZERS: usize = 16;

/// Starts `n` workers on the specialist service's state; they stop taking jobs when the
/// service drains.
pub fn spawn(state: &AppState, n: u32, lease: Duration) {
    let analyzers = Arc::new(AnalyzerCache::default());
    // Host and pid name the worker in logs; the random part keeps two processes apart
    // even when both are pid 1 on hosts of the same name, which lease fencing relies on.
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    let nonce = &qa_store::generate_api_key()[4..16];
    for i in 0..n {
        let owner = format!("{host}/{}/{nonce}/{i}", std::process::id());
        let state = state.clone();
        let analyzers = analyzers.clone();
        tokio::spawn(async move { run(state, owner, lease, analyzers).await });
    }
}

async fn run(state: AppState, owner: String, lease: Duration, analyzers: Arc<AnalyzerCache>) {
    let lease_ms = lease.as_millis() as i64;
    let db = state.db.db.clone();
    let mut last_sweep: Option<Instant> = None;
    loop {
        if state.draining() {
            return;
        }
        if !state.db.migrated() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        // Jobs that died on their last attempt are never claimed again; fail them (and
        // their analyses) once per lease period, not before every claim.
        if last_sweep.is_none_or(|t| t.elapsed() >= lease) {
            last_sweep = Some(Instant::now());
            match db.fail_abandoned_jobs(ANALYSIS_JOB).await {
                Ok(ids) => {
                    for id in ids {
                        tracing::error!(
                            job = id,
                            "analysis job failed: its worker died on every attempt"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot check for abandoned jobs"),
            }
        }
        // Listen before looking, so a job queued between the look and the wait still
        // wakes this worker.
        let wake = state.work_available.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        match db.claim_job(ANALYSIS_JOB, &owner, lease_ms).await {
            Ok(Some(job)) => {
                use tracing::Instrument;
                let span = tracing::info_span!(
                    "analysis job",
                    service = state.kind.name(),
                    job = job.id,
                    attempt = job.attempts
                );
                let trace: std::collections::HashMap<String, String> =
                    serde_json::from_str::<serde_json::Value>(&job.payload)
                        .ok()
                        .and_then(|p| serde_json::from_value(p["trace"].clone()).ok())
                        .unwrap_or_default();
                crate::telemetry::continue_trace_from(&span, &trace);
                execute(&state, &owner, lease, job, &analyzers)
                    .instrument(span)
                    .await
            }
            Ok(None) => {
                let _ = tokio::time::timeout(POLL, wake).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim jobs; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Tells the specialist service a job was queued: at once in this process, and over
/// HTTP (carrying the trace) when the specialists run elsewhere. Their workers poll too,
/// so a lost wake-up only costs a little latency.
pub fn wake_workers(state: &AppState) {
    state.work_available.notify_waiters();
    let Some(url) = state.peers.get(crate::ServiceKind::Specialists) else {
        return;
    };
    let request = state
        .http
        .post(format!("{}/internal/v1/wake", url.trim_end_matches('/')))
        .headers(crate::telemetry::trace_headers())
        .timeout(state.peer_timeout);
    tokio::spawn(async move {
        if let Err(e) = request.send().await {
            tracing::debug!(error = %e, "could not wake the specialist service; its workers poll");
        }
    });
}

/// `POST /internal/v1/wake` on the specialist service: look for work now. Only from
/// `trusted_networks` (or with an admin key), so strangers cannot make workers poll.
pub async fn wake(
    axum::extract::State(state): axum::extract::State<AppState>,
    _caller: crate::auth::Operator,
) -> axum::http::StatusCode {
    state.work_available.notify_waiters();
    axum::http::StatusCode::NO_CONTENT
}

/// Counts files as the analysis reads them, for the job's progress.
struct Counter {
    total: AtomicUsize,
    done: AtomicUsize,
}

impl qa_analysis::Progress for Counter {
    fn start(&self, total: usize) {
        self.total.store(total, Ordering::Relaxed);
    }
    fn advance(&self, _path: &str) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }
}

impl Counter {
    fn fraction(&self) -> f64 {
        let total = self.total.load(Ordering::Relaxed);
        if total == 0 {
            0.0
        } else {
            // Storing the results is the last step: 95% once every file is read.
            0.95 * self.done.load(Ordering::Relaxed) as f64 / total as f64
        }
    }
}

async fn execute(
    state: &AppState,
    owner: &str,
    lease: Duration,
    job: Job,
    analyzers: &AnalyzerCache,
) {
    let db = &state.db.db;
    let started = Instant::now();
    let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
    let (Some(analysis_id), Some(path)) =
        (payload["analysis_id"].as_i64(), payload["path"].as_str())
    else {
        let _ = db.fail_job(job.id, owner, "malformed job payload", 0).await;
        return;
    };
    let path = PathBuf::from(path);
    tracing::info!(job = job.id, analysis = analysis_id, attempt = job.attempts, path = %path.display(), "analysis started");
    let _ = db
        .set_analysis_state(analysis_id, "running", 0.0, None)
        .await;

    // Renew the lease (with progress) while the analysis runs.
    let progress = Arc::new(Counter {
        total: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
    });
    let lost = Arc::new(AtomicBool::new(false));
    let renewer = {
        let (db, owner, progress, lost) = (
            db.clone(),
            owner.to_string(),
            progress.clone(),
            lost.clone(),
        );
        let lease_ms = lease.as_millis() as i64;
        let job_id = job.id;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let fraction = progress.fraction();
                match db.renew_job(job_id, &owner, lease_ms, fraction).await {
                    Ok(true) => {
                        let _ = db
                            .set_analysis_state(analysis_id, "running", fraction, None)
                            .await;
                    }
                    Ok(false) => {
                        lost.store(true, Ordering::Release);
                        return;
                    }
                    // The database blinked: keep trying until the lease would be gone.
                    Err(e) => {
                        tracing::warn!(error = %e, job = job_id, "cannot renew the job's lease")
                    }
                }
            }
        })
    };

    let analyzer = analyzers.get(&path);
    let analysis = {
        let progress = progress.clone();
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            let analyzer = analyzer?;
            let before = analyzer.cache_stats();
            let report = analyzer
                .analyze_path(&path, &*progress)
                .map_err(|e| e.to_string())?;
            let after = analyzer.cache_stats();
            Ok::<_, String>((
                report,
                after.hits - before.hits,
                after.misses - before.misses,
            ))
        })
    };
    // SIGTERM: hand the job back without spending an attempt, rather than keep the
    // lease until it expires (the analysis thread's result is dropped on exit).
    let mut stop = state.shutdown.clone();
    let outcome = tokio::select! {
        r = analysis => r.unwrap_or_else(|e| Err(format!("the analysis crashed: {e}"))),
        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
            renewer.abort();
            let _ = renewer.await;
            match db.release_job(job.id, owner).await {
                Ok(true) => tracing::info!(job = job.id, "shutting down: job handed back to the queue"),
                _ => tracing::warn!(job = job.id, "shutting down: the job will be picked up when its lease expires"),
            }
            let _ = db.set_analysis_state(analysis_id, "queued", 0.0, None).await;
            return;
        }
    };
    // Stopped, not just told to stop: no progress update may land after the result.
    renewer.abort();
    let _ = renewer.await;
    let elapsed = started.elapsed();
    let tool = "analyze_repository";
    let ok = match outcome {
        Ok((report, reused, analysed)) => {
            if lost.load(Ordering::Acquire) {
                tracing::warn!(
                    job = job.id,
                    "lease lost during the analysis; results dropped (another worker has the job)"
                );
                false
            } else {
                let upload_hash = payload["content_hash"].as_str();
                store(
                    state,
                    owner,
                    &job,
                    analysis_id,
                    &report,
                    (reused, analysed),
                    upload_hash,
                )
                .await
            }
        }
        Err(error) => {
            tracing::error!(job = job.id, %error, "analysis failed");
            record_failure(db, &job, owner, analysis_id, &error).await;
            false
        }
    };
    state.metrics.record_tool(tool, ok, elapsed);
    state
        .metrics
        .job_duration
        .get_or_create(&Vec::new())
        .observe(elapsed.as_secs_f64());
}

/// Gives the job back to the queue (or fails it on its last attempt) and says so on the
/// analysis, so pollers see `queued` with the error, or `failed`.
async fn record_failure(
    db: &qa_store::Database,
    job: &Job,
    owner: &str,
    analysis_id: i64,
    error: &str,
) {
    match db.fail_job(job.id, owner, error, 5_000).await {
        Ok(Some(status)) => {
            let status = if status == "failed" {
                "failed"
            } else {
                "queued"
            };
            if let Err(e) = db
                .set_analysis_state(analysis_id, status, 0.0, Some(error))
                .await
            {
                tracing::error!(error = %e, "cannot record the analysis' failure");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "cannot record the job's failure"),
    }
}

async fn store(
    state: &AppState,
    owner: &str,
    job: &Job,
    analysis_id: i64,
    report: &RepoAnalysis,
    (reused, analysed): (u64, u64),
    upload_hash: Option<&str>,
) -> bool {
    let (components, findings) = rows(report);
    let mut summary = serde_json::to_value(&report.summary).unwrap_or_default();
    summary["cache"] = json!({ "files_reused": reused, "files_analysed": analysed });
    summary["diagnostics"] = report.diagnostics.len().into();
    let report_json = match serde_json::to_string(report) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise the report");
            return false;
        }
    };
    // An upload is known by its archive's hash (a re-upload is answered from these
    // results); a path by the hash of what was analysed.
    let hash = upload_hash.map_or_else(|| content_hash(report), str::to_string);
    let result = AnalysisResult {
        summary: &summary.to_string(),
        report: &report_json,
        content_hash: &hash,
        components: &components,
        findings: &findings,
    };
    match state
        .db
        .db
        .finish_analysis(job.id, owner, analysis_id, &result)
        .await
    {
        Ok(true) => {
            tracing::info!(
                job = job.id,
                analysis = analysis_id,
                files = report.files.len(),
                findings = findings.len(),
                "analysis done"
            );
            true
        }
        Ok(false) => {
            tracing::warn!(
                job = job.id,
                "lease lost before the results were stored; dropped (another worker has the job)"
            );
            false
        }
        Err(e) => {
            tracing::error!(job = job.id, error = %e, "cannot store the analysis; the job will be retried");
            record_failure(&state.db.db, job, owner, analysis_id, &e.to_string()).await;
            false
        }
    }
}

/// One row per file, class and function, and one per finding.
fn rows(report: &RepoAnalysis) -> (Vec<NewComponent>, Vec<NewFinding>) {
    let mut components = Vec::new();
    let mut findings = Vec::new();
    for f in &report.files {
        components.push(NewComponent {
            path: f.path.clone(),
            kind: "file".into(),
            name: f.path.clone(),
            start_line: Some(1),
            end_line: Some(i64::from(f.lines)),
            metrics: json!({ "language": f.language, "lines": f.lines, "nloc": f.nloc, "is_test": f.is_test, "functions": f.functions.len(), "classes": f.classes.len() }).to_string(),
        });
        for c in &f.classes {
            components.push(NewComponent {
                path: f.path.clone(),
                kind: "class".into(),
                name: c.qualified_name.clone(),
                start_line: Some(i64::from(c.start_line)),
                end_line: Some(i64::from(c.end_line)),
                metrics: json!({ "nloc": c.nloc, "methods": c.methods.len(), "total_cyclomatic": c.total_cyclomatic, "total_cognitive": c.total_cognitive }).to_string(),
            });
        }
        for func in &f.functions {
            components.push(NewComponent {
                path: f.path.clone(),
                kind: "function".into(),
                name: func.qualified_name.clone(),
                start_line: Some(i64::from(func.start_line)),
                end_line: Some(i64::from(func.end_line)),
                metrics: json!({ "nloc": func.nloc, "cyclomatic": func.cyclomatic, "cognitive": func.cognitive, "max_nesting": func.max_nesting, "parameters": func.parameters.len(), "is_test": func.is_test }).to_string(),
            });
        }
        for x in &f.findings {
            findings.push(NewFinding {
                rule_id: x.rule_id.clone(),
                severity: serde_json::to_value(x.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                path: x.path.clone(),
                line: i64::from(x.span.start_line),
                message: x.message.clone(),
                fingerprint: x.fingerprint.clone(),
                suppressed: x.is_suppressed(),
            });
        }
    }
    (components, findings)
}

/// A digest of every analysed file's path and content hash: equal for identical trees.
fn content_hash(report: &RepoAnalysis) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut files: Vec<_> = report
        .files
        .iter()
        .map(|f| (&f.path, &f.content_hash))
        .collect();
    files.sort();
    for (path, hash) in files {
        h.update(path.as_bytes());
        h.update([0]);
        h.update(hash.as_bytes());
        h.update([0]);
    }
    format!("{:x}", h.finalize())
}

/// Analyzers by repository root (and its configuration file's stamp), so re-analysing a
/// repository reuses the results of its unchanged files. Bounded; the least recently used root goes first.
#[derive(Default)]
struct AnalyzerCache {
    inner: std::sync::Mutex<HashMap<AnalyzerKey, (Instant, Arc<Analyzer>)>>,
}

/// A repository root and the stamp of its configuration file.
type AnalyzerKey = (PathBuf, Option<ConfigStamp>);

/// When and how big the root's `qa-agent.toml` is: an edited configuration gets a new
/// analyzer.
type ConfigStamp = (std::time::SystemTime, u64);

fn config_stamp(root: &Path) -> Option<ConfigStamp> {
    let dir = if root.is_file() { root.parent()? } else { root };
    let meta = std::fs::metadata(dir.join("qa-agent.toml")).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl AnalyzerCache {
    fn get(&self, root: &Path) -> Result<Arc<Analyzer>, String> {
        let key = (root.to_path_buf(), config_stamp(root));
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((used, a)) = map.get_mut(&key) {
            *used = Instant::now();
            return Ok(a.clone());
        }
        let analyzer = Arc::new(
            Analyzer::for_root(root)
                .map_err(|e| e.to_string())?
                .with_jobs(0),
        );
        if map.len() >= ANALYZERS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (t, _))| *t)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(key, (Instant::now(), analyzer.clone()));
        Ok(analyzer)
    }
}
