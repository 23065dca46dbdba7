//! SEC010: MD5, SHA-1, MD4 or MD2 used as a hash function.

use qa_core::Language;

use crate::lang::{Call, Dialect};
use crate::rules::helpers::{callee_ends_with, static_string, text_is};
use crate::rules::security::common::{anchor, imported_from};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC010",
    name: "weak-hash",
    family: Security,
    severity: Medium,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Go, Language::Java, Language::Rust],
    title: "Broken hash function (MD5, SHA-1, MD4, MD2) is used",
    applies_to_tests: false,
    docs: r#"## What it does
Finds uses of hash functions with practical collision attacks:

- Python: `hashlib.md5`, `hashlib.sha1` (unless called with `usedforsecurity=False`),
  `hashlib.new("md5" | "sha1" | "md4")`;
- JavaScript/TypeScript: `crypto.createHash("md5" | "sha1" | "md4")`;
- Go: `md5.New`, `md5.Sum`, `sha1.New`, `sha1.Sum`, `md4.New`;
- Java: `MessageDigest.getInstance("MD5" | "SHA-1" | "SHA1" | "MD2")`, Commons Codec
  `DigestUtils.md5*`/`sha1*`/`shaHex`, Guava `Hashing.md5()`/`sha1()`;
- Rust: `Md5::new`, `md5::compute`, `Sha1::new`, `Sha1::digest`.

## Why is this bad?
Collisions for MD5 are computed in seconds and for SHA-1 in hours of cloud time (SHAttered,
2017): anything that relies on two inputs not sharing a hash — signatures, certificates,
integrity checks of downloads, deduplication of untrusted content, password hashing — can
be forged. Compliance regimes (FIPS 140, PCI DSS) forbid them for security purposes.

## How to fix
Use SHA-256 or better (SHA-512, SHA-3, BLAKE2/BLAKE3); for passwords use a password hash
(Argon2, scrypt, bcrypt, PBKDF2). If the hash is not used for security (a cache key, an
ETag, a legacy checksum format), say so: in Python pass `usedforsecurity=False`
(FIPS-enabled systems require it), elsewhere suppress the finding with a comment.

## Example
```python
digest = hashlib.md5(payload).hexdigest()
```
Use instead:
```python
digest = hashlib.sha256(payload).hexdigest()
```
"#,
}

pub(crate) struct WeakHash;

const WEAK_NAMES: &[&str] = &["md5", "sha1", "sha-1", "md4", "md2", "ripemd", "md5-sha1"];

const GO_CALLS: &[&str] = &["md5.New", "md5.Sum", "sha1.New", "sha1.Sum", "md4.New"];

const JAVA_GETINSTANCE: &[&str] = &[
    "MessageDigest.getInstance",
    "java.security.MessageDigest.getInstance",
    "DigestUtils.getDigest",
];

const JAVA_WEAK: &[&str] = &["MD5", "SHA-1", "SHA1", "SHA", "MD2", "MD4"];

impl Rule for WeakHash {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let algorithm = match cx.dialect {
            Dialect::Python => python(call, cx),
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => javascript(call, cx),
            Dialect::Go => call.is(GO_CALLS).then(|| go_name(call)),
            Dialect::Java => java(call, cx),
            Dialect::Rust => rust(call),
        };
        if let Some(alg) = algorithm
            && !reads_a_constant(call, cx)
        {
            cx.report(
                anchor(call),
                format!(
                    "{alg} is broken (practical collisions); use SHA-256 or better, a password hash for passwords, or mark a non-security use as such"
                ),
            );
        }
    }
}

/// `sha1().digest_size`, `hashlib.md5().name`: a hash object made only to read one of
/// its constants hashes nothing.
fn reads_a_constant(call: &Call<'_>, cx: &Cx<'_, '_>) -> bool {
    call.args.is_empty()
        && cx.parent_of(call.node).is_some_and(|p| {
            let t = cx.text(p);
            t.len() > cx.text(call.node).len()
                && t.starts_with(cx.text(call.node))
                && [".digest_size", ".block_size", ".name", ".digestsize"]
                    .iter()
                    .any(|c| t[cx.text(call.node).len()..].trim_start() == *c)
        })
}

fn display(name: &str) -> &'static str {
    match name.to_ascii_lowercase().replace('-', "").as_str() {
        "md5" => "MD5",
        "md4" => "MD4",
        "md2" => "MD2",
        "ripemd" => "RIPEMD",
        "md5sha1" => "MD5-SHA1",
        _ => "SHA-1",
    }
}

fn python(call: &Call<'_>, cx: &Cx<'_, '_>) -> Option<&'static str> {
    if call
        .keyword("usedforsecurity")
        .is_some_and(|v| text_is(cx, v, &["False", "0"]))
    {
        return None;
    }
    let callee = call.callee.as_str();
    match callee {
        "hashlib.md5" | "hashlib.sha1" => Some(display(call.name)),
        // `from hashlib import md5`.
        // `from hashlib import md5`, not Django's `django.utils.crypto.md5`, which already
        // passes `usedforsecurity=False`.
        "md5" | "sha1" if imported_from(cx, "hashlib", call.name) => Some(display(call.name)),
        "hashlib.new" => {
            let name = call.positional(0).or_else(|| call.keyword("name"))?;
            let s = static_string(cx, name)?.to_ascii_lowercase();
            WEAK_NAMES.contains(&s.as_str()).then(|| display(&s))
        }
        _ => None,
    }
}

fn javascript(call: &Call<'_>, cx: &Cx<'_, '_>) -> Option<&'static str> {
    if call.name != "createHash" && call.name != "createHmac" {
        return None;
    }
    // HMAC-MD5/SHA-1 are not broken by collisions; only plain hashes are reported.
    if call.name == "createHmac" {
        return None;
    }
    let s = static_string(cx, call.positional(0)?)?.to_ascii_lowercase();
    WEAK_NAMES.contains(&s.as_str()).then(|| display(&s))
}

fn go_name(call: &Call<'_>) -> &'static str {
    display(call.callee.split('.').next().unwrap_or("md5"))
}

fn java(call: &Call<'_>, cx: &Cx<'_, '_>) -> Option<&'static str> {
    if call.is(JAVA_GETINSTANCE) {
        let s = static_string(cx, call.positional(0)?)?.to_ascii_uppercase();
        return JAVA_WEAK.contains(&s.as_str()).then(|| display(&s));
    }
    let recv = call.receiver()?;
    let recv = recv.rsplit('.').next().unwrap_or(recv);
    let name = call.name.to_ascii_lowercase();
    match recv {
        "DigestUtils" => {
            if name.starts_with("md5") {
                Some("MD5")
            } else if name.starts_with("md2") {
                Some("MD2")
            } else if name.starts_with("sha1") || name == "sha" || name == "shahex" {
                Some("SHA-1")
            } else {
                None
            }
        }
        "Hashing" if name == "md5" || name == "sha1" => Some(display(&name)),
        _ => None,
    }
}

fn rust(call: &Call<'_>) -> Option<&'static str> {
    if call.callee == "md5::compute" {
        return Some("MD5");
    }
    for (ty, alg) in [
        ("Md5", "MD5"),
        ("Sha1", "SHA-1"),
        ("Md4", "MD4"),
        ("Md2", "MD2"),
    ] {
        let new = format!("{ty}::new");
        let digest = format!("{ty}::digest");
        if callee_ends_with(call, &[new.as_str(), digest.as_str()]) {
            return Some(alg);
        }
    }
    None
}
