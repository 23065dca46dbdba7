//! Runs untrusted code (generated tests, the code under test, its mutants) under limits.
//!
//! Two modes, probed once at start ([`Sandbox::detect`]):
//! - [`Mode::Bubblewrap`]: `bwrap` with every namespace unshared (no network, only `lo`), the
//!   system mounted read-only, a private `/tmp` and the work directory bound at [`WORK_DIR`];
//! - [`Mode::Rlimits`]: when user namespaces are refused (many containers), the same limits
//!   without the namespaces; the network stays reachable and the system is protected only by file
//!   permissions, which [`SandboxInfo`] says.
//!
//! In both, resource limits are set by util-linux's `prlimit` just before the command (inside the
//! namespaces, so the process count is per sandbox), the command leads its own process group,
//! which a wall-clock timeout kills whole, and output is capped. Where the cgroup filesystem is
//! writable, each run also gets its own pids cgroup: the kernel exempts root from the process
//! rlimit, and the cgroup also catches processes that leave the process group.

mod cgroup;
mod probe;
mod run;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use run::{Outcome, Status};

/// Where the work directory appears inside a bubblewrap sandbox. In rlimits mode the command
/// runs in the work directory itself; either way, paths relative to the working directory work.
pub const WORK_DIR: &str = "/tmp/work";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Bubblewrap,
    Rlimits,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Bubblewrap => "bubblewrap",
            Mode::Rlimits => "rlimits",
        })
    }
}

/// Limits on one run. The defaults suit one pytest process over a small module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// CPU time (RLIMIT_CPU); the process is killed when it is used up.
    pub cpu: Duration,
    /// Address space in bytes (RLIMIT_AS): an allocation beyond it fails (`MemoryError`).
    pub memory: u64,
    /// Processes and threads (RLIMIT_NPROC): a fork bomb gets `EAGAIN`.
    pub processes: u32,
    /// Largest file the command may write (RLIMIT_FSIZE).
    pub file_size: u64,
    /// Open file descriptors (RLIMIT_NOFILE).
    pub open_files: u32,
    /// Wall-clock time, after which the whole process group is killed.
    pub wall: Duration,
    /// Bytes kept of stdout and of stderr each; the rest is read and dropped.
    pub output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu: Duration::from_secs(60),
            memory: 1 << 30,
            processes: 64,
            file_size: 64 << 20,
            open_files: 256,
            wall: Duration::from_secs(60),
            output: 1 << 20,
        }
    }
}

/// One command to run in a sandbox.
#[derive(Debug, Clone)]
pub struct Command {
    pub program: String,
    pub args: Vec<String>,
    /// The environment is cleared; these are added to `PATH`, `HOME`, `LANG` and `TMPDIR`.
    pub env: Vec<(String, String)>,
    /// The private writable directory (must exist). Everything else is read-only or hidden.
    pub work_dir: PathBuf,
    /// Host paths the command must read at the same path, also when they are under `/tmp`
    /// (which bubblewrap replaces with a private one).
    pub read_only: Vec<PathBuf>,
    pub limits: Limits,
}

impl Command {
    pub fn new(program: impl Into<String>, work_dir: impl Into<PathBuf>) -> Command {
        Command {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            work_dir: work_dir.into(),
            read_only: Vec::new(),
            limits: Limits::default(),
        }
    }

    pub fn read_only(mut self, path: impl Into<PathBuf>) -> Command {
        self.read_only.push(path.into());
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Command {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Command {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Command {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn limits(mut self, limits: Limits) -> Command {
        self.limits = limits;
        self
    }
}

/// What a sandbox protects against, for `/health/detailed` and `qa-agent doctor`.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxInfo {
    pub mode: Mode,
    pub network_isolated: bool,
    pub read_only_system: bool,
    /// The host user id the sandboxed commands run as.
    pub runs_as_uid: u32,
    /// What caps the number of processes: `cgroup_v1`, `cgroup_v2` or `rlimit`.
    pub process_limit: &'static str,
    /// Why bubblewrap is not in use, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "`prlimit` was not found on PATH, so no resource limit can be set; install util-linux \
         (Debian: `apt-get install util-linux`)"
    )]
    NoPrlimit,
    #[error("bubblewrap was requested but cannot run here: {0}")]
    BubblewrapUnavailable(String),
    #[error("the work directory {0} does not exist or is not a directory")]
    NoWorkDir(PathBuf),
    #[error("could not prepare the work directory {path}: {source}")]
    WorkDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not start `{program}` in the sandbox: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("waiting for the sandboxed command failed: {0}")]
    Wait(std::io::Error),
}

/// A probed sandbox; cheap to clone and to share between threads.
#[derive(Debug, Clone)]
pub struct Sandbox {
    mode: Mode,
    bwrap: Option<PathBuf>,
    prlimit: PathBuf,
    cgroups: Option<cgroup::PidsCgroups>,
    fallback_reason: Option<String>,
}

impl Sandbox {
    /// Bubblewrap when it works here, otherwise rlimits only (with the reason kept).
    pub fn detect() -> Result<Sandbox, SandboxError> {
        probe::detect(None)
    }

    /// A sandbox of the given mode; an error when that mode cannot run here.
    pub fn with_mode(mode: Mode) -> Result<Sandbox, SandboxError> {
        probe::detect(Some(mode))
    }

    /// Reads `QA_AGENT_SANDBOX` (`auto`, `bubblewrap`, `rlimits`), as the services and CLI do.
    pub fn from_env() -> Result<Sandbox, SandboxError> {
        match std::env::var("QA_AGENT_SANDBOX").ok().as_deref() {
            Some("bubblewrap") => Sandbox::with_mode(Mode::Bubblewrap),
            Some("rlimits") => Sandbox::with_mode(Mode::Rlimits),
            _ => Sandbox::detect(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn info(&self) -> SandboxInfo {
        SandboxInfo {
            mode: self.mode,
            network_isolated: self.mode == Mode::Bubblewrap,
            read_only_system: self.mode == Mode::Bubblewrap,
            runs_as_uid: rustix::process::getuid().as_raw(),
            process_limit: match self.cgroups.as_ref().map(|c| c.version) {
                Some(cgroup::Version::V1) => "cgroup_v1",
                Some(cgroup::Version::V2) => "cgroup_v2",
                None => "rlimit",
            },
            fallback_reason: self.fallback_reason.clone(),
        }
    }

    /// Where `path`, inside the host directory `work_dir`, appears to the sandboxed command.
    pub fn path_inside(&self, work_dir: &std::path::Path, path: &std::path::Path) -> PathBuf {
        let work_dir = work_dir
            .canonicalize()
            .unwrap_or_else(|_| work_dir.to_path_buf());
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        match (self.mode, path.strip_prefix(&work_dir)) {
            (Mode::Bubblewrap, Ok(rel)) => std::path::Path::new(WORK_DIR).join(rel),
            _ => path,
        }
    }

    /// Runs `command` to its end, a limit, or its wall-clock timeout.
    pub fn run(&self, command: &Command) -> Result<Outcome, SandboxError> {
        let outcome = run::run(self, command)?;
        count_limit_hit(&outcome, &command.limits);
        Ok(outcome)
    }
}

/// The limits a run can be stopped by, as `sandbox_limit_hits_total{limit}` names them.
pub const LIMITS: [&str; 4] = ["wall", "cpu", "file_size", "output"];

static LIMIT_HITS: [std::sync::atomic::AtomicU64; 4] = [
    std::sync::atomic::AtomicU64::new(0),
    std::sync::atomic::AtomicU64::new(0),
    std::sync::atomic::AtomicU64::new(0),
    std::sync::atomic::AtomicU64::new(0),
];

/// Runs a limit stopped (or cut, for output) since this process started, by limit in
/// the order of [`LIMITS`]. Wall and CPU hits are routine (generated code that loops);
/// file-size hits mean code tried to fill the disk.
pub fn limit_hits() -> [u64; 4] {
    LIMIT_HITS
        .each_ref()
        .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
}

fn count_limit_hit(outcome: &Outcome, limits: &Limits) {
    let which = match outcome.status {
        Status::TimedOut => Some(0),
        Status::Signalled(24) | Status::Signalled(9) if outcome.wall >= limits.cpu => Some(1),
        Status::Signalled(25) => Some(2),
        _ => None,
    };
    for i in which.into_iter().chain(outcome.truncated.then_some(3)) {
        LIMIT_HITS[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}
