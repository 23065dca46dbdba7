//! Python: pytest tests from observed behaviour.

pub mod expr;
pub mod generate;
pub mod harness;
pub mod inputs;
pub mod llm;
pub mod names;
pub mod oracle;
pub mod project;
pub mod pytest;
pub mod render;
pub mod signature;
pub mod syntax;
pub mod value;
