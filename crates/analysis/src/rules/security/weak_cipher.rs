//! SEC011: a broken cipher (DES, 3DES, RC4, Blowfish...) or the ECB mode.

use qa_core::Language;

use crate::lang::{Call, Dialect};
use crate::rules::helpers::{callee_ends_with, static_string};
use crate::rules::security::common::anchor;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC011",
    name: "weak-cipher",
    family: Security,
    severity: High,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Go, Language::Java],
    title: "Broken cipher (DES, 3DES, RC4, Blowfish) or ECB mode is used",
    applies_to_tests: false,
    docs: r#"## What it does
Finds encryption with ciphers that are broken or too weak, and the ECB mode:

- Python: PyCryptodome `DES.new`, `DES3.new`, `ARC2.new`, `ARC4.new`, `Blowfish.new`,
  `CAST.new`, any `*.new(key, X.MODE_ECB)`; `cryptography`'s `algorithms.TripleDES`,
  `Blowfish`, `ARC4`, `IDEA`, `CAST5`, `SEED` and `modes.ECB()`;
- JavaScript/TypeScript: `crypto.createCipheriv`/`createDecipheriv` with a DES, 3DES,
  RC2, RC4, Blowfish or `-ecb` algorithm, and the deprecated `createCipher`/
  `createDecipher` (no IV, MD5-derived key);
- Go: `des.NewCipher`, `des.NewTripleDESCipher`, `rc4.NewCipher`, `blowfish.NewCipher`;
- Java: `Cipher.getInstance` with `DES`, `DESede`, `RC2`, `RC4`/`ARCFOUR`, `Blowfish`, an
  `/ECB/` mode, or a bare `"AES"` (which means `AES/ECB/PKCS5Padding`).

## Why is this bad?
DES keys are brute-forced in hours; 3DES, Blowfish and IDEA have 64-bit blocks that leak
plaintext after a few GB (Sweet32); RC4's keystream is biased. ECB encrypts equal blocks to
equal ciphertext, so patterns (and whole repeated records) show through the encryption and
blocks can be cut and pasted. None of them authenticate the data.

## How to fix
Use an authenticated mode of AES or ChaCha20: AES-GCM (`AESGCM` in `cryptography`,
`aes-256-gcm` in Node, `cipher.NewGCM` in Go, `AES/GCM/NoPadding` in Java) or
ChaCha20-Poly1305, with a fresh random nonce per message. Better still, use a high-level
library (libsodium/NaCl `secretbox`, Tink, Fernet).

## Example
```java
Cipher cipher = Cipher.getInstance("DES/CBC/PKCS5Padding");
```
Use instead:
```java
Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
```
"#,
}

pub(crate) struct WeakCipher;

impl Rule for WeakCipher {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let finding = match cx.dialect {
            Dialect::Python => python(call, cx),
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => javascript(call, cx),
            Dialect::Go => go(call),
            Dialect::Java => java(call, cx),
            Dialect::Rust => None,
        };
        if let Some(what) = finding {
            let advice = "use AES-GCM or ChaCha20-Poly1305 with a fresh nonce per message";
            cx.report(anchor(call), format!("{what}; {advice}"));
        }
    }
}

/// A weak cipher by its name, with why it is weak.
fn weak_cipher(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase().replace(['-', '_'], "");
    Some(match n.as_str() {
        "des" => "DES has a 56-bit key that is brute-forced in hours",
        "des3" | "desede" | "tripledes" | "3des" | "desede3" | "desede3cbc" => {
            "3DES has 64-bit blocks (Sweet32) and is deprecated"
        }
        "rc4" | "arc4" | "arcfour" => "RC4 has a biased keystream and is prohibited in TLS",
        "rc2" | "arc2" => "RC2 is broken",
        "blowfish" | "bf" => "Blowfish has 64-bit blocks (Sweet32)",
        "idea" => "IDEA has 64-bit blocks (Sweet32)",
        "cast" | "cast5" | "cast128" => "CAST5 has 64-bit blocks (Sweet32)",
        "seed" => "SEED is a legacy cipher with 128-bit blocks and no modern analysis",
        _ => return None,
    })
}

const ECB: &str = "ECB mode encrypts equal blocks to equal ciphertext, leaking patterns";

fn python(call: &Call<'_>, cx: &Cx<'_, '_>) -> Option<String> {
    if call.name == "new"
        && let Some(recv) = call.receiver()
    {
        let recv = recv.rsplit('.').next().unwrap_or(recv);
        if matches!(recv, "DES" | "DES3" | "ARC2" | "ARC4" | "Blowfish" | "CAST")
            && let Some(why) = weak_cipher(recv)
        {
            return Some(format!("`{}`: {why}", call.callee));
        }
        let ecb = call
            .args
            .iter()
            .skip(1)
            .take(1)
            .chain(call.args.iter().filter(|a| a.keyword == Some("mode")))
            .any(|a| cx.text(a.value).ends_with("MODE_ECB"));
        if ecb {
            return Some(format!("`{}` with MODE_ECB: {ECB}", call.callee));
        }
        return None;
    }
    for alg in ["TripleDES", "Blowfish", "ARC4", "IDEA", "CAST5", "SEED"] {
        if call.name != alg {
            continue;
        }
        let qualified = format!("algorithms.{alg}");
        if call.callee == qualified || callee_ends_with(call, &[qualified.as_str()]) {
            let why = weak_cipher(alg).unwrap_or("weak cipher");
            return Some(format!("`{}`: {why}", call.callee));
        }
    }
    if call.callee == "modes.ECB" || callee_ends_with(call, &["modes.ECB"]) {
        return Some(format!("`{}`: {ECB}", call.callee));
    }
    None
}

fn javascript(call: &Call<'_>, cx: &Cx<'_, '_>) -> Option<String> {
    match call.name {
        "createCipher" | "createDecipher" => Some(format!(
            "`{}` derives the key with MD5 and uses no IV (removed in Node 22)",
            call.callee
        )),
        "createCipheriv" | "createDecipheriv" => {
            let alg = static_string(cx, call.positional(0)?)?.to_ascii_lowercase();
            let parts: Vec<&str> = alg.split('-').collect();
            let first = *parts.first()?;
            let cipher = if first == "des" && matches!(parts.get(1), Some(&"ede3" | &"ede")) {
                weak_cipher("des3")
            } else {
                weak_cipher(first)
            };
            if let Some(why) = cipher {
                return Some(format!("`{}` with \"{alg}\": {why}", call.callee));
            }
            parts
                .contains(&"ecb")
                .then(|| format!("`{}` with \"{alg}\": {ECB}", call.callee))
        }
        _ => None,
    }
}

fn go(call: &Call<'_>) -> Option<String> {
    let why = match call.callee.as_str() {
        "des.NewCipher" => weak_cipher("des"),
        "des.NewTripleDESCipher" => weak_cipher("des3"),
        "rc4.NewCipher" => weak_cipher("rc4"),
        "blowfish.NewCipher" | "blowfish.NewSaltedCipher" => weak_cipher("blowfish"),
        "cast5.NewCipher" => weak_cipher("cast5"),
        _ => None,
    }?;
    Some(format!("`{}`: {why}", call.callee))
}

fn java(call: &Call<'_>, cx: &Cx<'_, '_>) -> Option<String> {
    if !call.is(&["Cipher.getInstance", "javax.crypto.Cipher.getInstance"]) {
        return None;
    }
    let transformation = static_string(cx, call.positional(0)?)?;
    let parts: Vec<String> = transformation
        .split('/')
        .map(|p| p.trim().to_ascii_uppercase())
        .collect();
    let alg = parts.first()?.as_str();
    if let Some(why) = weak_cipher(alg) {
        return Some(format!("`Cipher.getInstance(\"{transformation}\")`: {why}"));
    }
    if alg.starts_with("RSA") || alg.starts_with("EC") {
        // Asymmetric "ECB" is a misnomer for single-block use.
        return None;
    }
    let ecb = parts.get(1).is_some_and(|m| m == "ECB");
    let bare_block_cipher = parts.len() == 1 && matches!(alg, "AES" | "AES_128" | "AES_256");
    if ecb || bare_block_cipher {
        let what = if bare_block_cipher {
            format!(
                "`Cipher.getInstance(\"{transformation}\")` defaults to AES/ECB/PKCS5Padding: {ECB}"
            )
        } else {
            format!("`Cipher.getInstance(\"{transformation}\")`: {ECB}")
        };
        return Some(what);
    }
    None
}
