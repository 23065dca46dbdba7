//! SEC014: a string literal that looks like a real credential (cloud keys, API tokens,
//! private keys), whatever the variable is called.

use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use crate::lang::ValueKind;
use crate::rules::helpers::kind;
use crate::rules::{ALL_LANGUAGES, Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC014",
    name: "secret-token-pattern",
    family: Security,
    severity: High,
    languages: ALL_LANGUAGES,
    title: "String literal looks like a real credential (API token, cloud key, private key)",
    applies_to_tests: false,
    docs: r#"## What it does
Finds string literals shaped like well-known credentials, whatever they are assigned to:
AWS access key ids (`AKIA...`, `ASIA...`), GitHub tokens (`ghp_...`, `gho_...`,
`github_pat_...`), Slack tokens (`xoxb-...`), Stripe live keys (`sk_live_...`,
`rk_live_...`), Google API keys (`AIza...`), PEM private key blocks
(`-----BEGIN RSA PRIVATE KEY-----`) and JSON Web Tokens (`eyJ...eyJ...`).

Values containing `EXAMPLE`, `example`, `fake`, `dummy` or `xxxx` (the placeholders the
providers' own documentation uses) and test code are not reported. The message names the
kind of credential, never the value.

## Why is this bad?
These formats are what secret scanners, and attackers, grep public repositories for:
a leaked key is typically abused within minutes of being pushed. Anything in the source
also ends up in every clone, fork, build artifact, container image and CI log.

## How to fix
Revoke and rotate the credential now (removing it from the code does not un-leak it;
it stays in the history). Then load it at run time from the environment or a secret
manager, and add a pre-commit secret scanner.

## Example
```python
s3 = boto3.client("s3", aws_access_key_id="AKIA2E0A8F3B244C9986")
```
Use instead:
```python
s3 = boto3.client("s3")  # credentials from the environment or instance role
```
"#,
}

pub(crate) struct SecretTokenPattern;

struct Pattern {
    what: &'static str,
    re: Regex,
}

static PATTERNS: LazyLock<Vec<Pattern>> =
    LazyLock::new(|| {
        [
        ("an AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        ("a GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
        ("a GitHub fine-grained token", r"\bgithub_pat_[A-Za-z0-9_]{22,}"),
        ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        ("a Stripe live secret key", r"\b(?:sk|rk)_live_[0-9a-zA-Z]{24,}"),
        ("a Google API key", r"\bAIza[0-9A-Za-z_\-]{35}"),
        (
            "a private key",
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
        ),
        (
            "a JSON Web Token",
            r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
        ),
    ]
    .into_iter()
    .map(|(what, re)| Pattern {
        what,
        re: Regex::new(re).expect("valid credential pattern"),
    })
    .collect()
    });

/// Substrings at least one of which every pattern needs.
const MARKERS: &[&str] = &[
    "AKIA",
    "ASIA",
    "gh",
    "github_pat_",
    "xox",
    "_live_",
    "AIza",
    "PRIVATE KEY",
    "eyJ",
];

/// Placeholder markers that documentation and samples use.
const PLACEHOLDERS: &[&str] = &[
    "EXAMPLE", "example", "Example", "fake", "FAKE", "dummy", "DUMMY", "xxxx", "XXXX",
];

impl Rule for SecretTokenPattern {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::STRING
    }

    fn on_string(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        // Implicit concatenations are checked piece by piece (their parts are strings too),
        // except for PEM blocks, whose header and body are often separate pieces.
        // Cheap test first: every pattern has one of these markers.
        let raw = cx.text(node);
        static ANY_MARKER: LazyLock<Regex> = LazyLock::new(|| {
            let alternatives: Vec<String> = MARKERS.iter().map(|m| regex::escape(m)).collect();
            Regex::new(&alternatives.join("|")).expect("valid marker alternation")
        });
        if raw.len() < 20 || !ANY_MARKER.is_match(raw) {
            return;
        }
        let concat = kind!(cx.dialect, "concatenated_string");
        let whole_only = node.kind_id() == concat;
        let in_concat = cx.parent().is_some_and(|p| p.kind_id() == concat);
        let value = match cx.value(node) {
            ValueKind::StaticString(s) => s,
            _ => cx.text(node).to_string(),
        };
        if value.len() < 20 || PLACEHOLDERS.iter().any(|p| value.contains(p)) {
            return;
        }
        // A private key header alone, as in a parser's constant, is not a key.
        let is_key = |p: &&Pattern| p.what == "a private key";
        if let Some(p) = PATTERNS
            .iter()
            .filter(|p| if is_key(p) { !in_concat } else { !whole_only })
            .find(|p| p.re.is_match(&value) && (!is_key(p) || has_key_body(&value)))
        {
            cx.report(
                node,
                format!(
                    "this string looks like {}; revoke it, then load the credential from the environment or a secret manager",
                    p.what
                ),
            );
        }
    }
}

/// Whether a string with a `BEGIN ... PRIVATE KEY` line also holds key material (a run
/// of base64), rather than just the header a parser looks for.
fn has_key_body(value: &str) -> bool {
    static BODY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/=]{40,}").expect("valid base64 pattern"));
    BODY.is_match(value)
}
