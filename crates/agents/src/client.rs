//! How the engine reaches the tools: over HTTP to the specialist service (qa-server's
//! `HttpTools`; `qa-agent ask` without a server runs that service in-process too), or a
//! stand-in in tests.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::tools::{ToolError, ToolOutput};

#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The input was refused or names something that does not exist: an observation
    /// the loop adapts to.
    #[error("{0}")]
    Rejected(String),
    /// The tool failed, timed out, is disabled or its circuit is open.
    #[error("{0}")]
    Failed(String),
    /// The service that runs the tools cannot be reached.
    #[error("{0}")]
    Unavailable(String),
}

impl From<ToolError> for CallError {
    fn from(e: ToolError) -> CallError {
        match e {
            ToolError::Invalid(_) | ToolError::NotFound(_) | ToolError::UnknownTool(_) => {
                CallError::Rejected(e.to_string())
            }
            _ => CallError::Failed(e.to_string()),
        }
    }
}

pub type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<ToolOutput, CallError>> + Send + 'a>>;

pub trait ToolClient: Send + Sync {
    fn call<'a>(&'a self, tool: &'a str, input: Value) -> CallFuture<'a>;
}
