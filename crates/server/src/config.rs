//! Service configuration: defaults, then the `[server]` table of `qa-agent.toml` (or
//! `--config FILE`), then environment variables, validated at start-up.
//!
//! Only the variables listed in [`SETTINGS`] are read, so unrelated `QA_AGENT_*` variables
//! (the test suite's database URLs, say) never become unknown keys.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::ServiceKind;

/// Every setting: its key in the `[server]` table, its environment variable, and what it
/// does. `docs/configuration.md` documents the same table.
pub const SETTINGS: &[(&str, &str, &str)] = &[
    (
        "database_url",
        "DATABASE_URL",
        "PostgreSQL URL (postgres://USER@HOST:5432/DB); unset: the embedded SQLite file in `data_dir`",
    ),
    (
        "redis_url",
        "REDIS_URL",
        "Redis URL (redis://HOST:6379) for session state, result caches and pub/sub between replicas; unset: an in-process store (one process only)",
    ),
    (
        "db_pool_size",
        "DB_POOL_SIZE",
        "database connections per process (10)",
    ),
    (
        "data_dir",
        "QA_AGENT_DATA_DIR",
        "where the embedded database and other local state live (./qa-agent-data)",
    ),
    (
        "models_dir",
        "QA_AGENT_MODELS_DIR",
        "the learning engine's local materialisation: the knowledge index and the exported learned-state snapshot (`data_dir`/models; /app/models in the image)",
    ),
    (
        "encoder_dir",
        "QA_AGENT_ENCODER_DIR",
        "the sentence encoder's files (all-MiniLM-L6-v2, from scripts/fetch-model.sh), with which the planner also understands questions by meaning; without them, by their words alone (`data_dir`/encoder/all-MiniLM-L6-v2; /app/encoder in the image)",
    ),
    (
        "bind",
        "QA_AGENT_BIND",
        "address every listener binds (default 127.0.0.1; containers use 0.0.0.0)",
    ),
    (
        "ports.orchestrator",
        "QA_AGENT_ORCHESTRATOR_PORT",
        "agent-orchestrator port (8000; 0 picks a free port)",
    ),
    (
        "ports.specialists",
        "QA_AGENT_SPECIALISTS_PORT",
        "specialist-agents port (8001)",
    ),
    (
        "ports.conversation",
        "QA_AGENT_CONVERSATION_PORT",
        "conversation-manager WebSocket/UI port (8080)",
    ),
    (
        "ports.conversation_ops",
        "QA_AGENT_CONVERSATION_OPS_PORT",
        "conversation-manager health/metrics port (8081)",
    ),
    (
        "ports.learning",
        "QA_AGENT_LEARNING_PORT",
        "learning-engine port (8002)",
    ),
    (
        "peers.orchestrator",
        "QA_AGENT_ORCHESTRATOR_URL",
        "where other services reach the orchestrator (all-in-one: its own listener; alone: http://agent-orchestrator:8000)",
    ),
    (
        "peers.specialists",
        "QA_AGENT_SPECIALISTS_URL",
        "where other services reach the specialists (http://specialist-agents:8001)",
    ),
    (
        "peers.conversation",
        "QA_AGENT_CONVERSATION_URL",
        "where other services reach the conversation manager's health port (http://conversation-manager:8081)",
    ),
    (
        "peers.learning",
        "QA_AGENT_LEARNING_URL",
        "where other services reach the learning engine (http://learning-engine:8002)",
    ),
    (
        "peer_timeout_ms",
        "QA_AGENT_PEER_TIMEOUT_MS",
        "timeout of a peer health check in /health/detailed (2000)",
    ),
    (
        "shutdown_grace_secs",
        "QA_AGENT_SHUTDOWN_GRACE_SECS",
        "how long SIGTERM waits for in-flight requests (25, below Kubernetes' 30 s)",
    ),
    (
        "trusted_networks",
        "QA_AGENT_TRUSTED_NETWORKS",
        "comma-separated networks (CIDR) whose requests may make the runbook's keyless operational calls without an API key (127.0.0.0/8,::1/128); `X-Forwarded-For` is not trusted",
    ),
    (
        "bootstrap_key",
        "QA_AGENT_BOOTSTRAP_KEY",
        "the admin API key created on first start with an empty database; unset: a random key is generated and printed once",
    ),
    (
        "workspace_roots",
        "QA_AGENT_WORKSPACE_ROOTS",
        "comma-separated directories whose contents the analysis API may read by path (none: only uploads)",
    ),
    (
        "max_upload_bytes",
        "QA_AGENT_MAX_UPLOAD_BYTES",
        "largest repository archive (.tar.gz, .zip) the analysis API accepts, in bytes (67108864 = 64 MiB)",
    ),
    (
        "workers",
        "QA_AGENT_WORKERS",
        "analysis jobs a specialist-agents process runs at once (2; 0 runs none)",
    ),
    (
        "job_lease_secs",
        "QA_AGENT_JOB_LEASE_SECS",
        "how long a worker holds a job without renewing it; a job whose worker died is picked up again after this (30)",
    ),
    (
        "reasoning_concurrency",
        "QA_AGENT_REASONING_CONCURRENCY",
        "agent reasonings an orchestrator process runs at once (8); more wait in a queue",
    ),
    (
        "reasoning_queue",
        "QA_AGENT_REASONING_QUEUE",
        "reasonings that may wait for a slot (64); past it, new ones are shed with 503 and Retry-After",
    ),
    (
        "reasoning_max_steps",
        "QA_AGENT_REASONING_MAX_STEPS",
        "steps (thoughts and tool calls) one reasoning may take (24)",
    ),
    (
        "reasoning_timeout_secs",
        "QA_AGENT_REASONING_TIMEOUT_SECS",
        "time one reasoning may take, analysis of the repository included (120)",
    ),
    (
        "session_ttl_secs",
        "QA_AGENT_SESSION_TTL_SECS",
        "how long a conversation's live state stays in Redis after its last activity (3600); its messages and events are kept in the database regardless",
    ),
    (
        "ws_idle_secs",
        "QA_AGENT_WS_IDLE_SECS",
        "a WebSocket that sends nothing (not even a pong) this long is closed (300)",
    ),
    (
        "turns_per_user",
        "QA_AGENT_TURNS_PER_USER",
        "questions one user may have answered at once, across conversations and replicas (4); one more is refused with `too_many_turns`",
    ),
    (
        "ws_max_frame_bytes",
        "QA_AGENT_WS_MAX_FRAME_BYTES",
        "largest WebSocket frame a client may send (65536); a larger one closes the connection with 1009",
    ),
    (
        "llm_provider",
        "QA_AGENT_LLM_PROVIDER",
        "`offline` (the default: the built-in planner, no network), `openai` (any OpenAI-compatible endpoint: OpenAI, vLLM, Ollama, LM Studio) or `anthropic`",
    ),
    (
        "llm_base_url",
        "QA_AGENT_LLM_BASE_URL",
        "the provider's API (https://api.openai.com/v1, http://localhost:11434/v1 for Ollama, https://api.anthropic.com); unset: the provider's own",
    ),
    (
        "llm_model",
        "QA_AGENT_LLM_MODEL",
        "the model to ask (required unless `offline`)",
    ),
    (
        "llm_api_key",
        "QA_AGENT_LLM_API_KEY",
        "the provider's API key (none for a local server)",
    ),
    (
        "llm_timeout_secs",
        "QA_AGENT_LLM_TIMEOUT_SECS",
        "time one model call may take before it is retried, then given up for the offline planner (60)",
    ),
    (
        "llm_token_budget",
        "QA_AGENT_LLM_TOKEN_BUDGET",
        "input plus output tokens one reasoning may spend (50000)",
    ),
    (
        "llm_cost_budget_usd",
        "QA_AGENT_LLM_COST_BUDGET_USD",
        "US dollars one reasoning may spend at the prices below (0: no limit)",
    ),
    (
        "llm_usd_per_million_input",
        "QA_AGENT_LLM_USD_PER_MILLION_INPUT",
        "the model's price per million input tokens, for the cost budget (0)",
    ),
    (
        "llm_usd_per_million_output",
        "QA_AGENT_LLM_USD_PER_MILLION_OUTPUT",
        "the model's price per million output tokens, for the cost budget (0)",
    ),
    (
        "log_format",
        "QA_AGENT_LOG_FORMAT",
        "`text` or `json` log lines (RUST_LOG sets the levels)",
    ),
    (
        "log_dir",
        "QA_AGENT_LOG_DIR",
        "also write logs to `qa-agent.YYYY-MM-DD.log` files here, rotated daily, 14 kept (the runbook uses /var/log/qa-agent); unset: stderr only",
    ),
    (
        "tls_cert",
        "QA_AGENT_TLS_CERT",
        "PEM certificate chain every listener serves HTTPS with (set with `tls_key`); read again on SIGHUP and when the file changes, without dropping connections; unset: plain HTTP",
    ),
    (
        "tls_key",
        "QA_AGENT_TLS_KEY",
        "PEM private key of `tls_cert` (PKCS#8, PKCS#1 or SEC1)",
    ),
    (
        "tls_ca",
        "QA_AGENT_TLS_CA",
        "PEM bundle of extra roots to trust when calling the other services over HTTPS (a private CA); the system's roots are always trusted",
    ),
    (
        "tls_reload_secs",
        "QA_AGENT_TLS_RELOAD_SECS",
        "how often the certificate files are checked for a renewal (30)",
    ),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub db_pool_size: u32,
    pub data_dir: PathBuf,
    pub models_dir: Option<PathBuf>,
    pub encoder_dir: Option<PathBuf>,
    pub bind: IpAddr,
    pub ports: Ports,
    pub peers: Peers,
    pub peer_timeout_ms: u64,
    pub shutdown_grace_secs: u64,
    pub log_format: LogFormat,
    pub log_dir: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_ca: Option<PathBuf>,
    pub tls_reload_secs: u64,
    pub trusted_networks: Vec<String>,
    pub bootstrap_key: Option<String>,
    pub workspace_roots: Vec<PathBuf>,
    pub max_upload_bytes: u64,
    pub workers: u32,
    pub job_lease_secs: u64,
    pub reasoning_concurrency: u32,
    pub reasoning_queue: u32,
    pub reasoning_max_steps: u32,
    pub reasoning_timeout_secs: u64,
    pub session_ttl_secs: u64,
    pub ws_idle_secs: u64,
    pub turns_per_user: u32,
    pub ws_max_frame_bytes: usize,
    pub llm_provider: String,
    pub llm_base_url: Option<String>,
    pub llm_model: Option<String>,
    pub llm_api_key: Option<String>,
    pub llm_timeout_secs: u64,
    pub llm_token_budget: u64,
    pub llm_cost_budget_usd: f64,
    pub llm_usd_per_million_input: f64,
    pub llm_usd_per_million_output: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ports {
    pub orchestrator: u16,
    pub specialists: u16,
    pub conversation: u16,
    pub conversation_ops: u16,
    pub learning: u16,
}

/// Base URLs of the other services. Unset: in all-in-one mode the service's own bound
/// address, otherwise the runbook's host name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Peers {
    pub orchestrator: Option<String>,
    pub specialists: Option<String>,
    pub conversation: Option<String>,
    pub learning: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            database_url: None,
            redis_url: None,
            db_pool_size: 10,
            data_dir: PathBuf::from("qa-agent-data"),
            models_dir: None,
            encoder_dir: None,
            bind: IpAddr::from([127, 0, 0, 1]),
            ports: Ports::default(),
            peers: Peers::default(),
            peer_timeout_ms: 2000,
            shutdown_grace_secs: 25,
            log_format: LogFormat::Text,
            log_dir: None,
            tls_cert: None,
            tls_key: None,
            tls_ca: None,
            tls_reload_secs: 30,
            trusted_networks: vec!["127.0.0.0/8".into(), "::1/128".into()],
            bootstrap_key: None,
            workspace_roots: Vec::new(),
            max_upload_bytes: 64 << 20,
            workers: 2,
            job_lease_secs: 30,
            reasoning_concurrency: 8,
            reasoning_queue: 64,
            reasoning_max_steps: 24,
            reasoning_timeout_secs: 120,
            session_ttl_secs: 3600,
            ws_idle_secs: 300,
            turns_per_user: 4,
            ws_max_frame_bytes: 65536,
            llm_provider: "offline".into(),
            llm_base_url: None,
            llm_model: None,
            llm_api_key: None,
            llm_timeout_secs: 60,
            llm_token_budget: 50_000,
            llm_cost_budget_usd: 0.0,
            llm_usd_per_million_input: 0.0,
            llm_usd_per_million_output: 0.0,
        }
    }
}

impl ServerConfig {
    /// The language model provider, or `None` for the offline planner.
    pub fn llm(&self) -> Option<qa_llm::ProviderConfig> {
        if self.llm_provider == "offline" {
            return None;
        }
        let default_url = match self.llm_provider.as_str() {
            "anthropic" => "https://api.anthropic.com",
            _ => "https://api.openai.com/v1",
        };
        Some(qa_llm::ProviderConfig {
            kind: self.llm_provider.clone(),
            base_url: self
                .llm_base_url
                .clone()
                .unwrap_or_else(|| default_url.into()),
            model: self.llm_model.clone().unwrap_or_default(),
            api_key: self.llm_api_key.clone(),
            timeout: std::time::Duration::from_secs(self.llm_timeout_secs),
            max_retries: 2,
            token_budget: self.llm_token_budget,
            cost_budget_usd: self.llm_cost_budget_usd,
            usd_per_million_input: self.llm_usd_per_million_input,
            usd_per_million_output: self.llm_usd_per_million_output,
        })
    }
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            orchestrator: 8000,
            specialists: 8001,
            conversation: 8080,
            conversation_ops: 8081,
            learning: 8002,
        }
    }
}

impl Ports {
    /// Every listener: its service, role (`api`, or `ops` for the conversation
    /// manager's health/metrics port), setting key and port, in a fixed order.
    pub fn all(&self) -> [(ServiceKind, &'static str, &'static str, u16); 5] {
        use ServiceKind::*;
        [
            (Orchestrator, "api", "ports.orchestrator", self.orchestrator),
            (Specialists, "api", "ports.specialists", self.specialists),
            (Conversation, "api", "ports.conversation", self.conversation),
            (
                Conversation,
                "ops",
                "ports.conversation_ops",
                self.conversation_ops,
            ),
            (Learning, "api", "ports.learning", self.learning),
        ]
    }
}

impl Peers {
    pub fn get(&self, kind: ServiceKind) -> Option<&str> {
        match kind {
            ServiceKind::Orchestrator => self.orchestrator.as_deref(),
            ServiceKind::Specialists => self.specialists.as_deref(),
            ServiceKind::Conversation => self.conversation.as_deref(),
            ServiceKind::Learning => self.learning.as_deref(),
        }
    }

    pub fn set(&mut self, kind: ServiceKind, url: String) {
        let slot = match kind {
            ServiceKind::Orchestrator => &mut self.orchestrator,
            ServiceKind::Specialists => &mut self.specialists,
            ServiceKind::Conversation => &mut self.conversation,
            ServiceKind::Learning => &mut self.learning,
        };
        *slot = Some(url);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist (check --config / QA_AGENT_CONFIG)")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl ServerConfig {
    /// Where the learning engine materialises what it learned (`models_dir`, else
    /// `data_dir/models`).
    pub fn models_dir(&self) -> PathBuf {
        self.models_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models"))
    }

    /// Where the sentence encoder's files are (`encoder_dir`, else
    /// `data_dir/encoder/all-MiniLM-L6-v2`, where scripts/fetch-model.sh puts them).
    pub fn encoder_dir(&self) -> PathBuf {
        self.encoder_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("encoder").join(qa_embed::MODEL_NAME))
    }

    pub fn peer_timeout(&self) -> Duration {
        Duration::from_millis(self.peer_timeout_ms)
    }

    /// The parsed `trusted_networks`; a bare address is a network of one.
    pub fn trusted_networks(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_networks
            .iter()
            .map(|n| {
                n.parse::<ipnet::IpNet>()
                    .or_else(|_| n.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        ConfigError::Invalid(format!(
                            "`trusted_networks` (QA_AGENT_TRUSTED_NETWORKS) has `{n}`: expected a network such as 10.0.0.0/8 or an address"
                        ))
                    })
            })
            .collect()
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Loads the configuration: `explicit` (which must exist), else `./qa-agent.toml` when
    /// present; only its `[server]` table is read. Then the environment.
    pub fn load(explicit: Option<&Path>) -> Result<ServerConfig, ConfigError> {
        let file = match explicit {
            Some(p) if !p.is_file() => return Err(ConfigError::MissingFile(p.to_path_buf())),
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from("qa-agent.toml")).filter(|p| p.is_file()),
        };
        Self::load_from(file.as_deref(), |name| std::env::var(name).ok())
    }

    /// As [`ServerConfig::load`], with the file given and the environment read through
    /// `env` (tests pass a map).
    pub fn load_from(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ServerConfig, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(ServerConfig::default()));
        if let Some(path) = file {
            figment = figment.merge(Figment::from(Toml::file_exact(path)).focus("server"));
        }
        // Each listed variable under its dotted key (figment nests on the dots).
        let mut vars = Vec::new();
        for (key, var, _) in SETTINGS {
            if let Some(value) = env(var) {
                vars.push((*key, value));
            }
        }
        for (key, value) in &vars {
            let value = if LIST_SETTINGS.contains(key) {
                figment::value::Value::from(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect::<Vec<_>>(),
                )
            } else {
                parse_env_value(value)
            };
            figment = figment.merge(Serialized::global(key, value));
        }
        let config: ServerConfig = figment.extract().map_err(|e| {
            let key = e.path.join(".");
            let source = match SETTINGS.iter().find(|(k, _, _)| *k == key) {
                Some((_, var, _)) if vars.iter().any(|(k, _)| *k == key) => {
                    format!("environment variable {var}")
                }
                Some((_, var, _)) => {
                    format!("`{key}` in the [server] table (or environment variable {var})")
                }
                None if key.is_empty() => "the [server] table".to_string(),
                None => format!("`{key}` in the [server] table"),
            };
            ConfigError::Invalid(format!("{source}: {}", e.kind))
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let ports = self.ports.all();
        for (i, (_, _, key, port)) in ports.iter().enumerate() {
            if *port == 0 {
                continue;
            }
            if let Some((_, _, other, _)) = ports[..i].iter().find(|(_, _, _, p)| p == port) {
                return Err(ConfigError::Invalid(format!(
                    "`{key}` and `{other}` are both {port}: every listener needs its own port"
                )));
            }
        }
        for kind in ServiceKind::ALL {
            if let Some(url) = self.peers.get(kind)
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(ConfigError::Invalid(format!(
                    "`peers.{}` is `{url}`: expected an http:// or https:// URL",
                    kind.short()
                )));
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "set both `tls_cert` and `tls_key` (QA_AGENT_TLS_CERT, QA_AGENT_TLS_KEY), or neither".into(),
            ));
        }
        if !(1..=86_400).contains(&self.tls_reload_secs) {
            return Err(ConfigError::Invalid(format!(
                "`tls_reload_secs` (QA_AGENT_TLS_RELOAD_SECS) is {}: between 1 and 86400",
                self.tls_reload_secs
            )));
        }
        if self.db_pool_size == 0 {
            return Err(ConfigError::Invalid(
                "`db_pool_size` (DB_POOL_SIZE) is 0: at least 1".into(),
            ));
        }
        self.trusted_networks()?;
        if let Some(key) = &self.bootstrap_key
            && key.trim().len() < 20
        {
            return Err(ConfigError::Invalid(
                "`bootstrap_key` (QA_AGENT_BOOTSTRAP_KEY) is shorter than 20 characters: use a long random key (e.g. `openssl rand -hex 32`)".into(),
            ));
        }
        if !(2..=3600).contains(&self.job_lease_secs) {
            return Err(ConfigError::Invalid(format!(
                "`job_lease_secs` (QA_AGENT_JOB_LEASE_SECS) is {}: between 2 and 3600",
                self.job_lease_secs
            )));
        }
        match self.llm_provider.as_str() {
            "offline" => {}
            "openai" | "anthropic" => {
                if self
                    .llm_model
                    .as_deref()
                    .is_none_or(|m| m.trim().is_empty())
                {
                    return Err(ConfigError::Invalid(format!(
                        "`llm_provider` is `{}` but `llm_model` (QA_AGENT_LLM_MODEL) is not set: name the model to ask",
                        self.llm_provider
                    )));
                }
            }
            other => {
                return Err(ConfigError::Invalid(format!(
                    "`llm_provider` (QA_AGENT_LLM_PROVIDER) is `{other}`: offline, openai or anthropic"
                )));
            }
        }
        if !(1024..=16 << 20).contains(&self.ws_max_frame_bytes) {
            return Err(ConfigError::Invalid(format!(
                "`ws_max_frame_bytes` (QA_AGENT_WS_MAX_FRAME_BYTES) is {}: between 1024 and 16777216",
                self.ws_max_frame_bytes
            )));
        }
        if !(1..=100).contains(&self.turns_per_user) {
            return Err(ConfigError::Invalid(format!(
                "`turns_per_user` (QA_AGENT_TURNS_PER_USER) is {}: between 1 and 100",
                self.turns_per_user
            )));
        }
        if self.ws_idle_secs < 10 || self.session_ttl_secs < 60 {
            return Err(ConfigError::Invalid(
                "`ws_idle_secs` is at least 10 and `session_ttl_secs` at least 60".into(),
            ));
        }
        if !(1..=3600).contains(&self.llm_timeout_secs) {
            return Err(ConfigError::Invalid(format!(
                "`llm_timeout_secs` (QA_AGENT_LLM_TIMEOUT_SECS) is {}: between 1 and 3600",
                self.llm_timeout_secs
            )));
        }
        if !(1..=256).contains(&self.reasoning_concurrency) {
            return Err(ConfigError::Invalid(format!(
                "`reasoning_concurrency` (QA_AGENT_REASONING_CONCURRENCY) is {}: between 1 and 256",
                self.reasoning_concurrency
            )));
        }
        if !(4..=200).contains(&self.reasoning_max_steps) {
            return Err(ConfigError::Invalid(format!(
                "`reasoning_max_steps` (QA_AGENT_REASONING_MAX_STEPS) is {}: between 4 and 200",
                self.reasoning_max_steps
            )));
        }
        if !(1..=3600).contains(&self.reasoning_timeout_secs) {
            return Err(ConfigError::Invalid(format!(
                "`reasoning_timeout_secs` (QA_AGENT_REASONING_TIMEOUT_SECS) is {}: between 1 and 3600",
                self.reasoning_timeout_secs
            )));
        }
        if self.workers > 64 {
            return Err(ConfigError::Invalid(format!(
                "`workers` (QA_AGENT_WORKERS) is {}: at most 64",
                self.workers
            )));
        }
        if self.shutdown_grace_secs > 600 {
            return Err(ConfigError::Invalid(format!(
                "`shutdown_grace_secs` is {}: at most 600",
                self.shutdown_grace_secs
            )));
        }
        Ok(())
    }
}

/// Settings that hold a list: their environment variable is comma-separated.
const LIST_SETTINGS: &[&str] = &["trusted_networks", "workspace_roots"];

/// An environment value as TOML would read it (`8000` a number, `json` a string), so
/// numbers and strings from the environment deserialise like the file's.
fn parse_env_value(raw: &str) -> figment::value::Value {
    raw.parse::<i64>()
        .map(figment::value::Value::from)
        .unwrap_or_else(|_| figment::value::Value::from(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn every_setting_is_documented() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/configuration.md"
        ))
        .unwrap();
        for (key, var, _) in SETTINGS {
            assert!(
                doc.contains(&format!("| `{key}` | `{var}` |")),
                "docs/configuration.md lacks `{key}` / {var}"
            );
        }
    }

    #[test]
    fn defaults_are_the_runbook_ports() {
        let c = ServerConfig::load_from(None, env(&[])).unwrap();
        assert_eq!(c.ports, Ports::default());
        assert_eq!(c.ports.orchestrator, 8000);
        assert_eq!(c.ports.conversation_ops, 8081);
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("qa-agent.toml");
        std::fs::write(
            &file,
            "[analysis]\nmax_file_size = 10\n[server]\nshutdown_grace_secs = 5\n[server.ports]\nlearning = 9002\nspecialists = 9001\n",
        )
        .unwrap();
        let c = ServerConfig::load_from(
            Some(&file),
            env(&[
                ("QA_AGENT_SPECIALISTS_PORT", "7001"),
                ("QA_AGENT_LOG_FORMAT", "json"),
                ("QA_AGENT_TEST_DATABASE_URL", "postgres://ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.ports.learning, 9002);
        assert_eq!(c.ports.specialists, 7001);
        assert_eq!(c.ports.orchestrator, 8000);
        assert_eq!(c.shutdown_grace_secs, 5);
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn errors_name_the_bad_setting() {
        let e = ServerConfig::load_from(None, env(&[("QA_AGENT_ORCHESTRATOR_PORT", "abc")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("QA_AGENT_ORCHESTRATOR_PORT"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("qa-agent.toml");
        std::fs::write(&file, "[server]\nport = 1\n").unwrap();
        let e = ServerConfig::load_from(Some(&file), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("port"), "{e}");

        let e = ServerConfig::load_from(None, env(&[("QA_AGENT_LEARNING_PORT", "8000")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ports.learning") && e.contains("ports.orchestrator"),
            "{e}"
        );

        let e = ServerConfig::load_from(None, env(&[("QA_AGENT_LEARNING_URL", "learning:8002")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("peers.learning"), "{e}");
    }
}
