//! SEC021: JSON Web Tokens decoded without checking the signature or expiry.

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::{Call, Dialect, ValueKind};
use crate::rules::helpers::{kind, text_is};
use crate::rules::security::common::as_call;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC021",
    name: "jwt-verification-disabled",
    family: Security,
    severity: High,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript],
    title: "JWT is accepted without verifying its signature or expiry",
    applies_to_tests: false,
    docs: r#"## What it does
Finds JSON Web Tokens decoded with verification switched off:

- Python (PyJWT, python-jose): `jwt.decode(..., verify=False)`,
  `options={"verify_signature": False}` (or `verify_exp`), and `algorithms=["none"]`;
- JavaScript/TypeScript (`jsonwebtoken`): `jwt.verify(...)` with `algorithms: ["none"]`
  or `ignoreExpiration: true`, and `jwt.sign(...)` with `algorithm: "none"`.

## Why is this bad?
A JWT is only as trustworthy as its signature check. Without it, anyone can edit the
payload (`"sub": "admin"`, `"role": "owner"`) and the server accepts it; the `none`
algorithm means "unsigned", so allowing it does the same. Ignoring `exp` makes stolen
tokens valid forever.

## How to fix
Always verify with the expected key and an explicit list of the algorithms you issue
(`algorithms=["RS256"]`), and keep expiry checks on (use `leeway` for clock skew). If you
only need to read a token's header to pick a key, use the library's dedicated function
(`jwt.get_unverified_header`) and verify afterwards.

## Example
```python
claims = jwt.decode(token, options={"verify_signature": False})
```
Use instead:
```python
claims = jwt.decode(token, public_key, algorithms=["RS256"])
```
"#,
}

pub(crate) struct JwtVerificationDisabled;

impl Rule for JwtVerificationDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let recv = call.receiver().unwrap_or("").to_ascii_lowercase();
        if !(recv.ends_with("jwt") || recv.ends_with("jsonwebtoken") || recv.ends_with("jose")) {
            return;
        }
        match cx.dialect {
            Dialect::Python if call.name == "decode" => python_decode(call, cx),
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx
                if matches!(call.name, "verify" | "sign") =>
            {
                javascript(call, cx)
            }
            _ => {}
        }
    }
}

fn python_decode(call: &Call<'_>, cx: &mut Cx<'_, '_>) {
    if let Some(v) = call
        .keyword("verify")
        .filter(|v| text_is(cx, *v, &["False", "0"]))
    {
        cx.report(v, format!("`{}(verify=False)` accepts tokens with any signature; pass the key and algorithms=[...] to verify it", call.callee));
        return;
    }
    if let Some(options) = call.keyword("options") {
        for (key, value) in option_entries(cx, options) {
            let off = text_is(cx, value, &["False", "0"]);
            if off && key == "verify_signature" {
                cx.report(value, format!("`{}` with verify_signature=False accepts forged tokens; verify with the key and algorithms=[...]", call.callee));
                return;
            }
            if off && key == "verify_exp" {
                cx.report(value, format!("`{}` with verify_exp=False accepts expired tokens forever; keep expiry checks (use leeway for clock skew)", call.callee));
                return;
            }
        }
    }
    if let Some(algs) = call.keyword("algorithms")
        && let Some(none) = none_algorithm(cx, algs)
    {
        cx.report(none, format!("`{}` allows the \"none\" algorithm, i.e. unsigned tokens; list only the algorithms you issue", call.callee));
    }
}

/// `{"verify_signature": False}` or `dict(verify_signature=False)` entries.
fn option_entries<'t>(cx: &Cx<'_, 't>, options: Node<'t>) -> Vec<(String, Node<'t>)> {
    let mut out = Vec::new();
    if options.kind_id() == kind!(cx.dialect, "dictionary") {
        let mut cursor = options.walk();
        for p in options.named_children(&mut cursor) {
            if p.kind_id() == kind!(cx.dialect, "pair")
                && let (Some(k), Some(v)) =
                    (p.child_by_field_name("key"), p.child_by_field_name("value"))
                && let ValueKind::StaticString(key) = cx.value(k)
            {
                out.push((key, v));
            }
        }
    } else if let Some(c) = as_call(cx, options).filter(|c| c.callee == "dict") {
        for a in &c.args {
            if let Some(k) = a.keyword {
                out.push((k.to_string(), a.value));
            }
        }
    }
    out
}

/// The `"none"` element of a list of algorithms, if there is one.
fn none_algorithm<'t>(cx: &Cx<'_, 't>, list: Node<'t>) -> Option<Node<'t>> {
    if list.kind_id() != kind!(cx.dialect, "list") && list.kind_id() != kind!(cx.dialect, "array") {
        return matches!(cx.value(list), ValueKind::StaticString(s) if s.eq_ignore_ascii_case("none")).then_some(list);
    }
    let mut cursor = list.walk();
    list.named_children(&mut cursor).find(
        |e| matches!(cx.value(*e), ValueKind::StaticString(s) if s.eq_ignore_ascii_case("none")),
    )
}

fn javascript(call: &Call<'_>, cx: &mut Cx<'_, '_>) {
    for a in &call.args {
        if a.value.kind_id() != kind!(cx.dialect, "object") {
            continue;
        }
        let mut cursor = a.value.walk();
        let pairs: Vec<Node> = a
            .value
            .named_children(&mut cursor)
            .filter(|p| p.kind_id() == kind!(cx.dialect, "pair"))
            .collect();
        for p in pairs {
            let (Some(k), Some(v)) = (p.child_by_field_name("key"), p.child_by_field_name("value"))
            else {
                continue;
            };
            let key = cx.text(k).trim_matches(['"', '\'']);
            match key {
                "algorithms" | "algorithm" => {
                    if let Some(none) = none_algorithm(cx, v) {
                        cx.report(none, format!("`{}` with the \"none\" algorithm accepts unsigned tokens; list only the algorithms you issue", call.callee));
                    }
                }
                "ignoreExpiration" if call.name == "verify" && cx.text(v) == "true" => {
                    cx.report(p, format!("`{}` with ignoreExpiration: true accepts expired tokens forever; keep expiry checks (use clockTolerance for skew)", call.callee));
                }
                _ => {}
            }
        }
    }
}
