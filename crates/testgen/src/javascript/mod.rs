//! JavaScript and TypeScript test generation: the same loop as Python's (explore in the sandbox through a
//! harness, select calls that add coverage, write exact assertions, keep what passes 5 fresh
//! runs), writing Vitest or Jest tests. It runs only when Node.js and the project's test
//! runner are installed; otherwise the module is reported as missing its toolchain.

pub mod generate;
pub mod harness;
pub mod inputs;
pub mod project;
pub mod render;
pub mod runner;
pub mod value;

/// File extensions handled here (TypeScript through the package's esbuild).
pub const EXTENSIONS: &[&str] = &["js", "mjs", "cjs", "ts", "mts", "cts", "tsx"];
