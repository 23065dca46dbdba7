//! Building and running integration tests of a copy of the crate in the sandbox: cargo
//! offline (the host's downloaded registry read-only, a cargo home of its own), test
//! binaries run directly, each run a fresh process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use qa_sandbox::{Command, Limits, Sandbox};

use super::project::{RustCrate, Toolchain};
use crate::GenerateError;

/// The crate copied into a sandbox work directory.
pub struct Work {
    pub dir: tempfile::TempDir,
    /// The package directory inside `dir`.
    pub package: PathBuf,
}

const SKIP: &[&str] = &["target", ".git", "node_modules"];

impl Work {
    pub fn copy(krate: &RustCrate, toolchain: &Toolchain) -> Result<Work, GenerateError> {
        let dir = tempfile::tempdir().map_err(GenerateError::Io)?;
        let mut bytes = 0u64;
        for entry in ignore::WalkBuilder::new(&krate.root)
            .hidden(false)
            .filter_entry(|e| !SKIP.contains(&e.file_name().to_str().unwrap_or("")))
            .build()
            .filter_map(Result::ok)
        {
            let rel = entry
                .path()
                .strip_prefix(&krate.root)
                .unwrap_or(entry.path());
            let dest = dir.path().join(rel);
            if entry.file_type().is_some_and(|t| t.is_dir()) {
                std::fs::create_dir_all(&dest).map_err(GenerateError::Io)?;
            } else if entry.file_type().is_some_and(|t| t.is_file()) {
                bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
                if bytes > 256 << 20 {
                    return Err(GenerateError::ProjectTooLarge(krate.root.clone()));
                }
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).map_err(GenerateError::Io)?;
                }
                std::fs::copy(entry.path(), &dest).map_err(GenerateError::Io)?;
            }
        }
        // Cargo writes its caches and locks under its home: one of the work directory's
        // own, reading the host's downloaded crates through a link.
        let home = dir.path().join(".cargo-home");
        std::fs::create_dir_all(&home).map_err(GenerateError::Io)?;
        if let Some(host) = &toolchain.cargo_home {
            for sub in ["registry", "git"] {
                if host.join(sub).is_dir() {
                    let _ = std::os::unix::fs::symlink(host.join(sub), home.join(sub));
                }
            }
        }
        let package = dir.path().join(krate.package_in_root());
        Ok(Work { dir, package })
    }
}

impl Work {
    /// Declares the test files qa-agent writes as `[[test]]` targets of the copy, for
    /// packages that turn test discovery off (`autotests = false`, as crates.io's
    /// normalised manifests do).
    pub fn declare_tests(&self, names: &[String]) -> Result<(), GenerateError> {
        let manifest = self.package.join("Cargo.toml");
        let mut text = std::fs::read_to_string(&manifest).map_err(GenerateError::Io)?;
        for n in names {
            text.push_str(&format!(
                "\n[[test]]\nname = \"{n}\"\npath = \"tests/{n}.rs\"\n"
            ));
        }
        std::fs::write(&manifest, text).map_err(GenerateError::Io)
    }
}

/// Downloads the crate's dependencies into the host's cargo home (`cargo fetch`, outside
/// the sandbox: it runs no code of the crate), so that the sandboxed, offline builds find
/// them; a crate whose lock file is missing gets one. Best effort: offline, the build
/// below says what is missing.
pub fn fetch(toolchain: &Toolchain, work: &Work, wall: Duration) -> Option<String> {
    let mut child = std::process::Command::new(toolchain.bin.join("cargo"))
        .args(["fetch", "--quiet"])
        .current_dir(&work.package)
        .env("RUSTC", toolchain.bin.join("rustc"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return None,
            Ok(Some(_)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Some(
                    err.lines()
                        .next()
                        .unwrap_or("cargo fetch failed")
                        .to_string(),
                );
            }
            Ok(None) if started.elapsed() < wall => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Some(format!("cargo fetch took more than {} s", wall.as_secs()));
            }
        }
    }
}

fn limits(wall: Duration) -> Limits {
    Limits {
        wall,
        cpu: wall,
        // rustc and the linker reserve far more address space than they use.
        memory: 32 << 30,
        processes: 256,
        file_size: 1 << 30,
        open_files: 4096,
        ..Limits::default()
    }
}

/// Test target → its binary, and test target → its first compiler error.
pub type Built = (BTreeMap<String, PathBuf>, BTreeMap<String, String>);

/// Builds the integration tests `names` (files `tests/NAME.rs`); returns the binary of
/// each that compiled, and the first compiler error of each that did not.
pub fn build(
    sandbox: &Sandbox,
    toolchain: &Toolchain,
    work: &Work,
    names: &[String],
    wall: Duration,
) -> Result<Built, GenerateError> {
    let root = work.dir.path();
    let inside = |p: &Path| sandbox.path_inside(root, p);
    // The sandbox's work directory is the copy's root (a workspace member builds only
    // with its workspace around it); the package is named by its manifest.
    let mut cmd = Command::new(toolchain.bin.join("cargo").display().to_string(), root)
        .args([
            "build",
            "--offline",
            "--keep-going",
            "--message-format=json",
            "--manifest-path",
        ])
        .arg(
            inside(&work.package.join("Cargo.toml"))
                .display()
                .to_string(),
        )
        .env(
            "CARGO_HOME",
            inside(&root.join(".cargo-home")).display().to_string(),
        )
        .env(
            "CARGO_TARGET_DIR",
            inside(&root.join("target")).display().to_string(),
        )
        .env("RUSTC", toolchain.bin.join("rustc").display().to_string())
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", toolchain.bin.display()),
        )
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_INCREMENTAL", "1")
        .limits(limits(wall));
    for n in names {
        cmd = cmd.args(["--test", n.as_str()]);
    }
    if let Some(host) = &toolchain.cargo_home {
        cmd = cmd.read_only(host.clone());
    }
    let outcome = sandbox.run(&cmd)?;
    let mut binaries = BTreeMap::new();
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    for line in outcome.stdout_text().lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let target = v["target"]["name"].as_str().unwrap_or_default().to_string();
        match v["reason"].as_str() {
            Some("compiler-artifact") => {
                if let Some(exe) = v["executable"].as_str() {
                    binaries.insert(target, host_path(sandbox, root, Path::new(exe)));
                }
            }
            Some("compiler-message") if v["message"]["level"] == "error" => {
                let rendered = v["message"]["rendered"].as_str().unwrap_or_default();
                errors
                    .entry(target)
                    .or_insert_with(|| rendered.lines().take(12).collect::<Vec<_>>().join("\n"));
            }
            _ => {}
        }
    }
    if binaries.is_empty() && errors.is_empty() {
        let text = outcome.stderr_text();
        let tail: Vec<&str> = text
            .lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(GenerateError::ValidationCrashed(format!(
            "cargo built nothing ({}): {}",
            outcome.describe(&cmd.limits),
            tail.join("\n")
        )));
    }
    Ok((binaries, errors))
}

fn host_path(sandbox: &Sandbox, root: &Path, exe: &Path) -> PathBuf {
    let inner = sandbox.path_inside(root, root);
    match exe.strip_prefix(&inner) {
        Ok(rel) => root.join(rel),
        Err(_) => exe.to_path_buf(),
    }
}

/// The output of one run of a test binary.
pub struct Run {
    pub timed_out: bool,
    /// `test NAME ... ok|FAILED` lines: name → passed.
    pub results: BTreeMap<String, bool>,
}

pub fn run(
    sandbox: &Sandbox,
    work: &Work,
    binary: &Path,
    args: &[&str],
    wall: Duration,
) -> Result<Run, GenerateError> {
    let root = work.dir.path();
    let cmd = Command::new(
        sandbox.path_inside(root, binary).display().to_string(),
        root,
    )
    .args(args.iter().copied())
    .env("RUST_BACKTRACE", "0")
    .limits(Limits {
        memory: 4 << 30,
        ..limits(wall)
    });
    let outcome = sandbox.run(&cmd)?;
    let stdout = outcome.stdout_text();
    let mut results = BTreeMap::new();
    for line in stdout.lines() {
        if let Some((name, verdict)) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.rsplit_once(" ... "))
        {
            // `test f - should panic ... ok`
            let name = name.trim_end_matches(" - should panic");
            results.insert(name.to_string(), verdict.trim() == "ok");
        }
    }
    Ok(Run {
        timed_out: matches!(outcome.status, qa_sandbox::Status::TimedOut),
        results,
    })
}
