//! The UI's files, compiled in. Every answer carries a strict Content-Security-Policy:
//! scripts only from this origin and no inline script, so even HTML that slipped past
//! the sanitiser in an answer could not run.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const JS: &str = "text/javascript; charset=utf-8";

/// (name under `/ui/`, content type, contents).
const FILES: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("web/app.js")),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("web/app.css"),
    ),
    ("marked.js", JS, include_str!("vendor/marked.js")),
    ("purify.js", JS, include_str!("vendor/purify.js")),
    ("prism.js", JS, include_str!("vendor/prism.js")),
];

pub async fn index() -> Response {
    serve("text/html; charset=utf-8", include_str!("web/index.html"))
}

pub async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => serve(kind, body),
        None => (StatusCode::NOT_FOUND, "no such file in the web UI").into_response(),
    }
}

fn serve(kind: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Small files, compiled in: revalidating costs little and an upgrade shows at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
