//! Which server-side paths may be analysed: only under the workspace roots an admin
//! allowed (`QA_AGENT_WORKSPACE_ROOTS`), checked as written (`..` resolved lexically, so
//! whether something outside exists is never revealed) and again after resolving
//! symlinks (so a link inside cannot lead out).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error(
        "analysing server-side paths is off: an admin allows directories with QA_AGENT_WORKSPACE_ROOTS (or upload an archive instead)"
    )]
    Off,
    #[error("`path` is empty or not a valid path")]
    Invalid,
    #[error("`{0}` is outside the directories this server may analyse (QA_AGENT_WORKSPACE_ROOTS)")]
    Outside(String),
    #[error("`{0}` does not exist on the server (paths are the server's, not yours)")]
    Missing(String),
}

/// The canonical form of `requested` if it lies under one of `roots`.
pub fn allowed_path(roots: &[PathBuf], requested: &str) -> Result<PathBuf, PathError> {
    if roots.is_empty() {
        return Err(PathError::Off);
    }
    if requested.is_empty() || requested.contains('\0') {
        return Err(PathError::Invalid);
    }
    let outside = || PathError::Outside(requested.to_string());
    // Each root as configured and as resolved (it may itself sit behind a symlink).
    let roots: Vec<PathBuf> = roots
        .iter()
        .flat_map(|r| {
            [
                lexically_normal(&std::path::absolute(r).unwrap_or_default()),
                r.canonicalize().ok(),
            ]
        })
        .flatten()
        .collect();
    let lexical = lexically_normal(Path::new(requested)).ok_or_else(outside)?;
    if !roots.iter().any(|root| lexical.starts_with(root)) {
        return Err(outside());
    }
    let canonical = lexical
        .canonicalize()
        .map_err(|_| PathError::Missing(requested.to_string()))?;
    if !roots.iter().any(|root| canonical.starts_with(root)) {
        return Err(outside());
    }
    Ok(canonical)
}

/// The repository name a path is filed under when none is given: its last component.
pub fn repository_name(root: &Path) -> String {
    root.file_name()
        .map_or_else(|| "root".into(), |n| n.to_string_lossy().into_owned())
}

/// An absolute path with `.` and `..` resolved without touching the file system;
/// `None` for a relative path or one that climbs above `/`.
fn lexically_normal(path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(p) => out.push(p),
        }
    }
    Some(out)
}
