//! Each limit, proved in each mode this host can run. Bubblewrap is installed by
//! `scripts/test.sh`; with CI=true a host where it cannot run fails instead of skipping.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use qa_sandbox::{Command, Limits, Mode, Sandbox, Status};

fn modes() -> Vec<Sandbox> {
    let mut modes = vec![Sandbox::with_mode(Mode::Rlimits).expect("prlimit is on every Debian")];
    match Sandbox::with_mode(Mode::Bubblewrap) {
        Ok(sandbox) => modes.push(sandbox),
        Err(e) if std::env::var_os("CI").is_some() => panic!("CI must test bubblewrap: {e}"),
        Err(e) => eprintln!("SKIPPED bubblewrap mode: {e}"),
    }
    modes
}

fn python(work: &Path, code: &str) -> Command {
    Command::new("python3", work).args(["-c", code])
}

fn quick() -> Limits {
    Limits {
        wall: Duration::from_secs(20),
        ..Limits::default()
    }
}

#[test]
fn a_normal_command_runs_in_the_private_work_dir_with_a_clean_environment() {
    for sandbox in modes() {
        let work = tempfile::tempdir().unwrap();
        std::fs::write(work.path().join("input.txt"), "21").unwrap();
        let code = "import os; n = int(open('input.txt').read()); open('out.txt','w').write(str(n*2)); print(sorted(k for k in os.environ if k.startswith('QA_')))";
        let run = sandbox
            .run(
                &python(work.path(), code)
                    .env("QA_VISIBLE", "1")
                    .limits(quick()),
            )
            .unwrap();
        assert!(run.success(), "{}: {}", sandbox.mode(), run.stderr_text());
        assert_eq!(
            run.stdout_text().trim(),
            "['QA_VISIBLE']",
            "{}",
            sandbox.mode()
        );
        let out = std::fs::read_to_string(work.path().join("out.txt")).unwrap();
        assert_eq!(out, "42", "{}", sandbox.mode());
    }
}

#[test]
fn a_network_call_fails_under_bubblewrap() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for sandbox in modes() {
        let work = tempfile::tempdir().unwrap();
        let code = format!(
            "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    print('connected')\nexcept OSError as e:\n    print('refused', e)"
        );
        let run = sandbox
            .run(&python(work.path(), &code).limits(quick()))
            .unwrap();
        assert!(run.success(), "{}", run.stderr_text());
        let isolated = sandbox.info().network_isolated;
        assert_eq!(isolated, sandbox.mode() == Mode::Bubblewrap);
        if isolated {
            assert!(
                run.stdout_text().starts_with("refused"),
                "{}",
                run.stdout_text()
            );
        } else {
            // Said plainly in the sandbox's info and `qa-agent doctor`, not hidden.
            assert!(sandbox.info().fallback_reason.is_some());
        }
    }
}

#[test]
fn a_write_outside_the_work_dir_fails() {
    for sandbox in modes() {
        let work = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        if sandbox.mode() == Mode::Bubblewrap {
            // World-writable, so only the read-only mount can refuse the write.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o777))
                .unwrap();
        } else {
            // rlimits mode protects files only by permissions, and says so.
            assert!(!sandbox.info().read_only_system);
            continue;
        }
        let target = outside.path().join("escaped.txt");
        let code = format!(
            "try:\n    open({:?}, 'w').write('x')\n    print('written')\nexcept OSError as e:\n    print('refused', e.errno)",
            target.display().to_string()
        );
        let run = sandbox
            .run(&python(work.path(), &code).limits(quick()))
            .unwrap();
        assert!(
            run.stdout_text().starts_with("refused"),
            "{}: {}",
            sandbox.mode(),
            run.stdout_text()
        );
        assert!(!target.exists(), "{}", sandbox.mode());
    }
}

/// No process of a finished run may survive it.
fn survivors(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(marker))
        .count()
}

#[test]
fn a_fork_bomb_is_stopped_and_leaves_nothing_behind() {
    for sandbox in modes() {
        let work = tempfile::tempdir().unwrap();
        let marker = format!("bomb{}", std::process::id());
        let script = format!("{marker}() {{ {marker} | {marker} & }}; {marker}; sleep 30");
        let limits = Limits {
            processes: 32,
            wall: Duration::from_secs(3),
            ..Limits::default()
        };
        let run = sandbox
            .run(
                &Command::new("bash", work.path())
                    .args(["-c", &script])
                    .limits(limits),
            )
            .unwrap();
        assert_eq!(run.status, Status::TimedOut, "{}", sandbox.mode());
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            survivors(&marker),
            0,
            "{}: processes left behind",
            sandbox.mode()
        );

        // The process limit itself, not only the timeout: forks beyond it fail with EAGAIN.
        let code = "import os, time\nn = 0\ntry:\n    for _ in range(200):\n        if os.fork() == 0:\n            time.sleep(5); os._exit(0)\n        n += 1\nexcept OSError:\n    print('stopped at', n)";
        let run = sandbox
            .run(&python(work.path(), code).limits(Limits {
                processes: 16,
                wall: Duration::from_secs(10),
                ..Limits::default()
            }))
            .unwrap();
        let text = run.stdout_text();
        let forked: u32 = text
            .strip_prefix("stopped at ")
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "{}: not stopped: {text:?} {:?} {}",
                    sandbox.mode(),
                    run.status,
                    run.stderr_text()
                )
            });
        // The limit counts the sandbox's own launcher processes too (at most 4 more).
        assert!(forked < 16 + 4, "{}: {forked}", sandbox.mode());
    }
}

#[test]
fn a_memory_bomb_gets_memory_error() {
    for sandbox in modes() {
        let work = tempfile::tempdir().unwrap();
        let code = "try:\n    x = bytearray(4 << 30)\n    print('allocated')\nexcept MemoryError:\n    print('MemoryError')";
        let limits = Limits {
            memory: 512 << 20,
            ..quick()
        };
        let run = sandbox
            .run(&python(work.path(), code).limits(limits))
            .unwrap();
        assert_eq!(
            run.stdout_text().trim(),
            "MemoryError",
            "{}: {}",
            sandbox.mode(),
            run.stderr_text()
        );
    }
}

#[test]
fn an_infinite_loop_is_stopped_by_cpu_time_and_a_sleeping_one_by_the_wall_clock() {
    for sandbox in modes() {
        let work = tempfile::tempdir().unwrap();
        let limits = Limits {
            cpu: Duration::from_secs(1),
            wall: Duration::from_secs(30),
            ..Limits::default()
        };
        let run = sandbox
            .run(&python(work.path(), "while True: pass").limits(limits.clone()))
            .unwrap();
        assert!(
            matches!(run.status, Status::Signalled(9 | 24)),
            "{}: {:?}",
            sandbox.mode(),
            run.status
        );
        assert!(run.wall < Duration::from_secs(10), "{:?}", run.wall);
        assert!(
            run.describe(&limits).contains("CPU"),
            "{}",
            run.describe(&limits)
        );

        let limits = Limits {
            wall: Duration::from_secs(1),
            ..Limits::default()
        };
        let run = sandbox
            .run(&python(work.path(), "import time\nwhile True: time.sleep(1)").limits(limits))
            .unwrap();
        assert_eq!(run.status, Status::TimedOut, "{}", sandbox.mode());
        assert!(run.wall < Duration::from_secs(5), "{:?}", run.wall);
    }
}

#[test]
fn a_huge_file_and_huge_output_are_capped() {
    for sandbox in modes() {
        let work = tempfile::tempdir().unwrap();
        let limits = Limits {
            file_size: 1 << 20,
            output: 4096,
            ..quick()
        };
        let before = qa_sandbox::limit_hits();
        let run = sandbox
            .run(
                &python(work.path(), "open('big', 'wb').write(b'x' * (8 << 20))")
                    .limits(limits.clone()),
            )
            .unwrap();
        assert_ne!(run.status, Status::Exited(0), "{}", sandbox.mode());
        // Counted for `sandbox_limit_hits_total{limit="file_size"}` (other tests of this
        // binary may add to it at the same time, never take away).
        if run.status == Status::Signalled(25) {
            assert!(qa_sandbox::limit_hits()[2] > before[2]);
        }
        let size = std::fs::metadata(work.path().join("big"))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(size <= 1 << 20, "{}: {size}", sandbox.mode());

        let run = sandbox
            .run(
                &python(
                    work.path(),
                    "import sys\nfor _ in range(2000): sys.stdout.write('y' * 5000)",
                )
                .limits(limits),
            )
            .unwrap();
        assert!(run.success(), "{}", run.stderr_text());
        assert!(run.truncated);
        assert_eq!(run.stdout.len(), 4096);
        assert!(qa_sandbox::limit_hits()[3] > before[3]);
    }
}

#[test]
fn a_missing_work_dir_is_a_clear_error() {
    let sandbox = Sandbox::detect().unwrap();
    let err = sandbox
        .run(&Command::new("true", "/nonexistent/qa-agent-work"))
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}
