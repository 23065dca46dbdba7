//! The four services of the runbook and their names.

use std::fmt;
use std::str::FromStr;

/// One of the runbook's services. Each has its own listener (the conversation manager
/// two: WebSocket/UI and health/metrics), its own metrics registry and its own peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKind {
    Orchestrator,
    Specialists,
    Conversation,
    Learning,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [
        ServiceKind::Orchestrator,
        ServiceKind::Specialists,
        ServiceKind::Conversation,
        ServiceKind::Learning,
    ];

    /// The name the runbook and the Kubernetes manifests use (`agent-orchestrator`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Orchestrator => "agent-orchestrator",
            ServiceKind::Specialists => "specialist-agents",
            ServiceKind::Conversation => "conversation-manager",
            ServiceKind::Learning => "learning-engine",
        }
    }

    /// The word used on the command line (`qa-agent serve orchestrator`).
    pub fn short(self) -> &'static str {
        match self {
            ServiceKind::Orchestrator => "orchestrator",
            ServiceKind::Specialists => "specialists",
            ServiceKind::Conversation => "conversation",
            ServiceKind::Learning => "learning",
        }
    }

    /// The key under which other services report this one in `/health/detailed`.
    pub fn health_key(self) -> &'static str {
        match self {
            ServiceKind::Orchestrator => "agent_orchestrator",
            ServiceKind::Specialists => "specialist_agents",
            ServiceKind::Conversation => "conversation_manager",
            ServiceKind::Learning => "learning_engine",
        }
    }

    /// The services this one calls, whose health it reports. Peers are never required:
    /// a peer being down degrades a service but does not make it unready (no cascades).
    pub fn peers(self) -> &'static [ServiceKind] {
        match self {
            ServiceKind::Orchestrator => &[ServiceKind::Specialists, ServiceKind::Learning],
            ServiceKind::Specialists => &[ServiceKind::Orchestrator],
            ServiceKind::Conversation => &[ServiceKind::Orchestrator, ServiceKind::Learning],
            ServiceKind::Learning => &[],
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ServiceKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceKind::ALL
            .into_iter()
            .find(|k| k.short() == s || k.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown service `{s}`: expected one of orchestrator, specialists, conversation, learning"
                )
            })
    }
}
