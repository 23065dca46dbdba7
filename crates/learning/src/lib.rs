//! qa-agent's learning, without I/O: what feedback a client may give
//! ([`feedback`]), the learned state folded from the feedback that counts ([`state`]),
//! and how that state changes what users are shown ([`rank`]).
//!
//! Learning is a deterministic fold over stored feedback: any learning-engine replica
//! rebuilds the same state from the database, a rollback or a deleted user is a fold
//! over fewer events, and every learned number keeps the ids of the feedback behind it.

pub mod feedback;
pub mod precision;
pub mod prefs;
pub mod rank;
pub mod ratings;
pub mod replay;
pub mod routing;
pub mod state;

pub use feedback::{Context, FeedbackError, FeedbackKind, Submission, Target, Validated};
pub use precision::{Cell, Estimate, EstimateLevel};
pub use rank::{Ranked, ShownFinding, rank_findings};
pub use ratings::{Gauges, Judgement, Rating};
pub use state::{Event, LearnedState, STATE_VERSION, TenantState, View};
