//! Taking feedback: a checked submission becomes a feedback row with what it was about
//! resolved (a finding's rule and fingerprint, an answer's question and route), or a
//! 404 when that thing is not the caller's. One path for the API and the WebSocket.

use qa_learning::{Context, FeedbackError, FeedbackKind, Submission, Target, Validated};
use qa_store::{NewFeedback, Principal, StoreError};

/// Why feedback was not taken.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
    /// What it is about does not exist, or is not the caller's.
    #[error("{0} does not exist")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<FeedbackError> for IntakeError {
    fn from(e: FeedbackError) -> Self {
        match e {
            FeedbackError::Invalid(m) => IntakeError::Invalid(m),
            FeedbackError::TooLarge(m) => IntakeError::TooLarge(m),
        }
    }
}

impl From<IntakeError> for crate::error::ApiError {
    fn from(e: IntakeError) -> Self {
        use crate::error::ApiError;
        match e {
            IntakeError::Invalid(m) => ApiError::invalid(m),
            IntakeError::TooLarge(m) => ApiError::too_large(m),
            IntakeError::NotFound(what) => ApiError::not_found(what),
            IntakeError::Store(e) => ApiError::from(e),
        }
    }
}

/// The planner's intent names, which a correction may name.
pub fn intent_names() -> Vec<&'static str> {
    qa_agents::Intent::ALL.iter().map(|i| i.as_str()).collect()
}

/// Checks a submission and resolves what it is about, for `who`.
pub async fn resolve(
    db: &qa_store::Database,
    who: &Principal,
    submission: Submission,
) -> Result<NewFeedback, IntakeError> {
    let v = submission.validate(&intent_names())?;
    let mut context = Context::default();
    let (mut scope, mut subject) = (None, None);
    match v.target {
        Target::Finding => {
            let id = number("finding", &v.target_id)?;
            let f = db
                .finding_subject(who.tenant_id, id)
                .await?
                .ok_or_else(|| IntakeError::NotFound(format!("finding {id}")))?;
            context.rule_id = Some(f.rule_id);
            context.severity = Some(f.severity);
            context.path = Some(f.path);
            scope = Some(f.scope);
            subject = Some(f.fingerprint);
        }
        Target::Answer | Target::Step | Target::Correction => {
            // A step is `<task id>:<step number>`.
            let t = own_answer(db, who, &v.target_id).await?;
            context.question = Some(t.question);
            context.intent = t.intent;
            context.specialists = t
                .specialists
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            let answer = t
                .answer
                .as_deref()
                .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok());
            let field = |name: &str| {
                answer
                    .as_ref()
                    .and_then(|a| a.get(name).and_then(|m| m.as_str()).map(str::to_string))
            };
            context.mode = field("mode");
            context.answer_chars = field("text").map(|t| t.chars().count());
            context.secondary_intent = field("secondary_intent");
            if v.kind == FeedbackKind::Correction {
                context.corrected_intent = v.intent.clone();
            }
        }
        Target::Test if v.target_id.contains(":artifact:") => {
            // A test an answer wrote: `<task id>:artifact:<n>`.
            let t = own_answer(db, who, &v.target_id).await?;
            context.question = Some(t.question);
            context.intent = t.intent;
        }
        Target::Test => {
            let generation = v.target_id.split(':').next().unwrap_or_default();
            let id = number("generated test", generation)?;
            let generated = db
                .generated_tests(who.tenant_id, id)
                .await?
                .ok_or_else(|| IntakeError::NotFound(format!("generated test {id}")))?;
            context.framework = Some(generated.framework);
        }
    }
    Ok(new_feedback(who, v, context, scope, subject))
}

/// The caller's answer whose task id starts `target_id` (`17`, `17:3`, `17:artifact:0`):
/// answers are their asker's, so another user's is "not found" too.
async fn own_answer(
    db: &qa_store::Database,
    who: &Principal,
    target_id: &str,
) -> Result<qa_store::TraceRecord, IntakeError> {
    let id = number("answer", target_id.split(':').next().unwrap_or_default())?;
    db.trace(who.tenant_id, id)
        .await?
        .filter(|t| t.user_id.is_none_or(|u| u == who.user_id))
        .ok_or_else(|| IntakeError::NotFound(format!("answer {id}")))
}

/// An id in a target id; one that is not a number names nothing that exists.
fn number(what: &str, id: &str) -> Result<i64, IntakeError> {
    id.parse::<i64>()
        .map_err(|_| IntakeError::NotFound(format!("{what} `{id}`")))
}

fn new_feedback(
    who: &Principal,
    v: Validated,
    context: Context,
    scope: Option<String>,
    subject: Option<String>,
) -> NewFeedback {
    NewFeedback {
        tenant_id: who.tenant_id,
        user_id: Some(who.user_id),
        target_kind: v.target.as_str().into(),
        target_id: v.target_id,
        kind: v.kind.as_str().into(),
        rating: v.rating,
        reason: v.reason,
        comment: v.comment,
        context: serde_json::to_string(&context).ok(),
        scope,
        subject,
    }
}
