//! Command-line arguments. Each option is defined once, with its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use qa_core::Severity;

#[derive(Debug, Parser)]
#[command(
    name = "qa-agent",
    version,
    about = "An AI QA engineer for codebases: analysis, findings, test gaps.",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse a directory or file: metrics, findings and test gaps.
    Analyze(AnalyzeArgs),
    /// List the rules, or explain one.
    Rules(RulesArgs),
    /// Print the JSON Schema of the `--format json` report.
    Schema,
    /// Run the services: all four in one process, or the one named (as Kubernetes does).
    Serve(ServeArgs),
    /// Apply the database migrations (PostgreSQL from DATABASE_URL, else the embedded
    /// SQLite file in QA_AGENT_DATA_DIR).
    Migrate(MigrateArgs),
    /// Ask a question about a repository; the reasoning steps stream as they happen,
    /// then the answer (with file:line evidence) is printed.
    Ask(AskArgs),
    /// Chat in the terminal: each line is a question, the steps stream, then the answer
    /// (the conversation manager's WebSocket protocol).
    Chat(ChatArgs),
    /// Generate unit tests for Python, JavaScript or Rust code, run them in the sandbox,
    /// and keep only those that pass every time, check a produced value and add coverage
    /// or kill a mutant.
    Generate(GenerateArgs),
    /// Score a test suite by mutation testing: small faults put into a module, and how many
    /// the tests catch, per function.
    Mutate(MutateArgs),
    /// Feedback to the learning engine: dismiss or confirm a finding, rate an answer,
    /// correct what a question meant, undo feedback, show what was learned.
    Feedback(FeedbackArgs),
    /// Back up the database (pg_dump custom format, or an online copy of the SQLite
    /// file), Redis' keys, the learned models and the configuration into a new
    /// `qa-agent-<UTC time>` directory under DIR, with a manifest of row counts and
    /// checksums.
    Backup(BackupArgs),
    /// Check that a backup is complete and restorable: every file's size and checksum,
    /// then a restore into a scratch database whose row counts must match the manifest.
    /// Exit code 1 when it is not.
    VerifyBackup(VerifyBackupArgs),
    /// Restore a backup over the configured database, Redis and models directory (stop
    /// the services first on the embedded database). Checks the backup before touching
    /// anything.
    Restore(RestoreArgs),
    /// Run the runbook's checks against a deployment (each service's health, the
    /// database, Redis, authentication, the alert thresholds one scrape can judge, the
    /// sandbox, disk, backups) and print P0/P1/P2 problems with the runbook's action.
    /// Exit code: 0 healthy, 1 worst is P2, 3 P1, 4 P0 (2: usage error).
    Doctor(DoctorArgs),
    /// Measure each service's load over an interval (traffic, errors, latency, CPU and
    /// memory of their limits, database pool, reasoning queue) and advise on headroom;
    /// `--save` keeps it as a performance baseline, `--compare` flags regressions.
    Capacity(CapacityArgs),
    /// Check a certificate and key before installing them, or see which certificate a
    /// service serves (what `scripts/renew_certificates.sh` uses).
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Administer tenants, users and API keys, and read-only mode, directly in the
    /// database (works while the services are down).
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a tenant (an isolated set of users, repositories and analyses).
    CreateTenant {
        name: String,
        #[command(flatten)]
        db: MigrateArgs,
    },
    /// Create a user in a tenant.
    CreateUser {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// `admin` or `member`.
        #[arg(long, default_value = "member")]
        role: String,
        #[command(flatten)]
        db: MigrateArgs,
    },
    /// Create an API key for a user; the key is printed once and only its hash is kept.
    CreateKey {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[command(flatten)]
        db: MigrateArgs,
    },
    /// Revoke an API key, given its prefix (as `list-keys` shows it) or the whole key.
    RevokeKey {
        key: String,
        #[command(flatten)]
        db: MigrateArgs,
    },
    /// List API keys (prefixes only) of a tenant, or of every tenant.
    ListKeys {
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        db: MigrateArgs,
    },
    /// The weekly report: usage, answer quality and time, learning and operator
    /// interventions of the last DAYS days, next to the DAYS before, from the database.
    Report {
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// The report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: MigrateArgs,
    },
    /// Turn read-only mode on or off: every write through the API answers 503 while it is on.
    ReadOnly {
        #[arg(value_parser = ["on", "off"])]
        state: String,
        #[command(flatten)]
        db: MigrateArgs,
    },
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Configuration file whose `[server]` table is read (default: ./qa-agent.toml if
    /// present). Environment variables override it.
    #[arg(long, env = "QA_AGENT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question, in plain words ("what should I test first?").
    pub question: String,
    /// The repository to ask about (a directory). Embedded mode analyses it here; with
    /// `--server` it is a path on the server, under its QA_AGENT_WORKSPACE_ROOTS.
    #[arg(long, value_name = "DIR")]
    pub path: Option<String>,
    /// Answer from an existing analysis instead of `--path`.
    #[arg(long, value_name = "ID", conflicts_with = "path")]
    pub analysis: Option<i64>,
    /// Ask this specialist (repeat for several): test-architect, code-reviewer,
    /// performance-analyst, security-specialist.
    #[arg(long = "specialist", value_name = "NAME")]
    pub specialists: Vec<String>,
    /// How several specialists work together: sequential, parallel or consensus.
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,
    /// Print the whole answer (steps, evidence, quality) as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Where `ask` and `chat` find the services.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// A running service to talk to: the orchestrator for `ask` (e.g.
    /// http://agent-orchestrator:8000), the conversation manager for `chat` (e.g.
    /// http://conversation-manager:8080). Without it the services run inside this
    /// process on the embedded database.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The API key for `--server`.
    #[arg(
        long,
        env = "QA_AGENT_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,
    /// Configuration file for embedded mode (as `serve` reads it).
    #[arg(long, env = "QA_AGENT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FeedbackArgs {
    #[command(subcommand)]
    pub action: FeedbackAction,
    /// `--server` is the learning engine here (e.g. http://learning-engine:8002).
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Subcommand)]
pub enum FeedbackAction {
    /// A finding is not worth reporting: it is left out from now on in its repository.
    Dismiss {
        /// The finding's id (from the findings list of an analysis).
        finding: i64,
        /// false_positive, wont_fix or test_code.
        #[arg(long, default_value = "false_positive")]
        reason: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// A finding is real (its rule's precision goes up; a dismissal of it is undone).
    Confirm { finding: i64 },
    /// Rate an answer, 1 to 5.
    Rate {
        /// The answer's task id.
        task: i64,
        #[arg(value_parser = clap::value_parser!(u8).range(1..=5))]
        rating: u8,
    },
    /// Say what a question meant, so it is understood next time.
    Correct {
        /// The answer's task id.
        task: i64,
        /// The intent meant: risk, security, performance, review, testing, write_tests,
        /// explain_rule, function, search, compare, capabilities.
        #[arg(long)]
        intent: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Undo a piece of your feedback.
    Undo { feedback: i64 },
    /// What was learned for your tenant, and why.
    State,
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The repository the questions are about (as for `ask`); `/path DIR` changes it.
    #[arg(long, value_name = "DIR")]
    pub path: Option<String>,
    /// Resume this conversation instead of starting one.
    #[arg(long, value_name = "ID")]
    pub conversation: Option<i64>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The one service to run: orchestrator (:8000), specialists (:8001), conversation
    /// (:8080 and :8081), learning (:8002). All four when omitted.
    #[arg(value_parser = clap::value_parser!(qa_server::ServiceKind))]
    pub service: Option<qa_server::ServiceKind>,

    /// Configuration file whose `[server]` table is read (default: ./qa-agent.toml if
    /// present). Environment variables override it; see docs/configuration.md.
    #[arg(long, env = "QA_AGENT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A Python file, or a directory whose non-test modules are each generated for.
    pub path: PathBuf,

    /// Only this function (`name`, `Class.method`) or class.
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,

    /// Wall-clock budget per module in seconds, mutation scoring included.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub budget: u64,

    /// JavaScript test runner to prefer when the package has both Vitest and Jest
    /// (`qa-agent feedback` learns it too; Python tests are pytest).
    #[arg(long, value_parser = ["vitest", "jest", "pytest"])]
    pub framework: Option<String>,

    /// Write the test files here instead of the project's tests/ directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Report what would be kept without writing test files.
    #[arg(long)]
    pub dry_run: bool,

    /// Skip scoring the kept tests against mutants (faster).
    #[arg(long)]
    pub no_mutation: bool,

    /// Summary format.
    #[arg(long, short, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,

    /// Also write JUnit XML of the validation runs to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Seed of the input choices: the same seed gives the same tests.
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,

    /// Also ask the configured language model for tests (QA_AGENT_LLM_PROVIDER, _MODEL,
    /// _API_KEY, _BASE_URL); they are validated the same way.
    #[arg(long)]
    pub llm: bool,

    /// Rounds in which the model may fix its failing tests (with --llm).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub repair_rounds: u32,
}

#[derive(Debug, Args)]
pub struct MutateArgs {
    /// The Python module to mutate.
    pub path: PathBuf,

    /// Test files or directories to run against each mutant (inside the project).
    #[arg(long, value_name = "PATH", required = true, num_args = 1..)]
    pub tests: Vec<PathBuf>,

    /// Only mutate this function (`name`, `Class.method`) or class.
    #[arg(long, value_name = "NAME")]
    pub function: Option<String>,

    /// Stop starting mutants after this many seconds (the rest are reported as not run).
    #[arg(long, value_name = "SECONDS")]
    pub budget: Option<u64>,

    /// Parallel pytest processes (each on its own copy of the project).
    #[arg(long, short, value_name = "N", default_value_t = 2)]
    pub jobs: usize,

    /// Report format.
    #[arg(long, short, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,

    /// Exit with status 1 when the score is below this percentage.
    #[arg(long, value_name = "PERCENT")]
    pub fail_under: Option<f64>,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Directory or file to analyse.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Report format.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,

    /// Exit with status 1 when an unsuppressed finding has at least this severity.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Worker threads (default: one per core).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,

    /// Report only findings that are not in this earlier JSON or SARIF report.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Read settings from this file instead of `<PATH>/qa-agent.toml`.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore any qa-agent.toml and use the defaults.
    #[arg(long)]
    pub no_config: bool,

    /// Also analyse vendored, generated and minified files.
    #[arg(long)]
    pub all_files: bool,

    /// Skip files larger than this many bytes (default 1 MiB, or `analysis.max_file_size`).
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,

    /// When to colour the table output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,

    /// Only discover, read and parse (for benchmarks): prints files and bytes parsed.
    #[arg(long, hide = true)]
    pub parse_only: bool,
    /// Leave out the findings users dismissed in this repository: those the learning
    /// engine at URL knows (e.g. http://learning-engine:8002, with --api-key), or
    /// `embedded` for this machine's database (the `default` tenant).
    #[arg(long, value_name = "URL|embedded")]
    pub dismissals: Option<String>,
    /// The repository's name there (default: the directory's name, as the services
    /// name a submitted path).
    #[arg(long, value_name = "NAME", requires = "dismissals")]
    pub repository: Option<String>,
    /// The API key for `--dismissals URL`.
    #[arg(
        long,
        env = "QA_AGENT_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub action: Option<RulesAction>,

    /// Only rules of this family (security, performance, maintainability).
    #[arg(long)]
    pub family: Option<String>,

    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,

    /// Print every rule's documentation as one Markdown page (docs/rules.md).
    #[arg(long, hide = true, conflicts_with = "json")]
    pub markdown: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Print a rule's documentation (what it finds, why, how to fix it).
    Explain {
        /// Rule id (`SEC001`) or name.
        id: String,
    },
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
        .map_err(|e: qa_core::ParseSeverityError| e.to_string())
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Host of all four services on the runbook's ports (8000, 8001, 8081, 8002).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Orchestrator base URL (overrides --host for it).
    #[arg(long, env = "QA_AGENT_ORCHESTRATOR_URL")]
    pub orchestrator: Option<String>,
    /// Specialist service base URL.
    #[arg(long, env = "QA_AGENT_SPECIALISTS_URL")]
    pub specialists: Option<String>,
    /// Conversation manager health/metrics base URL (port 8081).
    #[arg(long, env = "QA_AGENT_CONVERSATION_URL")]
    pub conversation: Option<String>,
    /// Learning engine base URL.
    #[arg(long, env = "QA_AGENT_LEARNING_URL")]
    pub learning: Option<String>,
    /// Seconds each HTTP check may take.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
    /// The services serve HTTPS (`tls_cert` is set): use https:// on --host.
    #[arg(long)]
    pub https: bool,
    /// PEM bundle of a private CA to trust for the services' certificates.
    #[arg(long, env = "QA_AGENT_TLS_CA")]
    pub cacert: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// An API key to check that valid keys are accepted.
    #[arg(long, env = "QA_AGENT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Directory `qa-agent backup` writes to: the newest backup must be recent.
    #[arg(long)]
    pub backups: Option<PathBuf>,
    /// Hours after which the newest backup counts as stale.
    #[arg(long, default_value_t = 26)]
    pub backup_max_age_hours: u64,
    /// The report as JSON (for automation).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Seconds between the two scrapes the load is measured over.
    #[arg(long, default_value_t = 30)]
    pub interval: u64,
    /// Write the measurement as a performance baseline (JSON) to this file.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Compare with an earlier baseline; exit 1 on a regression of more than 20%.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Directory the backup is written under.
    #[arg(long)]
    pub to: PathBuf,
    #[command(flatten)]
    pub db: MigrateArgs,
    /// Print the manifest as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyBackupArgs {
    /// The `qa-agent-<time>` directory a backup wrote.
    pub dir: PathBuf,
    /// PostgreSQL server (URL) where a scratch database may be created; default
    /// DATABASE_URL.
    #[arg(long)]
    pub scratch_url: Option<String>,
    #[command(flatten)]
    pub db: MigrateArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The `qa-agent-<time>` directory a backup wrote.
    #[arg(long)]
    pub from: PathBuf,
    #[command(flatten)]
    pub db: MigrateArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Check that a PEM certificate chain and key load as the services load them, and
    /// how long the certificate is valid. Exit 1 if not usable or valid for fewer than
    /// --min-days days.
    Check {
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long, default_value_t = 0)]
        min_days: i64,
        #[arg(long)]
        json: bool,
    },
    /// Show the certificate a service serves at URL (its fingerprint and expiry).
    Served {
        /// https://HOST:PORT of a service.
        url: String,
        /// PEM bundle of a private CA to trust.
        #[arg(long, env = "QA_AGENT_TLS_CA")]
        cacert: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}
