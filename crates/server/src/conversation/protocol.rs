//! The WebSocket protocol, version 1 (docs/conversation.md): JSON text frames with a
//! `type`. Events the server stores carry an `id` that increases per conversation;
//! connection-level replies (`session`, `pong`, errors about a frame) carry none.

use serde::Deserialize;
use serde_json::{Value, json};

pub const VERSION: u32 = 1;

/// What a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Opens the session: a new conversation, or `conversation_id` to resume one after
    /// `last_event_id`. `token` (an API key or a session token) when the upgrade request
    /// carried no `Authorization` header (browsers cannot set it).
    Hello {
        #[serde(default)]
        v: Option<u32>,
        token: Option<String>,
        conversation_id: Option<i64>,
        #[serde(default)]
        last_event_id: i64,
    },
    /// The same as `hello` with a conversation.
    Resume {
        #[serde(default)]
        v: Option<u32>,
        token: Option<String>,
        conversation_id: i64,
        #[serde(default)]
        last_event_id: i64,
    },
    /// A question. `path`/`analysis_id`, `specialists` and `mode` as for
    /// `POST /api/v1/agent/tasks`.
    Message {
        text: String,
        path: Option<String>,
        analysis_id: Option<i64>,
        specialists: Option<Vec<String>>,
        mode: Option<String>,
    },
    /// Feedback on an answer, a step, a generated test or a finding.
    Feedback {
        /// `answer`, `step`, `test`, `finding` or `correction`.
        target: String,
        /// What it is about: a task id, `task:step`, `task:artifact:n`, a finding id.
        target_id: serde_json::Value,
        /// `rating`, `accept`, `reject`, `dismiss`, `confirm` or `correction`.
        kind: String,
        /// 1 to 5 for a rating (thumbs: 1 down, 5 up).
        rating: Option<i64>,
        /// `up` or `down` instead of a rating.
        thumb: Option<String>,
        /// A correction: the intent that was meant (e.g. `security`).
        intent: Option<String>,
        /// Why (a dismissal: `false_positive`, `wont_fix`, `test_code`).
        reason: Option<String>,
        /// Free text (a correction: "I meant the billing module").
        comment: Option<String>,
    },
    /// Stops the turn being answered.
    Cancel,
    Ping,
}

/// A connection-level error (not stored; `id` is null).
pub fn error(code: &str, detail: impl Into<String>) -> Value {
    json!({ "type": "error", "id": Value::Null, "code": code, "detail": detail.into() })
}
