//! Running one command: building the bwrap/prlimit command line, the timeout, capped output.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{Command, Limits, Mode, Sandbox, SandboxError, WORK_DIR};

/// How a sandboxed command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Status {
    Exited(i32),
    /// Killed by this signal: 9 after the CPU limit's hard edge, 24 (SIGXCPU) at its soft
    /// edge, 25 (SIGXFSZ) past the file-size limit.
    Signalled(i32),
    /// The wall-clock limit passed and the process group was killed.
    TimedOut,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub status: Status,
    #[serde(skip)]
    pub stdout: Vec<u8>,
    #[serde(skip)]
    pub stderr: Vec<u8>,
    /// Output beyond [`Limits::output`] was dropped.
    pub truncated: bool,
    pub wall: Duration,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.status == Status::Exited(0)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// A short account of an abnormal end, for reports ("timed out after 5 s", ...).
    pub fn describe(&self, limits: &Limits) -> String {
        match self.status {
            Status::Exited(code) => format!("exited with status {code}"),
            Status::TimedOut => format!("timed out after {:.1} s", limits.wall.as_secs_f64()),
            Status::Signalled(24) | Status::Signalled(9) if self.wall >= limits.cpu => {
                format!("used up its {:.0} s of CPU time", limits.cpu.as_secs_f64())
            }
            Status::Signalled(25) => format!(
                "wrote a file larger than the {} MiB limit",
                limits.file_size >> 20
            ),
            Status::Signalled(sig) => format!("killed by signal {sig}"),
        }
    }
}

/// bwrap's options: every namespace unshared, the system read-only, a private /tmp with the
/// work directory inside it.
pub(crate) fn bwrap_args(work_dir: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
    ]
    .map(str::to_owned)
    .to_vec();
    if work_dir != Path::new("/") {
        args.extend([
            "--bind".to_owned(),
            work_dir.display().to_string(),
            WORK_DIR.to_owned(),
            "--chdir".to_owned(),
            WORK_DIR.to_owned(),
        ]);
    }
    args
}

fn prlimit_args(limits: &Limits) -> Vec<String> {
    let cpu = limits.cpu.as_secs().max(1);
    vec![
        // The soft edge sends SIGXCPU, the hard one SIGKILL a second later.
        format!("--cpu={cpu}:{}", cpu + 1),
        format!("--as={}", limits.memory),
        format!("--nproc={}", limits.processes),
        format!("--fsize={}", limits.file_size),
        format!("--nofile={}", limits.open_files),
        "--core=0".to_owned(),
        "--".to_owned(),
    ]
}

pub(crate) fn run(sandbox: &Sandbox, command: &Command) -> Result<Outcome, SandboxError> {
    if !command.work_dir.is_dir() {
        return Err(SandboxError::NoWorkDir(command.work_dir.clone()));
    }
    let work_dir = command
        .work_dir
        .canonicalize()
        .map_err(|source| SandboxError::WorkDir {
            path: command.work_dir.clone(),
            source,
        })?;
    let limits = &command.limits;
    // With a cgroup, a shell joins it and then becomes the sandbox, so that everything the
    // run starts is counted from its first instruction.
    let cgroup = match &sandbox.cgroups {
        Some(c) => {
            Some(
                c.create(limits.processes + 4)
                    .map_err(|source| SandboxError::WorkDir {
                        path: work_dir.clone(),
                        source,
                    })?,
            )
        }
        None => None,
    };
    let launcher = |program: &Path| {
        let mut process;
        if let Some(cg) = &cgroup {
            process = std::process::Command::new("/bin/sh");
            process
                .args(["-c", "echo $$ > \"$0\" && exec \"$@\""])
                .arg(cg.procs())
                .arg(program);
        } else {
            process = std::process::Command::new(program);
        }
        process
    };
    let (mut process, inner_home) = match (sandbox.mode, &sandbox.bwrap) {
        (Mode::Bubblewrap, Some(bwrap)) => {
            let mut process = launcher(bwrap);
            process.args(bwrap_args(&work_dir));
            for path in &command.read_only {
                if let Ok(path) = path.canonicalize() {
                    process.arg("--ro-bind").arg(&path).arg(&path);
                }
            }
            process.arg(&sandbox.prlimit);
            (process, WORK_DIR.to_owned())
        }
        _ => {
            let mut process = launcher(&sandbox.prlimit);
            process.current_dir(&work_dir);
            (process, work_dir.display().to_string())
        }
    };
    process
        .args(prlimit_args(limits))
        .arg(&command.program)
        .args(&command.args)
        .env_clear()
        .env("PATH", host_path())
        .env("HOME", &inner_home)
        .env(
            "TMPDIR",
            if sandbox.mode == Mode::Bubblewrap {
                "/tmp".to_owned()
            } else {
                inner_home.clone()
            },
        )
        .env("LANG", "C.UTF-8")
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so the timeout can kill everything it started.
        .process_group(0);

    let started = Instant::now();
    let mut child = process.spawn().map_err(|source| SandboxError::Spawn {
        program: command.program.clone(),
        source,
    })?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let stdout = child
        .stdout
        .take()
        .map(|s| capped_reader(s, limits.output, 0, tx.clone()));
    let stderr = child
        .stderr
        .take()
        .map(|s| capped_reader(s, limits.output, 1, tx));

    let status = loop {
        if let Some(status) = child.try_wait().map_err(SandboxError::Wait)? {
            break Some(status);
        }
        if started.elapsed() >= limits.wall {
            kill_group(pid);
            if let Some(cg) = &cgroup {
                cg.kill_all();
            }
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(poll_interval(started.elapsed()));
    };
    let wall = started.elapsed();

    // Children that outlive the command keep the pipes open: give them a moment, then kill
    // them (their output so far is kept).
    let mut out = (Vec::new(), Vec::new());
    let mut truncated = false;
    let mut waiting = usize::from(stdout.is_some()) + usize::from(stderr.is_some());
    let mut deadline = Instant::now() + Duration::from_millis(500);
    let mut killed = false;
    while waiting > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((which, bytes, cut)) => {
                waiting -= 1;
                truncated |= cut;
                if which == 0 {
                    out.0 = bytes;
                } else {
                    out.1 = bytes;
                }
            }
            Err(_) if !killed => {
                killed = true;
                kill_group(pid);
                if let Some(cg) = &cgroup {
                    cg.kill_all();
                }
                deadline = Instant::now() + Duration::from_secs(2);
            }
            Err(_) => break,
        }
    }

    let status = match status {
        None => Status::TimedOut,
        Some(status) => match (status.code(), status.signal()) {
            // bwrap reports a signalled child as 128 + the signal.
            (Some(code), _) if sandbox.mode == Mode::Bubblewrap && code > 128 && code < 160 => {
                Status::Signalled(code - 128)
            }
            (Some(code), _) => Status::Exited(code),
            (None, Some(signal)) => Status::Signalled(signal),
            (None, None) => Status::Signalled(0),
        },
    };
    Ok(Outcome {
        status,
        stdout: out.0,
        stderr: out.1,
        truncated,
        wall,
    })
}

/// Short polls first: most runs are quick, and the wait is part of every test run's latency.
fn poll_interval(elapsed: Duration) -> Duration {
    if elapsed < Duration::from_millis(100) {
        Duration::from_millis(2)
    } else {
        Duration::from_millis(20)
    }
}

type Chunk = (u8, Vec<u8>, bool);

fn capped_reader<R: Read + Send + 'static>(
    mut source: R,
    cap: usize,
    which: u8,
    tx: mpsc::Sender<Chunk>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut truncated = false;
        let mut buf = [0u8; 16 * 1024];
        loop {
            match source.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                    truncated |= n > room;
                }
            }
        }
        let _ = tx.send((which, kept, truncated));
    })
}

fn kill_group(pid: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// The host's PATH, so the interpreters the caller found are found inside too.
fn host_path() -> String {
    std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned())
}
