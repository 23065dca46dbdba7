//! Finding the files to analyse under a root: `.gitignore`-aware walking, language detection,
//! include/exclude globs and the vendored-directory filter.

use std::path::{Path, PathBuf};

use crate::{
    config::PathFilter,
    lang::Dialect,
    model::{Diagnostic, DiagnosticKind},
};

/// Directory names whose contents are third-party code or build output, skipped unless
/// `skip_vendored` is off: findings there are not the project's to fix, and bundles in
/// `dist/` or `build/` repeat the sources they were built from.
pub const VENDORED_DIRS: &[&str] = &[
    "node_modules",
    "bower_components",
    "jspm_packages",
    "vendor",
    "third_party",
    "third-party",
    "site-packages",
    "__pycache__",
    "venv",
    ".venv",
    "dist",
    "build",
    "generated",
    "__generated__",
];

/// Directories of test inputs rather than code: Go's `testdata` (ignored by the go tool
/// too), Jest's `__fixtures__` and `__snapshots__`, skipped with the vendored ones.
pub const TEST_DATA_DIRS: &[&str] = &["testdata", "__fixtures__", "__snapshots__"];

/// Names of directories that hold test inputs when they sit directly in a test directory
/// (`tests/data`, `test/fixtures`): sample programs for a formatter or parser under test.
const NESTED_TEST_DATA_DIRS: &[&str] = &["data", "fixtures"];
const TEST_DIRS: &[&str] = &["test", "tests", "__tests__", "spec"];

/// Whether the directory at `path` (name `name`) is third-party code, build output or test
/// data.
fn skipped_dir(path: &Path, name: &str) -> bool {
    VENDORED_DIRS.contains(&name)
        || TEST_DATA_DIRS.contains(&name)
        || (NESTED_TEST_DATA_DIRS.contains(&name)
            && path
                .parent()
                .and_then(|p| p.file_name())
                .is_some_and(|p| TEST_DIRS.contains(&p.to_string_lossy().as_ref())))
}

/// A file selected for analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub abs_path: PathBuf,
    /// Relative to the root, `/`-separated.
    pub rel_path: String,
    pub dialect: Dialect,
}

pub struct DiscoverOptions<'a> {
    pub filter: &'a PathFilter,
    pub skip_vendored: bool,
}

/// Walks `root` (a directory or a single file). Problems with individual entries become
/// diagnostics; the walk always continues.
pub fn discover(root: &Path, opts: &DiscoverOptions<'_>) -> (Vec<Candidate>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(dialect) = Dialect::from_path(root) {
            files.push(Candidate {
                abs_path: root.to_path_buf(),
                rel_path: name,
                dialect,
            });
        }
        return (files, diags);
    }
    let skip_vendored = opts.skip_vendored;
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        // Honour .gitignore even when the tree is not (yet) a git checkout.
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |e| {
            !(skip_vendored
                && e.file_type().is_some_and(|t| t.is_dir())
                && e.depth() > 0
                && skipped_dir(e.path(), &e.file_name().to_string_lossy()))
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                diags.push(walk_error(root, &err));
                continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        let Some(dialect) = Dialect::from_path(path) else {
            continue;
        };
        let rel_path = relative(root, path);
        if file_type.is_symlink() {
            // Links are not followed (so a loop can never hang the walk); a broken or looping
            // link is reported, a good one is analysed at its target's own path.
            if let Err(e) = std::fs::metadata(path) {
                let looping = e.raw_os_error() == Some(40); // ELOOP
                diags.push(Diagnostic {
                    path: rel_path,
                    line: None,
                    kind: if looping {
                        DiagnosticKind::SymlinkLoop
                    } else {
                        DiagnosticKind::Io
                    },
                    message: if looping {
                        "symbolic link loop; not followed".into()
                    } else {
                        format!("broken symbolic link: {e}")
                    },
                });
            }
            continue;
        }
        if !file_type.is_file() || !opts.filter.accepts(&rel_path) {
            continue;
        }
        files.push(Candidate {
            abs_path: path.to_path_buf(),
            rel_path,
            dialect,
        });
    }
    files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    (files, diags)
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s = rel.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

fn walk_error(root: &Path, err: &ignore::Error) -> Diagnostic {
    let (path, kind) = match err {
        ignore::Error::WithPath { path, err } => (
            relative(root, path),
            match **err {
                ignore::Error::Loop { .. } => DiagnosticKind::SymlinkLoop,
                _ => DiagnosticKind::Io,
            },
        ),
        ignore::Error::Loop { child, .. } => (relative(root, child), DiagnosticKind::SymlinkLoop),
        _ => (String::new(), DiagnosticKind::Io),
    };
    Diagnostic {
        path,
        line: None,
        kind,
        message: err.to_string(),
    }
}
