//! Prometheus metrics: one registry per service, with every metric name the runbook greps
//! for, and HTTP request counts and latencies.
//!
//! The runbook's metrics are label families: a family prints its `# HELP`/`# TYPE` lines
//! from the start but a sample only once something was observed, so an idle install shows
//! every name and trips no alert with a made-up value.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::ServiceKind;

/// The content type of [`ServiceMetrics::encode`]'s output (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route pattern (`/health/live`), or `unmatched`: never the raw path, so a
    /// scanner cannot blow up the number of series.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthFailureLabels {
    /// `missing`, `malformed`, `invalid`, `revoked` or `untrusted_network`.
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    /// `analysis`, `conversation`, `task`, `generated_tests` or `feedback`.
    pub resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// `wall`, `cpu`, `file_size` or `output`.
    pub limit: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthErrorLabels {
    /// `backend`: keys could not be checked at all.
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolLabels {
    pub tool: String,
    /// `success` or `failure`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ToolName {
    pub tool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QualityLabels {
    pub specialist: String,
    pub task_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepKindLabels {
    /// `steps` or `tool_calls`.
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModeLabels {
    pub mode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// `hit` or `miss`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoleLabels {
    pub role: String,
}

/// The conversation manager's metrics (the runbook's WebSocket and session names).
pub struct ConversationMetrics {
    pub connections: Gauge,
    /// `websocket_errors_total{kind}`: bad frames, rate limits, slow consumers, ...
    pub errors: Family<KindLabels, Counter>,
    /// `session_persistence_writes_total{outcome}`.
    pub writes: Family<OutcomeLabels, Counter>,
    pub failures: Family<NoLabels, Counter>,
    /// Sessions resumed after a reconnect (on any replica) or a restart.
    pub restores: Family<NoLabels, Counter>,
    pub write_duration: HistogramFamily<NoLabels>,
    pub messages: Family<RoleLabels, Counter>,
    /// `conversation_turns_total{outcome}`: answered, failed, cancelled, interrupted.
    pub turns: Family<OutcomeLabels, Counter>,
}

impl ConversationMetrics {
    pub fn error(&self, kind: &str) {
        self.errors
            .get_or_create(&KindLabels { kind: kind.into() })
            .inc();
    }
}

type GaugeF64 = Gauge<f64, std::sync::atomic::AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AgentLabels {
    pub agent: String,
}

/// The learning engine's metrics; definitions in `qa_learning::ratings` and
/// docs/learning.md. Gauges without an observation print no sample.
pub struct LearningMetrics {
    /// `learning_events_total{kind}`: feedback learned from, by what it taught.
    pub events: Family<KindLabels, Counter>,
    /// `feedback_failures_total`: feedback that could not be learned from.
    pub failures: Family<NoLabels, Counter>,
    pub backlog: Family<NoLabels, Gauge>,
    pub satisfaction: Family<NoLabels, GaugeF64>,
    pub velocity: Family<NoLabels, GaugeF64>,
    pub agent_velocity: Family<AgentLabels, GaugeF64>,
    /// `learned_state_snapshot_age_seconds`.
    pub snapshot_age: Family<NoLabels, GaugeF64>,
}

/// The orchestrator's reasoning metrics.
pub struct ReasoningMetrics {
    /// `agent_reasoning_quality_score{specialist,task_type}`, one observation per reasoning.
    pub quality: HistogramFamily<QualityLabels>,
    /// `agent_reasoning_steps{kind}`: steps and tool calls per reasoning.
    pub steps: HistogramFamily<StepKindLabels>,
    pub response_time: HistogramFamily<NoLabels>,
    pub queue_length: Gauge,
    pub load_shed: Counter,
    pub collaboration_effectiveness: Family<ModeLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    collaborations: std::sync::Mutex<std::collections::HashMap<String, (u64, u64)>>,
    pub cache: Family<CacheLabels, Counter>,
}

impl ReasoningMetrics {
    /// Counts one collaboration and updates the share of effective ones for its mode.
    pub fn record_collaboration(&self, mode: &str, effective: bool) {
        let mut all = self
            .collaborations
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (n, ok) = all.entry(mode.to_string()).or_default();
        *n += 1;
        *ok += u64::from(effective);
        self.collaboration_effectiveness
            .get_or_create(&ModeLabels { mode: mode.into() })
            .set(*ok as f64 / *n as f64);
    }
}

/// Outcomes a tool's success rate is computed over.
const SUCCESS_WINDOW: usize = 100;

/// Labels of a metric that has none yet; its family prints a sample only once set.
pub type NoLabels = Vec<(String, String)>;

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The metrics of one service.
pub struct ServiceMetrics {
    kind: ServiceKind,
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: HistogramFamily<RouteLabels>,
    memory_usage: Gauge,
    pub auth_failures: Family<AuthFailureLabels, Counter>,
    pub cross_tenant_denials: Family<ResourceLabels, Counter>,
    /// The specialist service's copy of the process-wide sandbox counters.
    sandbox_limit_hits: Family<LimitLabels, Counter>,
    pub auth_errors: Family<AuthErrorLabels, Counter>,
    pub tool_executions: Family<ToolLabels, Counter>,
    pub tool_duration: HistogramFamily<ToolName>,
    tool_success_rate: Family<ToolName, Gauge<f64, std::sync::atomic::AtomicU64>>,
    tool_outcomes:
        std::sync::Mutex<std::collections::HashMap<String, std::collections::VecDeque<bool>>>,
    /// Background analysis jobs, start to finish (seconds to many minutes).
    pub job_duration: HistogramFamily<NoLabels>,
    pub reasoning: ReasoningMetrics,
    pub conversation: ConversationMetrics,
    pub learning: LearningMetrics,
}

impl ServiceMetrics {
    /// Exports the served certificate's expiry and reload outcomes.
    pub fn register_tls(&mut self, status: &crate::tls::TlsStatus) {
        self.registry.register(
            "tls_certificate_expiry_timestamp_seconds",
            "When the served certificate expires, in seconds since the Unix epoch",
            status.expiry.clone(),
        );
        self.registry.register(
            "tls_certificate_reloads",
            "Certificate reloads (SIGHUP or changed files), by result: ok, or error (the previous certificate stays)",
            status.reloads.clone(),
        );
    }

    pub fn new(kind: ServiceKind) -> ServiceMetrics {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            http_requests.clone(),
        );
        let http_duration: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route",
            http_duration.clone(),
        );
        let memory_usage = Gauge::default();
        registry.register(
            "memory_usage_bytes",
            "Resident memory of the process, read at each scrape",
            memory_usage.clone(),
        );
        let auth_failures = Family::<AuthFailureLabels, Counter>::default();
        registry.register(AUTH_FAILURES.0, AUTH_FAILURES.1, auth_failures.clone());
        let sandbox_limit_hits = Family::<LimitLabels, Counter>::default();
        if kind == ServiceKind::Specialists {
            registry.register(
                "sandbox_limit_hits",
                "Sandboxed runs (generated tests, mutants) stopped by a limit, by limit: wall and cpu are routine (code that loops), file_size means code tried to fill the disk, output that it flooded its output",
                sandbox_limit_hits.clone(),
            );
        }
        let cross_tenant_denials = Family::<ResourceLabels, Counter>::default();
        registry.register(CROSS_TENANT.0, CROSS_TENANT.1, cross_tenant_denials.clone());
        let auth_errors = Family::<AuthErrorLabels, Counter>::default();
        registry.register(AUTH_ERRORS.0, AUTH_ERRORS.1, auth_errors.clone());
        let tool_executions = Family::<ToolLabels, Counter>::default();
        let tool_duration: HistogramFamily<ToolName> =
            Family::new_with_constructor(latency_histogram);
        let tool_success_rate =
            Family::<ToolName, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        let job_duration: HistogramFamily<NoLabels> = Family::new_with_constructor(|| {
            // 0.1 s .. ~55 min.
            Histogram::new(exponential_buckets(0.1, 2.0, 16))
        });
        if kind == ServiceKind::Specialists {
            register_runbook(&mut registry, "tool_execution", tool_executions.clone());
            register_runbook(
                &mut registry,
                "tool_execution_duration_seconds",
                tool_duration.clone(),
            );
            register_runbook(
                &mut registry,
                "tool_success_rate",
                tool_success_rate.clone(),
            );
            registry.register(
                "analysis_job_duration_seconds",
                "Time from claiming an analysis job to storing its results",
                job_duration.clone(),
            );
        }
        let reasoning = ReasoningMetrics {
            quality: Family::new_with_constructor(|| {
                Histogram::new([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
            }),
            steps: Family::new_with_constructor(|| {
                Histogram::new([1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0])
            }),
            response_time: Family::new_with_constructor(|| {
                // 10 ms .. ~5 min.
                Histogram::new(exponential_buckets(0.01, 2.0, 15))
            }),
            queue_length: Gauge::default(),
            load_shed: Counter::default(),
            collaboration_effectiveness: Family::default(),
            collaborations: Default::default(),
            cache: Family::default(),
        };
        if kind == ServiceKind::Orchestrator {
            let r = &reasoning;
            register_runbook(
                &mut registry,
                "agent_reasoning_quality_score",
                r.quality.clone(),
            );
            register_runbook(&mut registry, "agent_reasoning_steps", r.steps.clone());
            register_runbook(
                &mut registry,
                "agent_response_time_seconds",
                r.response_time.clone(),
            );
            register_runbook(
                &mut registry,
                "reasoning_queue_length",
                r.queue_length.clone(),
            );
            register_runbook(&mut registry, "load_shed", r.load_shed.clone());
            register_runbook(
                &mut registry,
                "collaboration_effectiveness",
                r.collaboration_effectiveness.clone(),
            );
            registry.register(
                "reasoning_cache",
                "Reasoning cache lookups, by result",
                r.cache.clone(),
            );
        }
        let conversation = ConversationMetrics {
            connections: Gauge::default(),
            errors: Family::default(),
            writes: Family::default(),
            failures: Family::default(),
            restores: Family::default(),
            write_duration: Family::new_with_constructor(latency_histogram),
            messages: Family::default(),
            turns: Family::default(),
        };
        if kind == ServiceKind::Conversation {
            let c = &conversation;
            register_runbook(
                &mut registry,
                "websocket_connections",
                c.connections.clone(),
            );
            register_runbook(&mut registry, "websocket_errors", c.errors.clone());
            register_runbook(
                &mut registry,
                "session_persistence_writes",
                c.writes.clone(),
            );
            register_runbook(
                &mut registry,
                "session_persistence_failures",
                c.failures.clone(),
            );
            register_runbook(
                &mut registry,
                "session_persistence_restores",
                c.restores.clone(),
            );
            register_runbook(
                &mut registry,
                "session_persistence_duration_seconds",
                c.write_duration.clone(),
            );
            registry.register(
                "conversation_messages",
                "Messages stored, by role",
                c.messages.clone(),
            );
            registry.register(
                "conversation_turns",
                "Questions answered in conversations, by outcome",
                c.turns.clone(),
            );
        }
        let learning = LearningMetrics {
            events: Family::default(),
            failures: Family::default(),
            backlog: Family::default(),
            satisfaction: Family::default(),
            velocity: Family::default(),
            agent_velocity: Family::default(),
            snapshot_age: Family::default(),
        };
        if kind == ServiceKind::Learning {
            let l = &learning;
            register_runbook(&mut registry, "learning_events", l.events.clone());
            register_runbook(&mut registry, "learning_velocity", l.velocity.clone());
            register_runbook(
                &mut registry,
                "agent_learning_velocity",
                l.agent_velocity.clone(),
            );
            register_runbook(
                &mut registry,
                "agent_user_satisfaction_score",
                l.satisfaction.clone(),
            );
            register_runbook(&mut registry, "feedback_backlog", l.backlog.clone());
            register_runbook(&mut registry, "feedback_failures", l.failures.clone());
            register_runbook(
                &mut registry,
                "learned_state_snapshot_age_seconds",
                l.snapshot_age.clone(),
            );
        }
        // The process started (near enough) when its first service was set up.
        std::sync::LazyLock::force(&START_TIME);
        ServiceMetrics {
            kind,
            registry,
            http_requests,
            http_duration,
            memory_usage,
            auth_failures,
            cross_tenant_denials,
            sandbox_limit_hits,
            auth_errors,
            tool_executions,
            tool_duration,
            tool_success_rate,
            tool_outcomes: Default::default(),
            job_duration,
            reasoning,
            conversation,
            learning,
        }
    }

    /// Records one execution of `tool`: its count by outcome, its duration, and its
    /// success rate over the last executions.
    pub fn record_tool(&self, tool: &str, ok: bool, elapsed: std::time::Duration) {
        let outcome = if ok { "success" } else { "failure" };
        self.tool_executions
            .get_or_create(&ToolLabels {
                tool: tool.into(),
                outcome: outcome.into(),
            })
            .inc();
        let name = ToolName { tool: tool.into() };
        self.tool_duration
            .get_or_create(&name)
            .observe(elapsed.as_secs_f64());
        let mut outcomes = self.tool_outcomes.lock().unwrap_or_else(|p| p.into_inner());
        let window = outcomes.entry(tool.to_string()).or_default();
        if window.len() == SUCCESS_WINDOW {
            window.pop_front();
        }
        window.push_back(ok);
        let rate = window.iter().filter(|&&x| x).count() as f64 / window.len() as f64;
        self.tool_success_rate.get_or_create(&name).set(rate);
    }

    /// The text exposition of every metric of this service.
    pub fn encode(&self) -> String {
        if self.kind == ServiceKind::Specialists {
            // Every limit shown from the start; the counters follow the process-wide ones.
            for (name, total) in qa_sandbox::LIMITS.iter().zip(qa_sandbox::limit_hits()) {
                let c = self.sandbox_limit_hits.get_or_create(&LimitLabels {
                    limit: (*name).into(),
                });
                c.inc_by(total.saturating_sub(c.get()));
            }
        }
        let rss = resident_memory_bytes();
        if let Some(rss) = rss {
            self.memory_usage.set(rss as i64);
        }
        let mut open_metrics = String::new();
        prometheus_client::encoding::text::encode(&mut open_metrics, &self.registry)
            .expect("writing to a String cannot fail");
        let mut text = to_prometheus_text(&open_metrics);
        add_missing_descriptors(self.kind, &mut text);
        process_metrics(&mut text, rss);
        text
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
    Histogram,
}

/// The metrics each service exposes for the runbook's checks and alerts, by service:
/// name (counters without `_total`), help, type. Until a later issue registers a family
/// and records into it, each shows its HELP/TYPE lines and no sample.
const RUNBOOK: &[(ServiceKind, &str, &str, Kind)] = {
    use Kind::*;
    use ServiceKind::*;
    &[
        (
            Orchestrator,
            "agent_reasoning_quality_score",
            "Quality score (0-1) of each reasoning, by specialist and task type",
            Histogram,
        ),
        (
            Orchestrator,
            "reasoning_queue_length",
            "Reasoning requests waiting for a worker",
            Gauge,
        ),
        (
            Orchestrator,
            "agent_response_time_seconds",
            "Time to answer an interactive request",
            Histogram,
        ),
        (
            Orchestrator,
            "agent_reasoning_steps",
            "Steps and tool calls per reasoning, by kind",
            Histogram,
        ),
        (
            Orchestrator,
            "load_shed",
            "Reasoning requests refused with 503 because the queue was full",
            Counter,
        ),
        (
            Orchestrator,
            "collaboration_effectiveness",
            "Share (0-1) of multi-specialist collaborations with no unresolved conflict and all evidence verified, by mode",
            Gauge,
        ),
        (
            Specialists,
            "tool_execution",
            "Tool executions, by tool and outcome",
            Counter,
        ),
        (
            Specialists,
            "tool_execution_duration_seconds",
            "Tool execution time, by tool",
            Histogram,
        ),
        (
            Specialists,
            "tool_success_rate",
            "Share (0-1) of recent executions of a tool that succeeded",
            Gauge,
        ),
        (
            Conversation,
            "websocket_connections",
            "Open WebSocket connections",
            Gauge,
        ),
        (
            Conversation,
            "websocket_errors",
            "WebSocket errors, by kind",
            Counter,
        ),
        (
            Conversation,
            "session_persistence_writes",
            "Session state writes, by outcome",
            Counter,
        ),
        (
            Conversation,
            "session_persistence_failures",
            "Session state writes that failed",
            Counter,
        ),
        (
            Conversation,
            "session_persistence_restores",
            "Sessions restored after a reconnect or restart",
            Counter,
        ),
        (
            Conversation,
            "session_persistence_duration_seconds",
            "Time to persist session state",
            Histogram,
        ),
        (
            Learning,
            "learning_events",
            "Learning events processed, by kind",
            Counter,
        ),
        (
            Learning,
            "learning_velocity",
            "Change per day of the share of judged findings users confirm (last day minus the day before)",
            Gauge,
        ),
        (
            Learning,
            "agent_learning_velocity",
            "Change per day of an agent's mean user rating (last day minus the day before), by agent",
            Gauge,
        ),
        (
            Learning,
            "agent_user_satisfaction_score",
            "Mean user rating (1-5) of the last day",
            Gauge,
        ),
        (
            Learning,
            "feedback_backlog",
            "Feedback stored and not processed yet",
            Gauge,
        ),
        (
            Learning,
            "feedback_failures",
            "Feedback that could not be learned from (kept, with its error)",
            Counter,
        ),
        (
            Learning,
            "learned_state_snapshot_age_seconds",
            "Age of the learned-state snapshot in use",
            Gauge,
        ),
    ]
};

/// Families every service has, shown from the start for the alerts that watch them.
const EVERY_SERVICE: &[(&str, &str, Kind)] = &[
    (AUTH_FAILURES.0, AUTH_FAILURES.1, Kind::Counter),
    (AUTH_ERRORS.0, AUTH_ERRORS.1, Kind::Counter),
    (CROSS_TENANT.0, CROSS_TENANT.1, Kind::Counter),
];

const CROSS_TENANT: (&str, &str) = (
    "cross_tenant_denials",
    "Requests for another tenant's record by id, answered 404 like a missing one, by resource",
);

const AUTH_FAILURES: (&str, &str) = (
    "auth_failures",
    "Requests refused for their credentials, by reason",
);
const AUTH_ERRORS: (&str, &str) = (
    "auth_errors",
    "Requests whose credentials could not be checked (an authentication outage), by kind",
);

/// The help of a runbook metric, from [`RUNBOOK`]: one text for the registered family
/// and for the descriptor shown before it has a sample.
/// Registers `metric` under a runbook name, with the runbook's description as its help.
fn register_runbook(
    registry: &mut Registry,
    name: &'static str,
    metric: impl prometheus_client::registry::Metric,
) {
    registry.register(name, runbook_help(name), metric);
}

fn runbook_help(name: &str) -> &'static str {
    RUNBOOK
        .iter()
        .find(|(_, n, _, _)| *n == name)
        .map(|(_, _, help, _)| *help)
        .unwrap_or_else(|| panic!("{name} is not in RUNBOOK"))
}

/// prometheus-client leaves a family with no series out of its output entirely; the
/// runbook wants every name visible from the start, so add the HELP/TYPE lines of the
/// runbook families that have none.
fn add_missing_descriptors(kind: ServiceKind, text: &mut String) {
    let every = EVERY_SERVICE.iter().map(|&(n, h, m)| (kind, n, h, m));
    for (service, name, help, metric) in RUNBOOK.iter().copied().chain(every) {
        if service != kind {
            continue;
        }
        let (name, ty) = match metric {
            Kind::Gauge => (name.to_string(), "gauge"),
            Kind::Counter => (format!("{name}_total"), "counter"),
            Kind::Histogram => (name.to_string(), "histogram"),
        };
        if !text.contains(&format!("# TYPE {name} ")) {
            text.push_str(&format!("# HELP {name} {help}.\n# TYPE {name} {ty}\n"));
        }
    }
}

/// prometheus-client writes OpenMetrics, where a counter's HELP/TYPE lines carry its bare
/// name and only the samples end in `_total`. Prometheus' text format wants the `_total`
/// name throughout (and `promtool check metrics` says so), and the runbook greps for
/// `learning_events_total` on an idle install: rename counter families, drop `# EOF` and
/// `# UNIT`.
pub fn to_prometheus_text(open_metrics: &str) -> String {
    let counters: Vec<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len() + 16 * counters.len());
    for line in open_metrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The database pool's connections (read at scrape) and the free space of the data
/// directory, for the runbook's pool and disk alerts.
pub fn storage_metrics(
    out: &mut String,
    pool: qa_store::PoolStatus,
    backend: &str,
    data_dir: &std::path::Path,
) {
    let in_use = pool.size.saturating_sub(pool.idle);
    out.push_str(&format!(
        "# HELP db_pool_connections Open database connections, by state.\n\
         # TYPE db_pool_connections gauge\n\
         db_pool_connections{{backend=\"{backend}\",state=\"idle\"}} {}\n\
         db_pool_connections{{backend=\"{backend}\",state=\"in_use\"}} {in_use}\n\
         # HELP db_pool_max_connections Largest number of database connections the pool opens.\n\
         # TYPE db_pool_max_connections gauge\n\
         db_pool_max_connections{{backend=\"{backend}\"}} {}\n",
        pool.idle, pool.max
    ));
    if let Ok(stat) = rustix::fs::statvfs(data_dir) {
        let free = stat.f_bavail.saturating_mul(stat.f_frsize);
        let size = stat.f_blocks.saturating_mul(stat.f_frsize);
        out.push_str(&format!(
            "# HELP data_dir_free_bytes Free space available to qa-agent in its data directory.\n\
             # TYPE data_dir_free_bytes gauge\n\
             data_dir_free_bytes {free}\n\
             # HELP data_dir_size_bytes Size of the file system holding the data directory.\n\
             # TYPE data_dir_size_bytes gauge\n\
             data_dir_size_bytes {size}\n"
        ));
    }
}

/// The standard `process_*` metrics the runbook's CPU and memory alerts use, read from
/// `/proc` at each scrape (Linux; nothing is written where a reading is unavailable), and
/// the memory limit when the cgroup sets one.
fn process_metrics(out: &mut String, rss: Option<u64>) {
    let mut put = |name: &str, ty: &str, help: &str, value: f64| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {ty}\n{name} {value}\n"
        ));
    };
    if let Some(cpu) = cpu_seconds() {
        put(
            "process_cpu_seconds_total",
            "counter",
            "User and system CPU time spent, in seconds.",
            cpu,
        );
    }
    if let Some(rss) = rss {
        put(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            rss as f64,
        );
    }
    put(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since the Unix epoch, in seconds.",
        *START_TIME,
    );
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        put(
            "process_open_fds",
            "gauge",
            "Open file descriptors.",
            fds.count() as f64,
        );
    }
    put(
        "process_cpu_limit_cores",
        "gauge",
        "CPU cores the process may use: its cgroup's quota, else the CPUs available.",
        cpu_limit_cores(),
    );
    if let Some(limit) = cgroup_memory_limit().or_else(machine_memory) {
        put(
            "process_memory_limit_bytes",
            "gauge",
            "Memory the process may use, in bytes: its cgroup's limit, else the machine's memory.",
            limit as f64,
        );
    }
}

static START_TIME: std::sync::LazyLock<f64> = std::sync::LazyLock::new(|| {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
});

/// utime + stime from `/proc/self/stat`, in clock ticks of 1/100 s (Linux's USER_HZ,
/// fixed at 100 in the user-space ABI).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; the fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// cgroup v2 `cpu.max` (`QUOTA PERIOD`, or `max` for none), else the CPUs this
/// process may run on.
fn cpu_limit_cores() -> f64 {
    let quota = std::fs::read_to_string("/sys/fs/cgroup/cpu.max")
        .ok()
        .and_then(|raw| {
            let mut it = raw.split_whitespace();
            let quota: f64 = it.next()?.parse().ok()?;
            let period: f64 = it.next()?.parse().ok()?;
            (period > 0.0).then(|| quota / period)
        });
    quota.unwrap_or_else(|| std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64))
}

/// cgroup v2 `memory.max`, else v1 `memory.limit_in_bytes`; `None` when unlimited.
fn cgroup_memory_limit() -> Option<u64> {
    let v2 = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok();
    let v1 = || std::fs::read_to_string("/sys/fs/cgroup/memory/memory.limit_in_bytes").ok();
    let raw = v2.or_else(v1)?;
    let limit: u64 = raw.trim().parse().ok()?;
    // v1 writes a huge number (near i64::MAX) for "no limit".
    (limit < 1 << 60).then_some(limit)
}

/// `MemTotal` from `/proc/meminfo` (Linux).
fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The process's resident set size, from `/proc/self/status` (Linux).
fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_get_their_total_name_in_help_and_type() {
        let m = ServiceMetrics::new(ServiceKind::Learning);
        let text = m.encode();
        assert!(
            text.contains("# TYPE learning_events_total counter"),
            "{text}"
        );
        assert!(text.contains("# HELP learning_events_total "), "{text}");
        assert!(!text.contains("_total_total"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
        // Idle: names but no samples for the runbook families.
        assert!(
            !text.lines().any(|l| l.starts_with("learning_events_total")),
            "{text}"
        );
        assert!(
            text.contains("# TYPE process_cpu_seconds_total counter"),
            "{text}"
        );
        assert!(text.contains("process_start_time_seconds "), "{text}");
        // Memory is a real reading.
        let rss = text
            .lines()
            .find_map(|l| l.strip_prefix("memory_usage_bytes "))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap();
        assert!(rss > 0.0);
    }
}
