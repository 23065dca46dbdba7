//! Rust: `#[test]`s for a library's public functions, written as an integration test and
//! validated with the crate's own toolchain in the sandbox ([`generate`]).

mod cargo;
pub mod generate;
mod project;
mod render;
mod targets;
