//! Renders an analysis for people and machines: terminal table, Markdown, JSON and
//! SARIF 2.1.0. The analysis engine never formats; these renderers never analyse.

mod json;
mod markdown;
mod sarif;
mod table;

pub use json::{render_json, write_json};
pub use markdown::render_markdown;
pub use sarif::render_sarif;
pub use table::{TableOptions, render_table};
