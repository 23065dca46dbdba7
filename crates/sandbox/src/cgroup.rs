//! A pids cgroup per run, when the cgroup filesystem is writable (root, or a delegated
//! subtree). It caps processes where RLIMIT_NPROC cannot: the kernel exempts root from that
//! limit, also inside a user namespace root created.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Version {
    V1,
    V2,
}

/// Where this process may create per-run pids cgroups.
#[derive(Debug, Clone)]
pub struct PidsCgroups {
    pub version: Version,
    parent: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl PidsCgroups {
    pub fn detect() -> Option<PidsCgroups> {
        let root = Path::new("/sys/fs/cgroup");
        let v1 = root.join("pids");
        if v1.join("cgroup.procs").is_file() {
            let parent = v1.join("qa-sandbox");
            if std::fs::create_dir_all(&parent).is_ok() && parent.join("pids.max").is_file() {
                return Some(PidsCgroups {
                    version: Version::V1,
                    parent,
                });
            }
        }
        let controllers = std::fs::read_to_string(root.join("cgroup.controllers")).ok()?;
        if !controllers.split_whitespace().any(|c| c == "pids") {
            return None;
        }
        let parent = root.join("qa-sandbox");
        std::fs::create_dir_all(&parent).ok()?;
        std::fs::write(parent.join("cgroup.subtree_control"), "+pids").ok()?;
        parent.join("pids.max").is_file().then_some(PidsCgroups {
            version: Version::V2,
            parent,
        })
    }

    /// A fresh cgroup allowing `max` processes; removed when dropped.
    pub fn create(&self, max: u32) -> std::io::Result<RunCgroup> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = self.parent.join(format!("run-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir)?;
        std::fs::write(dir.join("pids.max"), max.to_string())?;
        Ok(RunCgroup { dir })
    }
}

pub struct RunCgroup {
    dir: PathBuf,
}

impl RunCgroup {
    /// The file a process writes its pid to, to join.
    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// Kills whatever is still in the cgroup (a process that left the process group).
    pub fn kill_all(&self) {
        for _ in 0..50 {
            let pids = std::fs::read_to_string(self.procs()).unwrap_or_default();
            let pids: Vec<i32> = pids.lines().filter_map(|l| l.trim().parse().ok()).collect();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        self.kill_all();
        let _ = std::fs::remove_dir(&self.dir);
    }
}
