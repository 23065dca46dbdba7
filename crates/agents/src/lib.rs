//! qa-agent's agents. This crate holds the tool registry that the specialist service
//! (:8001) serves: tools with JSON-schema'd inputs, timeouts, evidence for every result,
//! and a circuit breaker per tool. The ReAct engine, specialists and providers come next
//! (docs/dev/agents-plan.md).

pub mod breaker;
pub mod tools;
pub mod workspace;

pub use breaker::{Breaker, BreakerState};
pub use tools::{Evidence, Registry, Tool, ToolContext, ToolError, ToolInfo, ToolOutput};
