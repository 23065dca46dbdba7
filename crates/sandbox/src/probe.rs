//! Finding out which sandbox mode works on this host.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::{Mode, Sandbox, SandboxError};

pub(crate) fn detect(wanted: Option<Mode>) -> Result<Sandbox, SandboxError> {
    let prlimit = which("prlimit").ok_or(SandboxError::NoPrlimit)?;
    let cgroups = crate::cgroup::PidsCgroups::detect();
    let bwrap = match wanted {
        Some(Mode::Rlimits) => Err("rlimits mode was requested".to_owned()),
        _ => probe_bwrap(),
    };
    match (bwrap, wanted) {
        (Ok(path), _) => Ok(Sandbox {
            mode: Mode::Bubblewrap,
            bwrap: Some(path),
            prlimit,
            cgroups,
            fallback_reason: None,
        }),
        (Err(why), Some(Mode::Bubblewrap)) => Err(SandboxError::BubblewrapUnavailable(why)),
        (Err(why), _) => Ok(Sandbox {
            mode: Mode::Rlimits,
            bwrap: None,
            prlimit,
            cgroups,
            fallback_reason: Some(why),
        }),
    }
}

/// Runs `bwrap … true` with the options real runs use: user namespaces are often refused
/// (Docker's default seccomp profile, many Kubernetes pods), and only trying tells.
fn probe_bwrap() -> Result<PathBuf, String> {
    let path = which("bwrap").ok_or_else(|| {
        "bubblewrap is not installed (Debian: `apt-get install bubblewrap`)".to_owned()
    })?;
    let mut probe = std::process::Command::new(&path);
    probe
        .args(crate::run::bwrap_args(Path::new("/")))
        .arg("true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let output = probe
        .output()
        .map_err(|e| format!("could not run {}: {e}", path.display()))?;
    if output.status.success() {
        Ok(path)
    } else {
        Err(format!(
            "bubblewrap cannot create its namespaces here ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
