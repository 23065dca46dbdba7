//! qa-agent's services: agent-orchestrator (:8000), specialist-agents (:8001),
//! conversation-manager (:8080 and :8081 for health/metrics) and learning-engine (:8002),
//! in one process (`qa-agent serve`) or one each (`qa-agent serve orchestrator`, as
//! Kubernetes runs them). Services reach each other over HTTP in both modes.

mod api;
pub mod archive;
pub mod auth;
pub mod backup;
pub mod capacity;
mod config;
mod conversation;
pub mod doctor;
pub mod error;
mod health;
pub mod learning;
pub mod metrics;
mod reasoning;
pub mod scrape;
mod service;
mod telemetry;
pub mod tls;
mod ui;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{ConfigError, LogFormat, Peers, Ports, SETTINGS, ServerConfig};
pub use metrics::ServiceMetrics;
pub use service::ServiceKind;
pub use telemetry::{LogGuard, init_logging};

/// What every handler of one service can reach.
#[derive(Clone)]
pub struct AppState {
    pub kind: ServiceKind,
    pub peers: Arc<Peers>,
    pub http: reqwest::Client,
    pub peer_timeout: Duration,
    pub started: Instant,
    pub metrics: Arc<ServiceMetrics>,
    /// The system of record, shared by the services of this process.
    pub db: Storage,
    /// Sources allowed to make the runbook's keyless operational calls.
    pub trusted_networks: Arc<Vec<ipnet::IpNet>>,
    pub config: Arc<ServerConfig>,
    /// Rebuildable state: Redis, or the in-process store.
    pub cache: qa_store::Ephemeral,
    /// The tools the specialist service runs, each with its circuit breaker.
    pub tools: Arc<qa_agents::Registry>,
    /// The orchestrator's reasoning engine and its admission control.
    pub reasoning: Arc<reasoning::Reasoning>,
    /// The newest learned state (dismissals apart, which the store applies).
    pub learned: Arc<qa_agents::LearnedCache>,
    /// The learning engine's feedback processing (its wake-up and counters).
    pub learning: Arc<learning::Engine>,
    /// Per-user bounds on feedback intake.
    pub flood: Arc<api::learning::FloodGuard>,
    /// Wakes idle workers when a job was queued in this process.
    pub work_available: Arc<tokio::sync::Notify>,
    /// The conversation manager's live events, routed per conversation.
    pub(crate) live: Arc<conversation::live::Router>,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// The served certificate, when the listeners speak HTTPS.
    pub tls: Option<Arc<tls::TlsStatus>>,
}

/// The database and whether this release's migrations are applied to it.
#[derive(Clone)]
pub struct Storage {
    pub db: qa_store::Database,
    /// Local state (the embedded database among it); its free space is a metric.
    pub data_dir: std::path::PathBuf,
    migrated: Arc<std::sync::atomic::AtomicBool>,
    bootstrap_key: Option<String>,
    /// What the first start created, until start-up reports it.
    bootstrapped: Arc<std::sync::Mutex<Option<qa_store::Bootstrap>>>,
    /// This installation's id, read once: see [`Storage::deployment`].
    deployment: Arc<tokio::sync::OnceCell<String>>,
}

/// How the first start announces the admin key it created.
pub trait Announce {
    fn announcement(&self) -> String;
}

impl Announce for qa_store::Bootstrap {
    fn announcement(&self) -> String {
        if self.generated {
            format!(
                "qa-agent: first start: created tenant `{}` and admin {}; its API key (shown once, store it now): {}",
                self.tenant.name, self.user.email, self.key
            )
        } else {
            format!(
                "qa-agent: first start: created tenant `{}` and admin {} with the key from QA_AGENT_BOOTSTRAP_KEY",
                self.tenant.name, self.user.email
            )
        }
    }
}

impl Storage {
    pub fn migrated(&self) -> bool {
        self.migrated.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Opens the database of `config` (PostgreSQL lazily, so a service starts while it is
    /// down) and applies the migrations, now if it answers, else in the background until
    /// it does.
    pub async fn open(config: &ServerConfig) -> Result<Storage, qa_store::StoreError> {
        let db = qa_store::Database::open(
            config.database_url.as_deref(),
            &config.data_dir,
            config.db_pool_size,
        )
        .await?;
        let storage = Storage {
            db,
            data_dir: config.data_dir.clone(),
            migrated: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            bootstrap_key: config.bootstrap_key.clone(),
            bootstrapped: Arc::new(std::sync::Mutex::new(None)),
            deployment: Arc::new(tokio::sync::OnceCell::new()),
        };
        if let Err(e) = storage.try_migrate().await {
            tracing::error!(error = %e, "database not ready; migrations will be retried every 5 s");
            let retry = storage.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    if retry.try_migrate().await.is_ok() {
                        tracing::info!("database reachable again; migrations applied");
                        if let Some(b) = retry.take_bootstrap() {
                            // Not through tracing: a secret does not belong in log files.
                            eprintln!("{}", b.announcement());
                        }
                        break;
                    }
                }
            });
        }
        Ok(storage)
    }

    async fn try_migrate(&self) -> Result<(), qa_store::StoreError> {
        let applied = self.db.migrate().await?;
        if applied > 0 {
            tracing::info!(applied, backend = self.db.backend(), "migrations applied");
        }
        if let Some(b) = self.db.bootstrap(self.bootstrap_key.as_deref()).await? {
            tracing::info!(tenant = %b.tenant.name, "first start: bootstrap tenant and admin created");
            *self.bootstrapped.lock().unwrap_or_else(|p| p.into_inner()) = Some(b);
        }
        self.migrated
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// This installation's id: the namespace of its session tokens, turn and session
    /// marks in a Redis another installation may share.
    pub async fn deployment(&self) -> Result<String, qa_store::StoreError> {
        self.deployment
            .get_or_try_init(|| self.db.deployment_id())
            .await
            .cloned()
    }

    fn take_bootstrap(&self) -> Option<qa_store::Bootstrap> {
        self.bootstrapped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

impl AppState {
    /// Whether SIGTERM (or [`Running::shutdown`]) arrived: the service finishes what it
    /// has and takes nothing new.
    pub fn draining(&self) -> bool {
        *self.shutdown.borrow()
    }
}

/// One bound listener.
#[derive(Debug, Clone)]
pub struct Listener {
    pub kind: ServiceKind,
    /// `api` for the main port, `ops` for the conversation manager's health/metrics port.
    pub role: &'static str,
    pub addr: SocketAddr,
    /// Whether it speaks HTTPS.
    pub tls: bool,
}

impl Listener {
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot listen on {addr} for {service} ({setting}): {source}; free the port or choose another"
    )]
    Bind {
        service: ServiceKind,
        setting: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the HTTP client for peer checks: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Store(#[from] qa_store::StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot serve HTTPS: {0}")]
    Tls(#[from] tls::TlsError),
}

/// The running services.
pub struct Running {
    listeners: Vec<Listener>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
    /// What a first start created (tenant, admin and key), to announce once.
    pub bootstrap: Option<qa_store::Bootstrap>,
}

impl Running {
    pub fn listeners(&self) -> &[Listener] {
        &self.listeners
    }

    /// The base URL of `kind`'s main listener, if it runs here.
    pub fn url(&self, kind: ServiceKind) -> Option<String> {
        self.listener(kind, "api").map(Listener::url)
    }

    /// The base URL of `kind`'s health/metrics listener (the main one, except for the
    /// conversation manager).
    pub fn ops_url(&self, kind: ServiceKind) -> Option<String> {
        self.listener(kind, "ops")
            .or_else(|| self.listener(kind, "api"))
            .map(Listener::url)
    }

    fn listener(&self, kind: ServiceKind, role: &str) -> Option<&Listener> {
        self.listeners
            .iter()
            .find(|l| l.kind == kind && l.role == role)
    }

    /// Starts a graceful shutdown: listeners stop accepting, in-flight requests finish.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Waits for every listener to finish its in-flight requests, at most `grace`.
    /// Returns whether all of them drained in time.
    pub async fn wait(self, grace: Duration) -> bool {
        let all = async {
            for t in self.tasks {
                match t.await {
                    Ok(Err(e)) => tracing::error!(error = %e, "listener failed"),
                    Err(e) => tracing::error!(error = %e, "listener task panicked"),
                    Ok(Ok(())) => {}
                }
            }
        };
        tokio::time::timeout(grace, all).await.is_ok()
    }
}

/// Binds the listeners of `kinds` and starts serving. In all-in-one mode (several kinds)
/// peers left unconfigured are this process's own listeners; a single service defaults
/// them to the runbook's host names.
pub async fn start(config: &ServerConfig, kinds: &[ServiceKind]) -> Result<Running, ServeError> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(Arc::new(tls::Tls::load(cert, key).await?)),
        _ => None,
    };
    let mut bound = Vec::new();
    for &kind in kinds {
        let wanted = config.ports.all().into_iter().filter(|(k, ..)| *k == kind);
        for (_, role, setting, port) in wanted {
            let addr = SocketAddr::new(config.bind, port);
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Bind {
                    service: kind,
                    setting,
                    addr,
                    source,
                })?;
            let addr = listener.local_addr().map_err(|source| ServeError::Bind {
                service: kind,
                setting,
                addr,
                source,
            })?;
            bound.push((
                Listener {
                    kind,
                    role,
                    addr: loopback_if_unspecified(addr),
                    tls: tls.is_some(),
                },
                listener,
            ));
        }
    }

    let mut peers = config.peers.clone();
    for kind in ServiceKind::ALL {
        if peers.get(kind).is_some() {
            continue;
        }
        let local = bound
            .iter()
            .map(|(l, _)| l)
            .filter(|l| l.kind == kind)
            .max_by_key(|l| l.role == "ops");
        let url = match local {
            Some(l) => l.url(),
            None => runbook_url(kind).to_string(),
        };
        peers.set(kind, url);
    }
    let peers = Arc::new(peers);
    let http = tls::client_builder(config.tls_ca.as_deref())?
        .connect_timeout(config.peer_timeout())
        .build()?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let started = Instant::now();
    let trusted_networks = Arc::new(config.trusted_networks()?);
    let storage = Storage::open(config).await?;
    let bootstrap = storage.take_bootstrap();
    let shared_config = Arc::new(config.clone());
    let cache = qa_store::Ephemeral::open(config.redis_url.as_deref())?;
    if kinds.contains(&ServiceKind::Conversation)
        && !kinds.contains(&ServiceKind::Orchestrator)
        && config.redis_url.is_none()
    {
        // Its turns ask the orchestrator with session tokens kept in Redis; without one
        // shared, the orchestrator cannot check them and every question fails.
        tracing::warn!(
            "the conversation manager runs apart from the orchestrator without REDIS_URL: questions will fail until both share a Redis"
        );
    }
    // Only a conversation manager listens to the conversations' live events.
    let live = if kinds.contains(&ServiceKind::Conversation) {
        conversation::subscribe(cache.clone())
    } else {
        Arc::default()
    };
    let work_available = Arc::new(tokio::sync::Notify::new());
    let tools = Arc::new(qa_agents::Registry::standard());
    let mut reasoning = reasoning::Reasoning::new(config);
    if kinds.contains(&ServiceKind::Orchestrator) {
        // Reading 90 MB and embedding the examples takes a second or two: off the runtime.
        let cfg = config.clone();
        reasoning = tokio::task::spawn_blocking(move || reasoning.with_encoder(&cfg))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "loading the sentence encoder failed; questions are understood by their words alone");
                reasoning::Reasoning::new(config)
            });
    }
    let reasoning = Arc::new(reasoning);
    let learned = Arc::new(qa_agents::LearnedCache::default());
    let learning_engine = Arc::new(learning::Engine::default());
    let flood = Arc::new(api::learning::FloodGuard::default());

    let mut states = std::collections::HashMap::new();
    let mut listeners = Vec::new();
    let mut tasks = Vec::new();
    for (info, listener) in bound {
        let state = states
            .entry(info.kind)
            .or_insert_with(|| AppState {
                kind: info.kind,
                peers: peers.clone(),
                http: http.clone(),
                peer_timeout: config.peer_timeout(),
                started,
                metrics: Arc::new({
                    let mut m = ServiceMetrics::new(info.kind);
                    if let Some(t) = &tls {
                        m.register_tls(&t.status);
                    }
                    m
                }),
                db: storage.clone(),
                trusted_networks: trusted_networks.clone(),
                config: shared_config.clone(),
                cache: cache.clone(),
                tools: tools.clone(),
                reasoning: reasoning.clone(),
                work_available: work_available.clone(),
                learned: learned.clone(),
                learning: learning_engine.clone(),
                flood: flood.clone(),
                live: live.clone(),
                shutdown: shutdown_rx.clone(),
                tls: tls.as_ref().map(|t| t.status.clone()),
            })
            .clone();
        let app = router(
            state,
            info.role == "ops" || info.kind != ServiceKind::Conversation,
        );
        let mut stop = shutdown_rx.clone();
        tracing::info!(service = %info.kind, url = %info.url(), "listening");
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        tasks.push(match &tls {
            None => tokio::spawn(async move {
                axum::serve(listener, service)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await
            }),
            Some(tls) => {
                let handle = axum_server::Handle::new();
                let server = axum_server::from_tcp_rustls(
                    listener.into_std().map_err(|source| ServeError::Bind {
                        service: info.kind,
                        setting: "tls",
                        addr: info.addr,
                        source,
                    })?,
                    tls.rustls.clone(),
                )
                .map_err(|source| ServeError::Bind {
                    service: info.kind,
                    setting: "tls",
                    addr: info.addr,
                    source,
                })?
                .handle(handle.clone());
                tokio::spawn(async move {
                    let _ = stop.wait_for(|s| *s).await;
                    // In-flight requests finish; `Running::wait` bounds how long.
                    handle.graceful_shutdown(None);
                });
                tokio::spawn(server.serve(service))
            }
        });
        listeners.push(info);
    }
    if let Some(tls) = tls {
        tls::spawn_reloader(
            tls,
            Duration::from_secs(config.tls_reload_secs),
            shutdown_rx.clone(),
        );
    }
    if let Some(orchestrator) = states.get(&ServiceKind::Orchestrator) {
        reasoning::spawn_learned_state(orchestrator);
    }
    if let Some(learning) = states.get(&ServiceKind::Learning) {
        learning::spawn(learning);
    }
    if let Some(specialists) = states.get(&ServiceKind::Specialists) {
        api::specialists::spawn_registration(specialists);
        worker::spawn(
            specialists,
            config.workers,
            Duration::from_secs(config.job_lease_secs),
        );
    }
    Ok(Running {
        listeners,
        shutdown: shutdown_tx,
        tasks,
        bootstrap,
    })
}

/// The routes of one listener. Every listener has the health routes; `with_metrics` adds
/// `/metrics` (all but the conversation manager's WebSocket/UI port).
pub fn router(state: AppState, with_metrics: bool) -> Router {
    let mut app = Router::new()
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/health/detailed", get(health::detailed));
    if with_metrics {
        app = app.route("/metrics", get(metrics_handler));
    }
    if info_is_api(&state, with_metrics) {
        app = app.nest("/api/v1", api::router(state.kind, &state));
    }
    if state.kind == ServiceKind::Specialists {
        app = app.route("/internal/v1/wake", axum::routing::post(worker::wake));
    }
    if state.kind == ServiceKind::Conversation && !with_metrics {
        app = app
            .route("/ws", get(conversation::upgrade))
            .merge(ui::routes());
    }
    app.layer(middleware::from_fn_with_state(state.clone(), track_http))
        .with_state(state)
}

/// The API is on each service's main port; the conversation manager's ops port (8081)
/// has health and metrics only.
fn info_is_api(state: &AppState, with_metrics: bool) -> bool {
    state.kind != ServiceKind::Conversation || !with_metrics
}

async fn metrics_handler(State(state): State<AppState>) -> Response {
    let mut text = metrics_text(&state);
    dependency_metrics(&state, &mut text).await;
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

/// What `/metrics` answers: the service's registry and its storage.
pub(crate) fn metrics_text(state: &AppState) -> String {
    let mut text = state.metrics.encode();
    metrics::storage_metrics(
        &mut text,
        state.db.db.pool_status(),
        state.db.db.backend(),
        &state.db.data_dir,
    );
    text
}

/// `dependency_up`: whether the database and (when configured) Redis answered a ping
/// during this scrape, so that alerts see an outage even when no request failed.
async fn dependency_metrics(state: &AppState, out: &mut String) {
    let timeout = state.peer_timeout.min(Duration::from_secs(2));
    let db = tokio::time::timeout(timeout, state.db.db.ping()).await;
    let mut lines = vec![("database", state.db.db.backend(), matches!(db, Ok(Ok(_))))];
    if state.cache.backend() == "redis" {
        let redis = tokio::time::timeout(timeout, state.cache.ping()).await;
        lines.push(("redis", "redis", matches!(redis, Ok(Ok(_)))));
    }
    out.push_str(
        "# HELP dependency_up Whether a dependency answered this scrape's ping (1) or not (0).\n\
         # TYPE dependency_up gauge\n",
    );
    for (dependency, backend, up) in lines {
        out.push_str(&format!(
            "dependency_up{{dependency=\"{dependency}\",backend=\"{backend}\"}} {}\n",
            u8::from(up)
        ));
    }
}

/// Counts and times every request by its route pattern.
async fn track_http(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let method = req.method().to_string();
    let start = Instant::now();
    let span = tracing::info_span!(
        "http request",
        otel.name = %format!("{method} {route}"),
        service = state.kind.name(),
        http.method = %method,
        http.route = %route,
        http.status_code = tracing::field::Empty,
    );
    telemetry::continue_trace(&span, req.headers());
    let response = {
        use tracing::Instrument;
        next.run(req).instrument(span.clone()).await
    };
    span.record("http.status_code", response.status().as_u16());
    let m = &state.metrics;
    m.http_duration
        .get_or_create(&metrics::RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    m.http_requests
        .get_or_create(&metrics::HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

fn runbook_url(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::Orchestrator => "http://agent-orchestrator:8000",
        ServiceKind::Specialists => "http://specialist-agents:8001",
        ServiceKind::Conversation => "http://conversation-manager:8081",
        ServiceKind::Learning => "http://learning-engine:8002",
    }
}

/// A listener on 0.0.0.0 is reached by its own process on 127.0.0.1.
fn loopback_if_unspecified(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    }
}

/// Resolves on SIGTERM (Kubernetes, `docker stop`) or Ctrl-C. The handlers are
/// installed when this is called, not when the future is first polled, so call it before
/// announcing the listeners: a SIGTERM right after start-up then drains instead of killing.
/// Must be called inside the Tokio runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
