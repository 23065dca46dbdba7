//! Unpacking an uploaded repository (`.tar.gz` or `.zip`) into a directory of its own,
//! refusing anything that would write outside it or blow up: absolute paths, `..`,
//! links (tar) or entries marked as symlinks (zip), too many entries, too many bytes, or
//! a decompression ratio past a bound. Sizes are counted as bytes are written, never
//! taken from the archive's headers. On any refusal the partial directory is removed.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// What an upload may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    pub max_bytes: u64,
    /// Unpacked bytes per uploaded byte.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 50_000,
            max_bytes: 1 << 30,
            max_ratio: 200,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(
        "the upload is neither a gzip-compressed tar nor a zip archive (send a .tar.gz or .zip)"
    )]
    UnknownFormat,
    #[error("the archive is damaged or truncated: {0}")]
    Corrupt(String),
    #[error("entry `{0}` would be written outside the upload (absolute path or `..`)")]
    Escape(String),
    #[error("entry `{0}` is a link; archives with links are refused")]
    Link(String),
    #[error("the archive has more than {0} entries")]
    TooManyEntries(usize),
    #[error("the archive unpacks to more than {0} bytes")]
    TooLarge(u64),
    #[error("the archive unpacks to more than {0} times its size (a decompression bomb?); refused")]
    Ratio(u64),
    #[error("cannot write the upload to disk: {0}")]
    Io(#[from] std::io::Error),
}

impl ArchiveError {
    /// Whether the upload itself is at fault (400), rather than the server (500).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, ArchiveError::Io(_))
    }
}

/// Unpacks `bytes` into `dest` (created; removed again on error). Returns the number of
/// files written.
pub fn unpack(bytes: &[u8], dest: &Path, limits: Limits) -> Result<usize, ArchiveError> {
    std::fs::create_dir_all(dest)?;
    let budget = limits.max_bytes.min(
        (bytes.len() as u64)
            .saturating_mul(limits.max_ratio)
            .max(1 << 20),
    );
    let result = if bytes.starts_with(&[0x1f, 0x8b]) {
        unpack_tar_gz(bytes, dest, limits, budget)
    } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        unpack_zip(bytes, dest, limits, budget)
    } else {
        Err(ArchiveError::UnknownFormat)
    };
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    result
}

/// The entry's path made relative and checked: only normal components (`.` dropped).
fn safe_relative(name: &str) -> Result<Option<PathBuf>, ArchiveError> {
    let mut out = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(ArchiveError::Escape(name.to_string()));
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Which limit a byte budget stands for, for the error.
fn over_budget(limits: Limits, budget: u64) -> ArchiveError {
    if budget < limits.max_bytes {
        ArchiveError::Ratio(limits.max_ratio)
    } else {
        ArchiveError::TooLarge(limits.max_bytes)
    }
}

/// Copies at most `*left` bytes of `from` into a new file at `path`.
fn write_file(
    from: &mut impl Read,
    path: &Path,
    left: &mut u64,
    limits: Limits,
    budget: u64,
) -> Result<(), ArchiveError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| shape_error(e, parent))?;
    }
    // A second entry for the same path is refused, not allowed to overwrite the first.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| shape_error(e, path))?;
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::FileTooLarge {
                over_budget(limits, budget)
            } else {
                ArchiveError::Corrupt(e.to_string())
            }
        })?;
        if n == 0 {
            return Ok(());
        }
        if n as u64 > *left {
            return Err(over_budget(limits, budget));
        }
        *left -= n as u64;
        file.write_all(&buf[..n])?;
    }
}

/// An archive whose entries clash (a file and a directory of the same name, the same
/// file twice) is the upload's fault (400), not the server's.
fn shape_error(e: std::io::Error, path: &Path) -> ArchiveError {
    use std::io::ErrorKind::*;
    match e.kind() {
        AlreadyExists | NotADirectory | IsADirectory => ArchiveError::Corrupt(format!(
            "entries clash at {}: {e}",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        )),
        _ => ArchiveError::Io(e),
    }
}

/// Decompressed bytes a tar may spend on headers beyond its files' budget.
const HEADER_ALLOWANCE: u64 = 64 << 20;

/// A reader that fails once more than `left` bytes came through.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "the archive inflates past its size limit",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn unpack_tar_gz(
    bytes: &[u8],
    dest: &Path,
    limits: Limits,
    budget: u64,
) -> Result<usize, ArchiveError> {
    // Everything decompressed counts, headers and PAX records included, so no part of
    // the stream can inflate past the budget (plus room for the headers).
    let capped = Capped {
        inner: flate2::read::GzDecoder::new(bytes),
        left: budget.saturating_add(HEADER_ALLOWANCE),
    };
    let mut archive = tar::Archive::new(capped);
    let mut left = budget;
    let (mut entries_seen, mut files) = (0usize, 0usize);
    let fail = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::FileTooLarge {
            over_budget(limits, budget)
        } else {
            ArchiveError::Corrupt(e.to_string())
        }
    };
    let entries = archive.entries().map_err(fail)?;
    for entry in entries {
        let mut entry = entry.map_err(fail)?;
        entries_seen += 1;
        if entries_seen > limits.max_entries {
            return Err(ArchiveError::TooManyEntries(limits.max_entries));
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(rel) = safe_relative(&name)? else {
            continue;
        };
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(ArchiveError::Link(name));
        }
        if kind.is_dir() {
            let dir = dest.join(&rel);
            std::fs::create_dir_all(&dir).map_err(|e| shape_error(e, &dir))?;
        } else if kind.is_file() {
            write_file(&mut entry, &dest.join(&rel), &mut left, limits, budget)?;
            files += 1;
        }
        // Anything else (devices, FIFOs, PAX headers) is not part of a source tree.
    }
    Ok(files)
}

fn unpack_zip(
    bytes: &[u8],
    dest: &Path,
    limits: Limits,
    budget: u64,
) -> Result<usize, ArchiveError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(ArchiveError::TooManyEntries(limits.max_entries));
    }
    let mut left = budget;
    let mut files = 0usize;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| ArchiveError::Corrupt(e.to_string()))?
            .into_owned();
        let Some(rel) = safe_relative(&name)? else {
            continue;
        };
        if entry.is_symlink() {
            return Err(ArchiveError::Link(name));
        }
        if entry.is_dir() {
            let dir = dest.join(&rel);
            std::fs::create_dir_all(&dir).map_err(|e| shape_error(e, &dir))?;
        } else {
            write_file(&mut entry, &dest.join(&rel), &mut left, limits, budget)?;
            files += 1;
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(tar: Vec<u8>) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&tar).unwrap();
        e.finish().unwrap()
    }

    /// A gzipped tar with a PAX extended header of `size` zero bytes, then one small
    /// file, compressed as it is written (the uncompressed form is never in memory).
    fn pax_bomb(size: u64) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_size(size);
        h.set_cksum();
        b.append(&h, std::io::repeat(0).take(size)).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_path("a.py").unwrap();
        h.set_size(2);
        h.set_cksum();
        b.append(&h, &b"x\n"[..]).unwrap();
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn headers_cannot_inflate_past_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let bomb = pax_bomb(256 << 20);
        // Small enough that its budget plus the header allowance is below what it inflates to.
        assert!(
            (bomb.len() as u64) * 200 + HEADER_ALLOWANCE < 256 << 20,
            "{}",
            bomb.len()
        );
        let e = unpack(&bomb, &dir.path().join("out"), Limits::default()).unwrap_err();
        assert!(matches!(e, ArchiveError::Ratio(_)), "{e}");
        assert!(
            !dir.path().join("out").exists(),
            "the partial directory is removed"
        );
    }

    #[test]
    fn clashing_entries_are_the_uploads_fault() {
        let mut b = tar::Builder::new(Vec::new());
        for name in ["a", "a/b.py"] {
            let mut h = tar::Header::new_ustar();
            h.set_path(name).unwrap();
            h.set_size(1);
            h.set_cksum();
            b.append(&h, &b"x"[..]).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let e = unpack(
            &gz(b.into_inner().unwrap()),
            &dir.path().join("o"),
            Limits::default(),
        )
        .unwrap_err();
        assert!(e.is_client_error(), "{e}");
    }

    #[test]
    fn entry_count_is_bounded() {
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..11 {
            let mut h = tar::Header::new_ustar();
            h.set_path(format!("f{i}.py")).unwrap();
            h.set_size(0);
            h.set_cksum();
            b.append(&h, std::io::empty()).unwrap();
        }
        let archive = gz(b.into_inner().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits {
            max_entries: 10,
            ..Limits::default()
        };
        let e = unpack(&archive, &dir.path().join("out"), limits).unwrap_err();
        assert!(matches!(e, ArchiveError::TooManyEntries(10)), "{e}");
        assert_eq!(
            unpack(&archive, &dir.path().join("ok"), Limits::default()).unwrap(),
            11
        );
    }

    #[test]
    fn only_plain_relative_paths_pass() {
        assert_eq!(
            safe_relative("./a/b.py").unwrap(),
            Some(PathBuf::from("a/b.py"))
        );
        assert_eq!(safe_relative("./").unwrap(), None);
        for bad in ["../x", "a/../../x", "/etc/passwd", "a/../../../b"] {
            assert!(
                matches!(safe_relative(bad), Err(ArchiveError::Escape(_))),
                "{bad}"
            );
        }
    }
}
