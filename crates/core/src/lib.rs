//! Shared vocabulary of qa-agent: languages, severities, findings and source locations.
//!
//! Every other crate speaks in these types; this crate has no logic beyond parsing and
//! ordering them, so it can be depended on from anywhere without pulling in parsers or IO.

mod finding;
mod language;
mod location;
mod severity;

pub use finding::{Finding, RuleFamily, Suppression, SuppressionKind};
pub use language::Language;
pub use location::Span;
pub use severity::{ParseSeverityError, Severity};
