//! The orchestrator's side of the agents: admission (bounded concurrency, a bounded
//! queue, load shedding past it), the HTTP tool client that runs the engine's actions on
//! the specialist service as the caller, and the bookkeeping of each reasoning (trace,
//! metrics).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use qa_agents::client::{CallError, CallFuture, ToolClient};
use qa_agents::planner::SentenceEncoder;
use qa_agents::{Answer, Budget, Engine, LearnedState, Planner, ToolOutput};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::ReasoningMetrics;
use crate::{AppState, ServerConfig, ServiceKind};

/// Reasonings of this process: the engine and its admission control.
pub struct Reasoning {
    pub engine: Engine,
    /// The learned-state snapshot the planner was built from (`None`: built-in defaults).
    learned_state: std::sync::Mutex<Option<i64>>,
    /// The specialist service's last readiness check, reused for a second: one check per
    /// question would put a round trip before every first step.
    readiness: std::sync::Mutex<Option<(Instant, Value)>>,
    slots: Arc<Semaphore>,
    concurrency: usize,
    waiting: AtomicUsize,
    queue_bound: usize,
    pub budget: Budget,
    /// Planners of tenants whose users taught something, by the learned-state
    /// snapshot they were built from.
    tenant_planners: std::sync::Mutex<std::collections::HashMap<i64, (i64, Arc<Planner>)>>,
    /// Streamed reasonings running in this process, by task id: who asked (tenant,
    /// user) and how to stop them.
    running_tasks: std::sync::Mutex<std::collections::HashMap<i64, RunningTask>>,
    /// The sentence encoder every planner of this process uses, when its files load.
    encoder: Option<Arc<SentenceEncoder>>,
    /// What became of loading it, for `/health/detailed`.
    encoder_status: Value,
}

struct RunningTask {
    tenant_id: i64,
    user_id: i64,
    handle: tokio::task::AbortHandle,
}

/// How long a readiness check of the specialist service is reused.
const READINESS_TTL: Duration = Duration::from_secs(1);

/// The learned-state scope of the offline planner (intent examples and routes).
pub const PLANNER_SCOPE: &str = "planner";
/// How often an orchestrator looks for new learned state.
const LEARNED_STATE_REFRESH: Duration = Duration::from_secs(60);

/// Loads the planner's learned state now and every minute while the service runs.
pub fn spawn_learned_state(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            if state.db.migrated() {
                state.reasoning.refresh_learned_state(&state.db.db).await;
            }
            if state.draining() {
                return;
            }
            tokio::time::sleep(LEARNED_STATE_REFRESH).await;
        }
    });
}

/// A reserved place in the reasoning queue.
struct QueuePlace<'a> {
    reasoning: &'a Reasoning,
    metrics: &'a ReasoningMetrics,
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.reasoning.waiting.fetch_sub(1, Ordering::SeqCst);
        self.metrics
            .queue_length
            .set(self.reasoning.waiting() as i64);
    }
}

/// The queue is full: the request is shed.
#[derive(Debug)]
pub struct Shed;

impl Reasoning {
    pub fn new(config: &ServerConfig) -> Reasoning {
        let mut engine = Engine::new(Planner::new(&LearnedState::default()));
        if let Some(llm) = config.llm() {
            match qa_llm::Client::new(llm) {
                Ok(client) => engine = engine.with_llm(client),
                // The configuration was validated; a client that cannot start (TLS) leaves
                // the offline planner answering, said loudly.
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the LLM client; answering offline")
                }
            }
        }
        Reasoning {
            engine,
            learned_state: std::sync::Mutex::new(None),
            readiness: std::sync::Mutex::new(None),
            slots: Arc::new(Semaphore::new(config.reasoning_concurrency as usize)),
            concurrency: config.reasoning_concurrency as usize,
            waiting: AtomicUsize::new(0),
            queue_bound: config.reasoning_queue as usize,
            budget: Budget {
                max_steps: config.reasoning_max_steps as usize,
                time: Duration::from_secs(config.reasoning_timeout_secs),
            },
            tenant_planners: Default::default(),
            running_tasks: std::sync::Mutex::new(std::collections::HashMap::new()),
            encoder: None,
            encoder_status: serde_json::json!({ "understands": "words" }),
        }
    }

    /// Loads the sentence encoder from `encoder_dir` (an orchestrator, at start), so
    /// questions are also understood by meaning. Missing or corrupt files leave the
    /// word model answering, with a log line and the reason in `/health/detailed`.
    pub fn with_encoder(mut self, config: &ServerConfig) -> Reasoning {
        let dir = config.encoder_dir();
        let shown = dir.display().to_string();
        let words_only = |reason: String| serde_json::json!({ "understands": "words", "encoder": shown, "reason": reason });
        if !dir.exists() {
            tracing::info!(dir = %shown, "no sentence encoder; questions are understood by their words alone (scripts/fetch-model.sh fetches it)");
            self.encoder_status = words_only("not found; scripts/fetch-model.sh fetches it".into());
            return self;
        }
        let started = Instant::now();
        match SentenceEncoder::load(&dir) {
            Ok(encoder) => {
                let encoder = Arc::new(encoder);
                // Embeds the built-in examples once; later planners find them cached.
                let planner =
                    Planner::with_sentences(&LearnedState::default(), Some(encoder.clone()));
                if planner.understands_by_meaning() {
                    self.engine.set_planner(planner);
                    tracing::info!(dir = %shown, ms = started.elapsed().as_millis() as u64, "sentence encoder loaded; questions are understood by words and meaning");
                    self.encoder_status =
                        serde_json::json!({ "understands": "words and meaning", "encoder": shown });
                    self.encoder = Some(encoder);
                } else {
                    self.encoder_status = words_only(
                        "the encoder failed on the intent examples (see the log)".into(),
                    );
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot load the sentence encoder; questions are understood by their words alone");
                self.encoder_status = words_only(e.to_string());
            }
        }
        self
    }

    /// The sentence encoder, when it loaded.
    pub fn encoder(&self) -> Option<&Arc<SentenceEncoder>> {
        self.encoder.as_ref()
    }

    /// How questions are understood (`/health/detailed`).
    pub fn encoder_status(&self) -> &Value {
        &self.encoder_status
    }

    fn planner(&self, state: &LearnedState) -> Planner {
        Planner::with_sentences(state, self.encoder.clone())
    }

    /// Registers a running reasoning so its asker can stop it; forgotten by [`Self::done`].
    pub fn started(&self, id: i64, tenant_id: i64, user_id: i64, handle: tokio::task::AbortHandle) {
        if let Ok(mut m) = self.running_tasks.lock() {
            m.insert(
                id,
                RunningTask {
                    tenant_id,
                    user_id,
                    handle,
                },
            );
        }
    }

    pub fn done(&self, id: i64) {
        if let Ok(mut m) = self.running_tasks.lock() {
            m.remove(&id);
        }
    }

    /// Stops task `id` if it runs here and `tenant_id`'s `user_id` asked it (or `admin`
    /// of that tenant); whether it did.
    pub fn stop(&self, id: i64, tenant_id: i64, user_id: i64, admin: bool) -> bool {
        let Ok(m) = self.running_tasks.lock() else {
            return false;
        };
        match m.get(&id) {
            Some(t) if t.tenant_id == tenant_id && (t.user_id == user_id || admin) => {
                t.handle.abort();
                true
            }
            _ => false,
        }
    }

    /// A slot to reason in: at once if one is free, after waiting in the queue if the
    /// queue has room, else [`Shed`].
    pub async fn admit(&self, metrics: &ReasoningMetrics) -> Result<OwnedSemaphorePermit, Shed> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        // Reserve a place in the queue, or give up if there is none.
        let reserved = self
            .waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
                (w < self.queue_bound).then_some(w + 1)
            })
            .is_ok();
        if !reserved {
            metrics.load_shed.inc();
            return Err(Shed);
        }
        // The place is given back however the wait ends, also when the request is
        // dropped while it waits (the client went away).
        let _place = QueuePlace {
            reasoning: self,
            metrics,
        };
        metrics.queue_length.set(self.waiting() as i64);
        self.slots.clone().acquire_owned().await.map_err(|_| Shed)
    }

    /// Rebuilds the planner from the newest global `planner` snapshot the learning engine
    /// published, if it is new; a snapshot that does not parse is logged and skipped,
    /// and the planner in use stays.
    pub async fn refresh_learned_state(&self, db: &qa_store::Database) {
        let latest = match db.latest_learned_state(PLANNER_SCOPE).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the planner's learned state; keeping the current one");
                return;
            }
        };
        let Some(snapshot) = latest else { return };
        if *self.learned_state.lock().unwrap_or_else(|p| p.into_inner()) == Some(snapshot.id) {
            return;
        }
        match serde_json::from_str::<LearnedState>(&snapshot.state) {
            Ok(state) => {
                self.engine.set_planner(self.planner(&state));
                *self.learned_state.lock().unwrap_or_else(|p| p.into_inner()) = Some(snapshot.id);
                tracing::info!(
                    snapshot = snapshot.id,
                    examples = state.extra_examples.len(),
                    routes = state.routes.len(),
                    "planner rebuilt from learned state"
                );
            }
            Err(e) => {
                tracing::warn!(snapshot = snapshot.id, error = %e, "learned state for the planner does not parse; keeping the current planner");
            }
        }
    }

    /// The planner for a question of `tenant_id`: the engine's, unless the tenant's
    /// users corrected intents or rated routes (then one built with those, kept until
    /// the learned state changes).
    pub async fn planner_for(&self, state: &AppState, tenant_id: i64) -> Option<Arc<Planner>> {
        let learned = state.learned.get(&state.db.db).await;
        let snapshot = state.learned.snapshot_id()?;
        let t = learned.tenants.get(&tenant_id)?;
        if t.corrections.is_empty() && t.routes.is_empty() {
            return None;
        }
        if let Some((id, p)) = self
            .tenant_planners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant_id)
            && *id == snapshot
        {
            return Some(p.clone());
        }
        let taught = qa_agents::learned::planner_state(t);
        let planner = Arc::new(self.planner(&taught));
        self.tenant_planners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant_id, (snapshot, planner.clone()));
        Some(planner)
    }

    /// Whether the specialist service is ready, checked at most once a second.
    pub async fn specialists_ready<F, Fut>(&self, check: F) -> Value
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Value>,
    {
        if let Some((at, v)) = self
            .readiness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            && at.elapsed() < READINESS_TTL
        {
            return v;
        }
        let v = check().await;
        *self.readiness.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), v.clone()));
        v
    }

    /// The snapshot in use, for /health/detailed.
    pub fn learned_state(&self) -> Option<i64> {
        *self.learned_state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Reasonings running now.
    pub fn running(&self) -> usize {
        self.concurrency - self.slots.available_permits()
    }
}

/// How long the orchestrator waits for the knowledge base before answering without it.
const RELATED_TIMEOUT: Duration = Duration::from_millis(800);

/// What the asker's team accepted for questions like `question`, from the learning
/// engine's knowledge base (as the asker, so only their tenant's): at most three
/// answers or tests whose question is [`qa_agents::related::SIMILAR`] enough. Nothing when
/// the learning engine is slow or down: the answer does not wait on it.
pub async fn related(
    state: &AppState,
    authorization: &HeaderValue,
    question: &str,
) -> Vec<qa_agents::Related> {
    let Some(base) = state.peers.get(ServiceKind::Learning) else {
        return Vec::new();
    };
    let url = format!("{}/api/v1/knowledge/search", base.trim_end_matches('/'));
    let q: String = question
        .chars()
        .take(qa_knowledge::MAX_QUERY_CHARS)
        .collect();
    let mut headers: HeaderMap = crate::telemetry::trace_headers();
    headers.insert(header::AUTHORIZATION, authorization.clone());
    // By meaning, more candidates are worth looking at: a paraphrase shares few words
    // with the earlier question, so BM25 ranks it lower.
    let encoder = state.reasoning.encoder().cloned();
    let limit = if encoder.is_some() { "20" } else { "6" };
    let Ok(url) = reqwest::Url::parse_with_params(
        &url,
        &[("q", q.as_str()), ("kind", "answer,test"), ("limit", limit)],
    ) else {
        return Vec::new();
    };
    let response = state
        .http
        .get(url)
        .headers(headers)
        .timeout(RELATED_TIMEOUT)
        .send()
        .await;
    let body: Value = match response {
        Ok(r) if r.status().is_success() => match r.json().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "the knowledge base answered something unreadable");
                return Vec::new();
            }
        },
        Ok(r) => {
            tracing::debug!(status = %r.status(), "no related knowledge");
            return Vec::new();
        }
        Err(e) => {
            tracing::warn!(error = %e, "the knowledge base did not answer in time; answering without it");
            return Vec::new();
        }
    };
    let hits: Vec<Value> = body["hits"].as_array().cloned().unwrap_or_default();
    let title = |h: &Value| h["title"].as_str().unwrap_or_default().to_string();
    let by_meaning = match encoder {
        Some(encoder) => {
            let titles: Vec<String> = hits.iter().map(title).collect();
            let question = question.to_string();
            tokio::task::spawn_blocking(move || {
                let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
                qa_agents::related::similar_by_meaning(
                    &encoder,
                    &question,
                    &titles,
                    qa_agents::related::SIMILAR_MEANING,
                )
            })
            .await
            .ok()
            .and_then(|r| {
                r.map_err(|e| tracing::warn!(error = %e, "the sentence encoder failed on related knowledge; matching words instead"))
                    .ok()
            })
        }
        None => None,
    };
    let chosen: Vec<&Value> = match by_meaning {
        Some(picked) => picked.iter().map(|(i, _)| &hits[*i]).collect(),
        None => hits
            .iter()
            .filter(|h| {
                qa_agents::related::similarity(question, &title(h)) >= qa_agents::related::SIMILAR
            })
            .take(3)
            .collect(),
    };
    chosen
        .into_iter()
        .map(|h| {
            let text = |k: &str| h[k].as_str().unwrap_or_default().to_string();
            qa_agents::Related {
                kind: text("kind"),
                title: text("title"),
                excerpt: text("excerpt"),
                reference: text("reference"),
            }
        })
        .collect()
}

/// The specialist service's tools over HTTP, called with the caller's own credentials
/// (so tenancy is checked there exactly as for a direct call).
pub struct HttpTools {
    pub client: reqwest::Client,
    pub base: String,
    pub authorization: HeaderValue,
    /// Per call; the engine's deadline cuts it shorter when less time is left.
    pub timeout: Duration,
}

impl HttpTools {
    pub fn new(state: &AppState, authorization: HeaderValue, timeout: Duration) -> HttpTools {
        HttpTools {
            client: state.http.clone(),
            base: state
                .peers
                .get(ServiceKind::Specialists)
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            authorization,
            timeout,
        }
    }
}

impl ToolClient for HttpTools {
    fn call<'a>(&'a self, tool: &'a str, input: Value) -> CallFuture<'a> {
        Box::pin(async move {
            let url = format!("{}/api/v1/tools/{tool}", self.base);
            let mut headers: HeaderMap = crate::telemetry::trace_headers();
            headers.insert(header::AUTHORIZATION, self.authorization.clone());
            let response = self
                .client
                .post(&url)
                .headers(headers)
                .json(&input)
                .timeout(self.timeout)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        CallError::Failed(format!(
                            "`{tool}` did not answer within {:?}",
                            self.timeout
                        ))
                    } else {
                        CallError::Unavailable(format!(
                            "cannot reach the specialist service at {}: {}",
                            self.base,
                            crate::health::root_cause(&e)
                        ))
                    }
                })?;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                let output: ToolOutput = serde_json::from_value(body).map_err(|e| {
                    CallError::Failed(format!("`{tool}` answered something unreadable: {e}"))
                })?;
                return Ok(output);
            }
            let detail = body["detail"]
                .as_str()
                .map_or_else(|| format!("`{tool}` answered {status}"), str::to_string);
            Err(match status {
                StatusCode::BAD_REQUEST
                | StatusCode::NOT_FOUND
                | StatusCode::UNPROCESSABLE_ENTITY => CallError::Rejected(detail),
                // The caller's key was refused there (revoked mid-question): an observation
                // about the caller, not an outage of the service.
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => CallError::Rejected(detail),
                StatusCode::SERVICE_UNAVAILABLE
                    if body["type"].as_str().is_some_and(|t| !t.contains("tool-")) =>
                {
                    CallError::Unavailable(detail)
                }
                _ => CallError::Failed(detail),
            })
        })
    }
}

/// The Redis keys of the reasoning cache (the learning engine's clear deletes them).
pub const REASONING_CACHE_PREFIX: &str = "reasoning:";

/// How long a reused answer stays: the code it is about cannot change under the same
/// content hash, but rules and the planner do between releases.
const CACHE_TTL: Duration = Duration::from_secs(3600);

/// The reasoning cache in Redis (or the in-process store), counted in
/// `reasoning_cache_total{result}`.
pub struct EphemeralCache<'a> {
    pub cache: &'a qa_store::Ephemeral,
    pub metrics: &'a ReasoningMetrics,
    /// Answers are kept per tenant: identical code in two tenants does not share them.
    pub tenant_id: i64,
}

impl EphemeralCache<'_> {
    /// The engine's key, per tenant, under the prefix the clear call deletes.
    fn key(&self, key: &str) -> String {
        format!("{}t{}:{key}", REASONING_CACHE_PREFIX, self.tenant_id)
    }
}

impl qa_agents::engine::AnswerCache for EphemeralCache<'_> {
    fn get<'a>(&'a self, key: &'a str) -> futures_util::future::BoxFuture<'a, Option<Answer>> {
        Box::pin(async move {
            let hit = match self.cache.get(&self.key(key)).await {
                Ok(Some(bytes)) => serde_json::from_slice::<Answer>(&bytes).ok(),
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(error = %e, "reasoning cache unavailable; answering afresh");
                    None
                }
            };
            let result = if hit.is_some() { "hit" } else { "miss" };
            self.metrics
                .cache
                .get_or_create(&crate::metrics::CacheLabels {
                    result: result.into(),
                })
                .inc();
            hit
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        answer: &'a Answer,
    ) -> futures_util::future::BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut stored = answer.clone();
            stored.steps.clear();
            if let Ok(bytes) = serde_json::to_vec(&stored)
                && let Err(e) = self.cache.set(&self.key(key), &bytes, CACHE_TTL).await
            {
                tracing::warn!(error = %e, "cannot keep the answer in the reasoning cache");
            }
        })
    }
}

/// Records a finished reasoning in the metrics.
pub fn observe(metrics: &ReasoningMetrics, answer: &Answer, elapsed: Duration) {
    use crate::metrics::{QualityLabels, StepKindLabels};
    let task_type = answer.intent.as_str().to_string();
    let specialists = if answer.specialists.is_empty() {
        vec!["none".to_string()]
    } else {
        answer.specialists.clone()
    };
    // An answer with nothing to score (no tool ran, nothing was claimed) adds no sample.
    if let Some(q) = answer.quality.score {
        for s in specialists {
            metrics
                .quality
                .get_or_create(&QualityLabels {
                    specialist: s,
                    task_type: task_type.clone(),
                })
                .observe(q);
        }
    }
    metrics
        .steps
        .get_or_create(&StepKindLabels {
            kind: "steps".into(),
        })
        .observe(answer.steps.len() as f64);
    metrics
        .steps
        .get_or_create(&StepKindLabels {
            kind: "tool_calls".into(),
        })
        .observe(answer.tool_calls as f64);
    metrics
        .response_time
        .get_or_create(&Vec::new())
        .observe(elapsed.as_secs_f64());
    if let Some(c) = &answer.collaboration {
        metrics.record_collaboration(c.mode.as_str(), c.effective);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceMetrics;

    #[tokio::test]
    async fn past_the_queue_bound_requests_are_shed() {
        let config = ServerConfig {
            reasoning_concurrency: 1,
            reasoning_queue: 1,
            ..ServerConfig::default()
        };
        let r = Arc::new(Reasoning::new(&config));
        let m = Arc::new(ServiceMetrics::new(ServiceKind::Orchestrator));
        let running = r.admit(&m.reasoning).await.expect("a free slot");
        // The second waits in the queue...
        let (r2, m2) = (r.clone(), m.clone());
        let queued = tokio::spawn(async move { r2.admit(&m2.reasoning).await.is_ok() });
        while r.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(m.reasoning.queue_length.get(), 1);
        // ...the third finds the queue full.
        assert!(r.admit(&m.reasoning).await.is_err());
        assert_eq!(m.reasoning.load_shed.get(), 1);
        drop(running);
        assert!(queued.await.unwrap(), "the queued one gets the slot");
        assert_eq!(m.reasoning.queue_length.get(), 0);
        assert!(m.encode().contains("load_shed_total 1"));
    }

    #[tokio::test]
    async fn a_request_dropped_while_queued_gives_its_place_back() {
        let config = ServerConfig {
            reasoning_concurrency: 1,
            reasoning_queue: 1,
            ..ServerConfig::default()
        };
        let r = Reasoning::new(&config);
        let m = ServiceMetrics::new(ServiceKind::Orchestrator);
        let _running = r.admit(&m.reasoning).await.expect("a free slot");
        // The client gives up while waiting: the handler's future is dropped.
        let waited = tokio::time::timeout(Duration::from_millis(20), r.admit(&m.reasoning)).await;
        assert!(waited.is_err());
        assert_eq!(r.waiting(), 0);
        assert_eq!(m.reasoning.queue_length.get(), 0);
        // So the next one may queue again instead of being shed.
        let again = tokio::time::timeout(Duration::from_millis(20), r.admit(&m.reasoning)).await;
        assert!(again.is_err(), "it waited (timed out), it was not shed");
        assert_eq!(m.reasoning.load_shed.get(), 0);
    }
}
