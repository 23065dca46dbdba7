//! SEC022: a secret (token, password, nonce...) generated with a non-cryptographic
//! random number generator.

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::{Assign, Call, Dialect};
use crate::rules::helpers::kind;
use crate::rules::security::common::{anchor, calls_within, imported_from, is_secret_name};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC022",
    name: "insecure-random-secret",
    family: Security,
    severity: Medium,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript],
    title: "Secret value is generated with a predictable random number generator",
    applies_to_tests: false,
    docs: r#"## What it does
Finds values from a non-cryptographic random number generator — Python's `random`
module (`random.random`, `randint`, `choice`, `choices`, `sample`, `getrandbits`,
`randrange`, `uniform`, `shuffle`) or JavaScript's `Math.random()` — used for a secret:
assigned to a variable, field or key named like a token, password, secret, API key,
nonce, salt, OTP, session id or reset/verification code, or returned from a function
named like one (`generate_token`, `makePassword`).

## Why is this bad?
These generators are designed for simulations, not secrets: Python's Mersenne Twister
can be reconstructed from 624 outputs, and V8's `Math.random` from a handful. Anyone who
sees a few values (their own reset codes, session ids) can predict the next ones and take
over other users' accounts.

## How to fix
Use the operating system's CSPRNG: Python `secrets.token_urlsafe()`,
`secrets.token_hex()`, `secrets.choice()`, `secrets.randbelow()`; JavaScript
`crypto.randomUUID()`, `crypto.getRandomValues()`, Node's `crypto.randomBytes()` /
`crypto.randomInt()`.

## Example
```python
reset_token = "".join(random.choices(string.ascii_letters + string.digits, k=32))
```
Use instead:
```python
reset_token = secrets.token_urlsafe(32)
```
"#,
}

pub(crate) struct InsecureRandomSecret;

const PY_RANDOM: &[&str] = &[
    "random",
    "randint",
    "choice",
    "choices",
    "sample",
    "getrandbits",
    "randrange",
    "uniform",
    "shuffle",
    "randbytes",
];

impl Rule for InsecureRandomSecret {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::ASSIGN.and(Hooks::NODE)
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python | Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
                vec![dialect.grammar().id_for_node_kind("return_statement", true)]
            }
            _ => Vec::new(),
        }
    }

    fn on_assign(&self, a: &Assign<'_>, cx: &mut Cx<'_, '_>) {
        if !is_secret_name(a.target_name) {
            return;
        }
        let Some(value) = a.value else { return };
        // Keyword arguments name a parameter of the callee, e.g. `token=random.choice(..)`;
        // default parameters count too.
        if let Some(call) = insecure_call(cx, value) {
            cx.report(
                anchor(&call),
                format!(
                    "`{}` gets its value from `{}`, which is predictable; use {}",
                    a.target_name,
                    call.callee,
                    fix(cx)
                ),
            );
        }
    }

    /// `return "".join(random.choice(...) ...)` in `def generate_token()`.
    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let Some(f) = cx.function else { return };
        let name = f
            .qualified_name
            .rsplit('.')
            .next()
            .unwrap_or(f.qualified_name);
        if !is_secret_name(name) {
            return;
        }
        let Some(value) = node.named_child(0) else {
            return;
        };
        if let Some(call) = insecure_call(cx, value) {
            cx.report(
                anchor(&call),
                format!(
                    "`{name}` returns a value from `{}`, which is predictable; use {}",
                    call.callee,
                    fix(cx)
                ),
            );
        }
    }
}

fn fix(cx: &Cx<'_, '_>) -> &'static str {
    if cx.dialect == Dialect::Python {
        "the secrets module (secrets.token_urlsafe, secrets.choice)"
    } else {
        "crypto.randomBytes / crypto.randomInt / crypto.getRandomValues"
    }
}

/// The first call to a non-cryptographic generator inside `value`.
fn insecure_call<'t>(cx: &Cx<'_, 't>, value: Node<'t>) -> Option<Call<'t>> {
    // Functions defined in the value (`token = () => Math.random()`) are not the value.
    if cx.lang.is_callable_literal(value) || value.kind_id() == kind!(cx.dialect, "lambda") {
        return None;
    }
    calls_within(cx, value)
        .into_iter()
        .find(|c| match cx.dialect {
            Dialect::Python => {
                (c.receiver() == Some("random") && PY_RANDOM.contains(&c.name))
                    || (c.receiver().is_none()
                        && PY_RANDOM.contains(&c.name)
                        && imported_from(cx, "random", c.name))
            }
            _ => c.callee == "Math.random",
        })
}
