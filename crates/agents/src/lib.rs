//! qa-agent's agents: the tool registry the specialist service (:8001) serves (tools
//! with JSON-schema'd inputs, timeouts, evidence with every result, a circuit breaker
//! per tool), the four specialists (strategies over the tools), the offline planner
//! (intent model, entities, routing), and the ReAct engine the orchestrator (:8000) runs.
//! docs/agents.md describes how they fit together.

pub mod breaker;
pub mod client;
pub mod engine;
pub mod learned;
mod llm_planner;
pub mod planner;
pub mod quality;
pub mod related;
pub mod specialists;
pub mod test_writer;
pub mod tools;
pub mod workspace;

pub use breaker::{Breaker, BreakerState};
pub use client::{CallError, ToolClient};
pub use engine::{Answer, Budget, Engine, EngineError, Related, Step, Task};
pub use learned::LearnedCache;
pub use planner::{Intent, LearnedState, Mode, Planner};
pub use specialists::SpecialistId;
pub use tools::{Evidence, Registry, Tool, ToolContext, ToolError, ToolInfo, ToolOutput};
