//! PERF005: an HTTP request made on every iteration of a loop, one after another.

use qa_core::Language;

use super::common::{last_name, loops, named_like, root_name, runs_concurrently, walks_collection};
use crate::lang::{Call, Dialect};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "PERF005",
    name: "request-in-loop",
    family: Performance,
    severity: Medium,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Go, Language::Java, Language::Rust],
    title: "HTTP request made on every iteration of a loop",
    applies_to_tests: false,
    docs: r#"## What it does
Finds HTTP requests sent from inside a loop that walks a collection, one request per
element, each waiting for the previous one:

- Python: `requests.get/post/...`, `httpx.get/post/...`, `urllib.request.urlopen`, and
  `get/post/...` on a `session` or `client` in files that import requests, httpx or
  aiohttp.
- JavaScript, TypeScript: `fetch`, `axios`, `got`, `superagent`, `ky`, Node's
  `http.get/request` and `https.get/request`.
- Go: `http.Get/Post/PostForm/Head` and `Do/Get/...` on an HTTP client.
- Java: `HttpClient.send`, `RestTemplate` calls, `URL.openConnection`, OkHttp
  `newCall(...).execute()`.
- Rust: `reqwest::get`, `reqwest::blocking::get`, `client.get(...).send()` and friends,
  `ureq`.

Requests already made concurrently are not reported: pushed to a list of promises or
futures, returned from a `map` callback, handed to `Promise.all`/`asyncio.gather`/
`join_all`, or wrapped in a spawned task or async block. Neither are retry and polling
loops, nor loops over a few literal values.

## Why is this bad?
Every request pays a full network round trip (often tens or hundreds of milliseconds),
so a loop over `n` elements takes `n` times as long as one request, and it hammers the
server with many small calls.

## How to fix
Prefer a bulk endpoint that takes all the ids at once. Otherwise send the requests
concurrently with a bound on how many run at a time: `asyncio.gather` with an
`httpx.AsyncClient` or aiohttp session (or a thread pool), `Promise.all` (with a limiter
such as `p-limit`), goroutines with `errgroup` and `SetLimit`, `HttpClient.sendAsync`
with `CompletableFuture.allOf`, `futures::stream::iter(...).buffer_unordered(n)`. Reuse
one client or session for all of them.

## Example
```javascript
for (const id of ids) {
  const res = await fetch(`/api/users/${id}`);
  users.push(await res.json());
}
```
Use instead:
```javascript
const users = await Promise.all(
  ids.map(async (id) => (await fetch(`/api/users/${id}`)).json()),
);
```
"#,
}

pub(crate) struct RequestInLoop;

const METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "request",
];

impl Rule for RequestInLoop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let Some(lazy) = classify(call, cx) else {
            return;
        };
        let loops = loops(cx, call.node);
        if !walks_collection(cx, &loops) || runs_concurrently(cx, call.node, &loops, lazy) {
            return;
        }
        let fix = match cx.dialect {
            Dialect::Python => {
                "use a bulk endpoint if there is one, or send them concurrently (`asyncio.gather` with httpx.AsyncClient or aiohttp, or a thread pool)"
            }
            Dialect::Go => {
                "use a bulk endpoint if there is one, or send them concurrently (goroutines with `errgroup`, bounded with `SetLimit`)"
            }
            Dialect::Java => {
                "use a bulk endpoint if there is one, or send them concurrently (`HttpClient.sendAsync` with `CompletableFuture.allOf`, or an executor)"
            }
            Dialect::Rust => {
                "use a bulk endpoint if there is one, or send them concurrently (`join_all`, or `buffer_unordered` to bound them)"
            }
            _ => {
                "use a bulk endpoint if there is one, or start them together and await `Promise.all` (bounded with a limiter such as p-limit)"
            }
        };
        cx.report(
            call.node,
            format!(
                "`{}` makes an HTTP request on every iteration, each waiting for the last; {fix}",
                call.callee
            ),
        );
    }
}

/// Whether the call sends an HTTP request, and if so whether it returns a promise or
/// future (`Some(true)`) rather than blocking until the response arrives.
fn classify(call: &Call<'_>, cx: &Cx<'_, '_>) -> Option<bool> {
    let callee = call.callee.as_str();
    let receiver = call.receiver().unwrap_or("");
    match cx.dialect {
        Dialect::Python => {
            let root = root_name(callee);
            if matches!(root, "requests" | "httpx") && METHODS.contains(&call.name) {
                return Some(false);
            }
            if matches!(
                callee,
                "urllib.request.urlopen" | "urllib2.urlopen" | "request.urlopen"
            ) || (callee == "urlopen" && (cx.imports("urllib") || cx.imports("urllib2")))
            {
                return Some(false);
            }
            // Cheap name tests first: this runs for every call.
            if METHODS.contains(&call.name)
                && named_like(last_name(receiver), &["session", "client"])
                && (cx.imports("requests") || cx.imports("httpx") || cx.imports("aiohttp"))
            {
                // aiohttp and httpx.AsyncClient calls return awaitables.
                return Some(cx.in_async_function());
            }
            None
        }
        Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
            if matches!(
                callee,
                "fetch"
                    | "window.fetch"
                    | "globalThis.fetch"
                    | "self.fetch"
                    | "axios"
                    | "got"
                    | "superagent"
                    | "$.ajax"
                    | "$.getJSON"
                    | "jQuery.ajax"
            ) {
                return Some(true);
            }
            let client = matches!(receiver, "axios" | "got" | "superagent")
                || (receiver == "ky" && cx.imports("ky"));
            if client && METHODS.contains(&call.name) {
                return Some(true);
            }
            let node_http = matches!(receiver, "http" | "https")
                && matches!(call.name, "get" | "request")
                && (cx.imports("http") || cx.imports("https"));
            node_http.then_some(true)
        }
        Dialect::Go => {
            if matches!(
                callee,
                "http.Get"
                    | "http.Post"
                    | "http.PostForm"
                    | "http.Head"
                    | "http.DefaultClient.Do"
                    | "http.DefaultClient.Get"
                    | "http.DefaultClient.Post"
            ) {
                return Some(false);
            }
            let arity = match call.name {
                "Do" | "Get" | "Head" => 1,
                "PostForm" => 2,
                "Post" => 3,
                _ => return None,
            };
            (call.args.len() == arity && named_like(last_name(receiver), &["client"]))
                .then_some(false)
        }
        Dialect::Java => {
            let recv = last_name(receiver);
            let sync = match call.name {
                "send" => call.args.len() == 2 && named_like(recv, &["client", "http"]),
                "getForObject" | "getForEntity" | "postForObject" | "postForEntity"
                | "postForLocation" | "exchange" | "patchForObject" | "headForHeaders" => {
                    named_like(recv, &["template", "rest"])
                }
                "openConnection" => call.args.is_empty(),
                "execute" => callee.contains(".newCall("),
                "get" | "post" => callee.starts_with("Jsoup.connect("),
                _ => false,
            };
            sync.then_some(false)
        }
        Dialect::Rust => {
            if callee == "reqwest::get" {
                return Some(true);
            }
            if callee.starts_with("reqwest::blocking::")
                || (callee.starts_with("ureq::") && call.name == "call")
            {
                return Some(false);
            }
            let built = [
                ".get(",
                ".post(",
                ".put(",
                ".patch(",
                ".delete(",
                ".head(",
                ".request(",
            ]
            .iter()
            .any(|m| callee.contains(m));
            (call.name == "send"
                && call.args.is_empty()
                && built
                && named_like(root_name(callee), &["client", "http", "reqwest"]))
            .then_some(!callee.contains("blocking"))
        }
    }
}
