//! Newer TypeScript syntax that tree-sitter-typescript 0.23 (the latest release) does not
//! parse, rewritten to an equivalent the grammar knows, byte for byte the same length so
//! every position in the tree still points into the original text.
//!
//! Used only to reparse a file whose first parse had errors, and kept only when it has
//! fewer: a rewrite can never make a file that parsed worse.

use std::sync::LazyLock;

use regex::Regex;

/// Variance annotations on type parameters (TypeScript 4.7): `interface X<in A, out B>`.
static VARIANCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([<,]\s*)((?:in|out)(?:\s+out)?)(\s+)([A-Za-z_$])").expect("valid pattern")
});

/// A call or construct signature on its own line after a member without a `;`
/// (`readonly a: A` then `<B>(self: B): B`), which the grammar reads as a comparison.
static SIGNATURE_AFTER_MEMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)([A-Za-z0-9_$\]>)?]\s*\n[ \t]*)[ \t](<[A-Za-z_$][^\n]*>\s*\()")
        .expect("valid pattern")
});

/// The rewritten text, or `None` if nothing applies.
pub(crate) fn rewrite(text: &str) -> Option<String> {
    let mut changed = false;
    let out = VARIANCE.replace_all(text, |c: &regex::Captures<'_>| {
        changed = true;
        format!("{}{}{}{}", &c[1], " ".repeat(c[2].len()), &c[3], &c[4])
    });
    let out = SIGNATURE_AFTER_MEMBER.replace_all(&out, |c: &regex::Captures<'_>| {
        changed = true;
        format!("{};{}", &c[1], &c[2])
    });
    changed.then(|| out.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_keep_every_offset() {
        let src = "interface X<in A, out B, in out C> {\n  readonly a: A\n  <D>(self: D): D\n}\n";
        let out = rewrite(src).unwrap();
        assert_eq!(out.len(), src.len());
        assert_eq!(
            out,
            "interface X<   A,     B,        C> {\n  readonly a: A\n ;<D>(self: D): D\n}\n"
        );
        assert_eq!(rewrite("for (const k in obj) { f(a < b) }"), None);
    }
}
