//! Writing a report to standard output or, atomically, to a file.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Where a report goes.
pub enum Sink<'a> {
    Stdout,
    File(&'a Path),
}

impl Sink<'_> {
    /// Runs `write` against the destination. A file is written through a temporary file
    /// in the same directory and renamed into place, so an interrupted or failed run never
    /// leaves a truncated report behind.
    pub fn write(
        &self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                write(&mut out)?;
                out.flush()?;
                Ok(())
            }
            Sink::File(path) => write_file(path, write),
        }
    }
}

fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Writes text to standard output as is: callers decide about colour (`--color`).
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    Sink::Stdout.write(|w| w.write_all(text.as_bytes()))
}
