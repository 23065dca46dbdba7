//! Finding fingerprints that survive unrelated edits.
//!
//! A fingerprint hashes the rule, the file, the enclosing function and the finding's line
//! with whitespace collapsed, plus an occurrence counter for identical lines. It does not
//! include the line number, so inserting code above a finding leaves it unchanged;
//! editing the flagged line itself, or moving it to another function, changes it.

use sha2::{Digest, Sha256};

/// The part of the fingerprint shared by identical occurrences.
pub(crate) fn key(rule: &str, path: &str, function: Option<&str>, line_text: &str) -> String {
    format!(
        "{rule}\u{0}{path}\u{0}{}\u{0}{line_text}",
        function.unwrap_or("")
    )
}

/// The fingerprint of the `occurrence`-th finding with this key: 32 hex digits.
pub(crate) fn finish(key: &str, occurrence: u32) -> String {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(occurrence.to_le_bytes());
    let digest = h.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's content hash for caching and change detection: 128-bit XXH3 as 32 hex
/// digits. Not a security boundary, and about twenty times faster than SHA-256 on the
/// megabytes of source a large repository holds.
pub(crate) fn content_hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_distinct() {
        let a = finish(&key("SEC001", "a.py", Some("f"), "eval(x)"), 0);
        assert_eq!(a, finish(&key("SEC001", "a.py", Some("f"), "eval(x)"), 0));
        assert_eq!(a.len(), 32);
        assert_ne!(a, finish(&key("SEC001", "a.py", Some("f"), "eval(x)"), 1));
        assert_ne!(a, finish(&key("SEC001", "b.py", Some("f"), "eval(x)"), 0));
        assert_ne!(a, finish(&key("SEC001", "a.py", Some("g"), "eval(x)"), 0));
    }
}
