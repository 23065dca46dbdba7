//! SEC012: TLS certificate or host name verification turned off.

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::{Assign, Call, Dialect, ValueKind};
use crate::rules::helpers::{kind, text_is};
use crate::rules::security::common::anchor;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC012",
    name: "tls-verification-disabled",
    family: Security,
    severity: High,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Go, Language::Java, Language::Rust],
    title: "TLS certificate or host name verification is disabled",
    applies_to_tests: false,
    docs: r#"## What it does
Finds code that switches off the checks that make TLS secure:

- Python: `verify=False` passed to `requests`, `httpx` or a session/client's request
  methods, `session.verify = False`, `ssl._create_unverified_context`,
  `verify_mode`/`cert_reqs` set to `ssl.CERT_NONE`, `check_hostname = False`,
  `ssl=False` on an aiohttp session request or connector;
- JavaScript/TypeScript: `rejectUnauthorized: false` and
  `process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"`;
- Go: `InsecureSkipVerify: true` in a `tls.Config` (or assigned later), unless the file
  checks certificates itself (`VerifyPeerCertificate`, `VerifyConnection`, or a call of
  `x509.Certificate.Verify`, as drivers do to verify the CA but not the host name);
- Java: `NoopHostnameVerifier`, `ALLOW_ALL_HOSTNAME_VERIFIER`, host name verifiers that
  return `true`, and `X509TrustManager.checkServerTrusted` implementations that check
  nothing;
- Rust: `danger_accept_invalid_certs(true)` and `danger_accept_invalid_hostnames(true)`.

## Why is this bad?
Without certificate and host name checks, anyone on the network path (public Wi-Fi, a
compromised router, a malicious proxy, DNS spoofing) can impersonate the server with a
self-made certificate, read the traffic (credentials, tokens, personal data) and change
the responses. The connection still looks encrypted, so nobody notices.

## How to fix
Keep verification on. For a private CA or a self-signed certificate, trust that
certificate explicitly: `verify="/path/ca.pem"` (requests), `ca` in Node's TLS options,
`RootCAs` in Go's `tls.Config`, a trust store with that certificate in Java,
`add_root_certificate` in reqwest. Make any development-only switch impossible to enable
in production.

## Example
```python
requests.get(url, verify=False)
```
Use instead:
```python
requests.get(url, verify="/etc/ssl/certs/internal-ca.pem")
```
"#,
}

pub(crate) struct TlsVerificationDisabled;

const HTTP_METHODS: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "request",
    "head",
    "options",
    "send",
    "stream",
    "ws_connect",
];

impl Rule for TlsVerificationDisabled {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL.and(Hooks::ASSIGN).and(Hooks::NODE)
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        if dialect != Dialect::Java {
            return Vec::new();
        }
        ["field_access", "identifier", "method_declaration"]
            .iter()
            .map(|k| dialect.grammar().id_for_node_kind(k, true))
            .collect()
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        match cx.dialect {
            Dialect::Python => python_call(call, cx),
            Dialect::Java => java_call(call, cx),
            Dialect::Rust
                if matches!(
                    call.name,
                    "danger_accept_invalid_certs" | "danger_accept_invalid_hostnames"
                ) && call.positional(0).is_some_and(|a| cx.text(a) == "true") =>
            {
                let what = if call.name == "danger_accept_invalid_certs" {
                    "certificate"
                } else {
                    "host name"
                };
                cx.report(
                        anchor(call),
                        format!("`{}(true)` turns off TLS {what} verification; trust your CA with `add_root_certificate` instead", call.name),
                    );
            }
            _ => {}
        }
    }

    fn on_assign(&self, a: &Assign<'_>, cx: &mut Cx<'_, '_>) {
        let Some(value) = a.value else { return };
        match cx.dialect {
            Dialect::Python => python_assign(a, value, cx),
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
                if a.target_name == "rejectUnauthorized" && cx.text(value) == "false" {
                    cx.report(
                        a.node,
                        "`rejectUnauthorized: false` accepts any certificate; trust your CA with the `ca` option instead",
                    );
                } else if a.target.contains("NODE_TLS_REJECT_UNAUTHORIZED")
                    && (matches!(cx.value(value), ValueKind::StaticString(s) if s == "0")
                        || cx.text(value) == "0")
                {
                    cx.report(
                        a.node,
                        "NODE_TLS_REJECT_UNAUTHORIZED=0 turns off certificate verification for the whole process; set NODE_EXTRA_CA_CERTS to trust your CA instead",
                    );
                }
            }
            Dialect::Go
                if a.target_name == "InsecureSkipVerify"
                    && cx.text(value) == "true"
                    && !verifies_itself(cx.src) =>
            {
                cx.report(
                    a.node,
                    "`InsecureSkipVerify: true` accepts any certificate for any host; put your CA in `RootCAs` instead",
                );
            }
            _ => {}
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let id = node.kind_id();
        if id == kind!(cx.dialect, "method_declaration") {
            java_method(node, cx);
            return;
        }
        let text = cx.text(node);
        let flagged = if id == kind!(cx.dialect, "field_access") {
            text.ends_with("NoopHostnameVerifier.INSTANCE")
                || text.ends_with(".ALLOW_ALL_HOSTNAME_VERIFIER")
        } else {
            text == "ALLOW_ALL_HOSTNAME_VERIFIER"
                && cx.parent_of(node).is_none_or(|p| {
                    p.kind_id() != kind!(cx.dialect, "field_access")
                        && p.kind_id() != kind!(cx.dialect, "variable_declarator")
                })
        };
        if flagged {
            cx.report(
                node,
                "this host name verifier accepts any host, so any valid certificate impersonates the server; use the default verifier",
            );
        }
    }
}

fn python_call(call: &Call<'_>, cx: &mut Cx<'_, '_>) {
    if call.is(&["ssl._create_unverified_context"]) {
        cx.report(
            anchor(call),
            "`ssl._create_unverified_context()` turns off certificate and host name checks; use ssl.create_default_context(cafile=...)",
        );
        return;
    }
    let off = |name: &str| {
        call.keyword(name)
            .is_some_and(|v| text_is(cx, v, &["False", "0"]))
    };
    let recv = call.receiver().unwrap_or("");
    let recv_lower = recv.to_ascii_lowercase();
    let session_like = recv_lower.contains("session") || recv_lower.ends_with("client");
    let http_lib = call.callee.starts_with("requests.") || call.callee.starts_with("httpx.");
    if off("verify") && (http_lib || (session_like && HTTP_METHODS.contains(&call.name))) {
        if let Some(v) = call.keyword("verify") {
            cx.report(
                v,
                format!(
                    "`{}(verify=False)` accepts any certificate; pass the path of your CA bundle to verify= instead",
                    call.callee
                ),
            );
        }
        return;
    }
    let aiohttp = (recv_lower.contains("session") && HTTP_METHODS.contains(&call.name))
        || call.callee.ends_with("TCPConnector");
    if aiohttp && (off("ssl") || off("verify_ssl")) {
        let v = call.keyword("ssl").or_else(|| call.keyword("verify_ssl"));
        if let Some(v) = v {
            cx.report(
                v,
                format!(
                    "`{}` with ssl=False accepts any certificate; pass an ssl.SSLContext that trusts your CA instead",
                    call.callee
                ),
            );
        }
    }
}

fn python_assign(a: &Assign<'_>, value: Node<'_>, cx: &mut Cx<'_, '_>) {
    let v = cx.text(value);
    let message = match a.target_name {
        "verify_mode" | "cert_reqs" if v.ends_with("CERT_NONE") => {
            format!("`{}` set to CERT_NONE accepts any certificate; use ssl.CERT_REQUIRED and trust your CA with load_verify_locations", a.target_name)
        }
        "check_hostname" if v == "False" => {
            "`check_hostname = False` accepts a valid certificate for any host; keep host name checking on".to_string()
        }
        "verify"
            if v == "False"
                && a.target != "verify"
                && a.target.to_ascii_lowercase().contains("session") =>
        {
            format!("`{} = False` accepts any certificate for every request of the session; set it to the path of your CA bundle", a.target)
        }
        // `ssl._create_default_https_context = ssl._create_unverified_context`.
        _ if v.ends_with("_create_unverified_context") => {
            format!("`{}` replaced by the unverified context turns off certificate checks process-wide", a.target)
        }
        _ => return,
    };
    cx.report(a.node, message);
}

fn java_call(call: &Call<'_>, cx: &mut Cx<'_, '_>) {
    if call.is(&[
        "new NoopHostnameVerifier",
        "new AllowAllHostnameVerifier",
        "new org.apache.http.conn.ssl.NoopHostnameVerifier",
    ]) {
        cx.report(
            anchor(call),
            format!("`{}` accepts any host name, so any valid certificate impersonates the server; use the default verifier", call.callee),
        );
        return;
    }
    if !matches!(
        call.name,
        "setHostnameVerifier"
            | "setDefaultHostnameVerifier"
            | "hostnameVerifier"
            | "setSSLHostnameVerifier"
    ) {
        return;
    }
    let Some(arg) = call.positional(0) else {
        return;
    };
    if arg.kind_id() == kind!(cx.dialect, "lambda_expression")
        && arg
            .child_by_field_name("body")
            .is_some_and(|b| returns_true(cx, b))
    {
        cx.report(
            arg,
            format!("the host name verifier passed to `{}` accepts every host; use the default verifier", call.name),
        );
    }
}

/// A lambda or method body that is `true` or `{ return true; }`.
fn returns_true(cx: &Cx<'_, '_>, body: Node<'_>) -> bool {
    let t: String = cx.text(body).split_whitespace().collect();
    t == "true" || t == "{returntrue;}"
}

fn java_method(node: Node<'_>, cx: &mut Cx<'_, '_>) {
    let Some(name) = node.child_by_field_name("name") else {
        return;
    };
    let Some(body) = node.child_by_field_name("body") else {
        return;
    };
    match cx.text(name) {
        "checkServerTrusted" => {
            let mut cursor = body.walk();
            let empty = body.named_children(&mut cursor).all(|c| {
                c.kind_id() == kind!(cx.dialect, "line_comment")
                    || c.kind_id() == kind!(cx.dialect, "block_comment")
            });
            if empty {
                cx.report(
                    name,
                    "this `checkServerTrusted` accepts every certificate chain; use the platform trust manager (with your CA added to a KeyStore)",
                );
            }
        }
        "verify" if returns_true(cx, body) && in_hostname_verifier(cx, node) => {
            cx.report(
                name,
                "this HostnameVerifier accepts every host, so any valid certificate impersonates the server; use the default verifier",
            );
        }
        _ => {}
    }
}

/// Whether a method is declared in a class or anonymous class implementing
/// `HostnameVerifier`.
fn in_hostname_verifier(cx: &Cx<'_, '_>, method: Node<'_>) -> bool {
    let Some(body) = cx.parent_of(method) else {
        return false;
    };
    let Some(owner) = cx.parent_of(body) else {
        return false;
    };
    let head_end = body.start_byte().saturating_sub(owner.start_byte());
    let head = cx.text(owner).get(..head_end).unwrap_or("");
    head.contains("HostnameVerifier")
}

/// Whether a Go file verifies certificates by hand after turning the library's check off:
/// a `VerifyPeerCertificate`/`VerifyConnection` callback or a call of
/// `(*x509.Certificate).Verify` with its own options.
fn verifies_itself(src: &str) -> bool {
    src.contains("VerifyPeerCertificate")
        || src.contains("VerifyConnection")
        || (src.contains("x509.VerifyOptions") && src.contains(".Verify("))
}
