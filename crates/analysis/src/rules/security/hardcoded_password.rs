//! SEC013: a password, secret or API key written into the source.

use super::common::{normalise, with_normalised_tail};
use crate::lang::Assign;
use crate::rules::helpers::static_string;
use crate::rules::{ALL_LANGUAGES, Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC013",
    name: "hardcoded-password",
    family: Security,
    severity: High,
    languages: ALL_LANGUAGES,
    title: "Password, secret or API key assigned from a string literal",
    applies_to_tests: false,
    docs: r#"## What it does
Finds string literals assigned to variables, fields, keyword arguments, default
parameters or object keys whose name says they hold a credential: `password`, `passwd`,
`pwd`, `secret`, `secret_key`, `api_key`, `access_key`, `auth_token`, `private_key`,
`client_secret`, `auth_token`/`access_token`/`api_token`, or just `token` (any case, `camelCase` or `snake_case`, as the end of the name).

Empty strings, placeholders (`changeme`, `<password>`, `xxx`, `${VAR}`, `your-api-key`),
values shorter than six characters and values equal to the name itself are not reported;
test code is not checked.

## Why is this bad?
Anything in the source ends up in every clone, fork, backup, build artifact and CI log.
A credential in source control has to be treated as leaked: rotating it is the only fix.

## How to fix
Read the value at run time from the environment or a secret manager, and keep it out of
version control (rotate the one that was committed).

## Example
```python
DB_PASSWORD = "s3cr3t-Pa55"
```
Use instead:
```python
DB_PASSWORD = os.environ["DB_PASSWORD"]
```
"#,
}

pub(crate) struct HardcodedPassword;

const SUFFIXES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "secretkey",
    "apikey",
    "accesskey",
    "authtoken",
    "accesstoken",
    "privatekey",
    "clientsecret",
    "authtoken",
    "accesstoken",
    "apitoken",
    "refreshtoken",
    "bearertoken",
];

const PLACEHOLDERS: &[&str] = &[
    "changeme",
    "change_me",
    "password",
    "secret",
    "example",
    "placeholder",
    "dummy",
    "your",
    "xxx",
    "***",
    "<",
    "${",
    "{{",
    "%(",
    "todo",
    "fixme",
    "none",
    "null",
    "redacted",
];

/// Whether a variable or key name says it holds a credential. A bare `..._token` suffix
/// is not enough (lexer tokens, CSRF form fields); `token` alone is.
pub(crate) fn is_credential_name(name: &str) -> bool {
    with_normalised_tail(name, |n| {
        (n == b"token" || SUFFIXES.iter().any(|s| n.ends_with(s.as_bytes())))
            && !n.ends_with(b"hashedpassword")
    })
}

fn looks_real(value: &str, name: &str) -> bool {
    let v = value.trim();
    if v.chars().count() < 6 || v.contains(char::is_whitespace) {
        return false;
    }
    let lower = v.to_lowercase();
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) || normalise(v) == normalise(name) {
        return false;
    }
    // A run of one character (`******`) or an environment variable's name.
    let first = v.chars().next().unwrap_or(' ');
    if v.chars().all(|c| c == first) {
        return false;
    }
    if v.chars()
        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
    {
        return false;
    }
    // File names, paths and URLs without credentials name where a secret is, not the secret.
    // Base64 secrets may contain '/', so only anchored paths count as paths here.
    let anchored = ["/", "./", "../", "~/"].iter().any(|p| v.starts_with(p));
    if anchored || v.contains('\\') || (v.contains("://") && !v.contains('@')) {
        return false;
    }
    // A Rust or C++ path (`$serde_json::private::RawValue`) names a marker type.
    if v.contains("::") {
        return false;
    }
    if let Some((stem, ext)) = v.rsplit('/').next().unwrap_or(v).rsplit_once('.')
        && !stem.is_empty()
        && (1..=4).contains(&ext.len())
        && ext.chars().all(|c| c.is_ascii_alphabetic())
    {
        return false;
    }
    true
}

impl Rule for HardcodedPassword {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::ASSIGN
    }

    fn on_assign(&self, a: &Assign<'_>, cx: &mut Cx<'_, '_>) {
        if a.operator.is_some() || !is_credential_name(a.target_name) {
            return;
        }
        let Some(value) = a.value else { return };
        let Some(s) = static_string(cx, value) else {
            return;
        };
        if looks_real(&s, a.target_name) {
            cx.report(
                value,
                format!(
                    "`{}` is set from a string literal; read the credential from the environment or a secret store",
                    a.target_name
                ),
            );
        }
    }
}
