//! The web UI the conversation manager serves at `/` on :8080 (docs/ui.md): plain
//! HTML/CSS/JS compiled into the binary, with three vendored libraries (Markdown,
//! sanitising, highlighting; `scripts/fetch-ui-vendor.sh`). Besides its files, the UI
//! needs two routes of its own: the orchestrator's analyses through this origin
//! ([`proxy`]) and the operations overview ([`operations`]).

mod assets;
pub mod operations;
pub mod proxy;

use axum::Router;
use axum::routing::get;

use crate::AppState;

/// `/` and `/ui/{file}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(assets::index))
        .route("/ui/{file}", get(assets::file))
}
