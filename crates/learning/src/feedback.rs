//! The feedback a client may give, checked before anything is stored: what it is about,
//! what kind it is, and bounds on every field (one check for the API and the WebSocket).

use serde::{Deserialize, Serialize};

/// What feedback is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// An answer (a reasoning task id).
    Answer,
    /// One reasoning step of an answer (`<task id>:<step>`).
    Step,
    /// A generated test (`<generation id>:<test name>`).
    Test,
    /// A finding of an analysis (its id in the findings list).
    Finding,
    /// A correction of what an answer understood (the task id).
    Correction,
}

impl Target {
    pub const ALL: [Target; 5] = [
        Target::Answer,
        Target::Step,
        Target::Test,
        Target::Finding,
        Target::Correction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Target::Answer => "answer",
            Target::Step => "step",
            Target::Test => "test",
            Target::Finding => "finding",
            Target::Correction => "correction",
        }
    }

    pub fn parse(s: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What the user said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    Rating,
    Accept,
    Reject,
    Dismiss,
    Confirm,
    Correction,
}

impl FeedbackKind {
    pub const ALL: [FeedbackKind; 6] = [
        FeedbackKind::Rating,
        FeedbackKind::Accept,
        FeedbackKind::Reject,
        FeedbackKind::Dismiss,
        FeedbackKind::Confirm,
        FeedbackKind::Correction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackKind::Rating => "rating",
            FeedbackKind::Accept => "accept",
            FeedbackKind::Reject => "reject",
            FeedbackKind::Dismiss => "dismiss",
            FeedbackKind::Confirm => "confirm",
            FeedbackKind::Correction => "correction",
        }
    }

    pub fn parse(s: &str) -> Option<FeedbackKind> {
        FeedbackKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The targets this kind applies to.
    fn targets(self) -> &'static [Target] {
        match self {
            FeedbackKind::Rating => &[Target::Answer, Target::Step],
            // An answer's artifact (`<task>:artifact:<n>`) or a generation's test.
            FeedbackKind::Accept | FeedbackKind::Reject => &[Target::Test, Target::Answer],
            FeedbackKind::Dismiss | FeedbackKind::Confirm => &[Target::Finding],
            FeedbackKind::Correction => &[Target::Correction, Target::Answer],
        }
    }
}

/// Why a finding was dismissed.
pub const DISMISS_REASONS: &[&str] = &["false_positive", "wont_fix", "test_code"];

/// The longest comment or correction kept (bytes).
pub const MAX_COMMENT: usize = 4000;
/// The longest target id (bytes).
pub const MAX_TARGET_ID: usize = 200;

/// Feedback as a client sends it (API body or WebSocket frame).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// `answer`, `step`, `test`, `finding` or `correction`.
    pub target: String,
    /// The id of what it is about (a task id, a finding id, ...).
    pub target_id: serde_json::Value,
    /// `rating`, `accept`, `reject`, `dismiss`, `confirm` or `correction`.
    pub kind: String,
    /// 1 to 5, for `rating`.
    pub rating: Option<i64>,
    /// `up` or `down`, for `rating`, instead of a number (5 or 1).
    pub thumb: Option<String>,
    /// Why a finding is dismissed: `false_positive`, `wont_fix` or `test_code`.
    pub reason: Option<String>,
    /// Free text: what was meant, why.
    pub comment: Option<String>,
    /// For a correction: the intent that was meant (e.g. `security`), when known.
    pub intent: Option<String>,
}

/// A submission that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub target: Target,
    pub target_id: String,
    pub kind: FeedbackKind,
    pub rating: Option<i32>,
    pub reason: Option<String>,
    pub comment: Option<String>,
    pub intent: Option<String>,
}

/// Why feedback was refused, in words the client can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeedbackError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
}

impl Submission {
    /// Checks the submission; `intents` is the planner's intent names (for corrections).
    pub fn validate(self, intents: &[&str]) -> Result<Validated, FeedbackError> {
        let invalid = |m: String| Err(FeedbackError::Invalid(m));
        let Some(target) = Target::parse(&self.target) else {
            return invalid(format!(
                "`target` is one of {}",
                Target::ALL.map(Target::as_str).join(", ")
            ));
        };
        let Some(kind) = FeedbackKind::parse(&self.kind) else {
            return invalid(format!(
                "`kind` is one of {}",
                FeedbackKind::ALL.map(FeedbackKind::as_str).join(", ")
            ));
        };
        if !kind.targets().contains(&target) {
            return invalid(format!(
                "`{}` feedback is about {}, not a {}",
                kind.as_str(),
                kind.targets()
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                target.as_str()
            ));
        }
        let target_id = match &self.target_id {
            serde_json::Value::String(s) => s.trim().to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return invalid("`target_id` is a string or a number".into()),
        };
        if target_id.is_empty() {
            return invalid("`target_id` is empty".into());
        }
        if target_id.len() > MAX_TARGET_ID {
            return Err(FeedbackError::TooLarge(format!(
                "`target_id` is at most {MAX_TARGET_ID} bytes"
            )));
        }
        if let Some(c) = &self.comment
            && c.len() > MAX_COMMENT
        {
            return Err(FeedbackError::TooLarge(format!(
                "`comment` is at most {MAX_COMMENT} bytes ({} sent); shorten it",
                c.len()
            )));
        }
        let rating = match (kind, self.rating, self.thumb.as_deref()) {
            (FeedbackKind::Rating, Some(r), None) if (1..=5).contains(&r) => Some(r as i32),
            (FeedbackKind::Rating, None, Some("up")) => Some(5),
            (FeedbackKind::Rating, None, Some("down")) => Some(1),
            (FeedbackKind::Rating, Some(_), None) => return invalid("a rating is 1 to 5".into()),
            (FeedbackKind::Rating, _, _) => {
                return invalid(
                    "a rating needs `rating` (1 to 5) or `thumb` (up or down), one of them".into(),
                );
            }
            (_, None, None) => None,
            _ => return invalid("`rating` and `thumb` go with `kind: rating` only".into()),
        };
        let reason = match (kind, self.reason) {
            (FeedbackKind::Dismiss, None) => Some("false_positive".to_string()),
            (FeedbackKind::Dismiss, Some(r)) if DISMISS_REASONS.contains(&r.as_str()) => Some(r),
            (FeedbackKind::Dismiss, Some(r)) => {
                return invalid(format!(
                    "unknown dismissal reason `{r}`: one of {}",
                    DISMISS_REASONS.join(", ")
                ));
            }
            (_, None) => None,
            (_, Some(r)) if r.len() <= 200 => Some(r),
            (_, Some(_)) => return invalid("`reason` is at most 200 bytes".into()),
        };
        let intent = match (kind, self.intent) {
            (FeedbackKind::Correction, Some(i)) if intents.contains(&i.as_str()) => Some(i),
            (FeedbackKind::Correction, Some(i)) => {
                return invalid(format!(
                    "unknown intent `{i}`: one of {}",
                    intents.join(", ")
                ));
            }
            (FeedbackKind::Correction, None)
                if self.comment.as_deref().is_none_or(|c| c.trim().is_empty()) =>
            {
                return invalid(
                    "a correction says what was meant: `intent` (e.g. security) or `comment`"
                        .into(),
                );
            }
            (_, Some(_)) if kind != FeedbackKind::Correction => {
                return invalid("`intent` goes with `kind: correction` only".into());
            }
            (_, i) => i,
        };
        Ok(Validated {
            target,
            target_id,
            kind,
            rating,
            reason,
            comment: self.comment.filter(|c| !c.trim().is_empty()),
            intent,
        })
    }
}

/// What feedback was about, resolved by the service when it was taken and stored with
/// it, so learning never needs the rows it pointed at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// Findings: the rule, its severity as reported, the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Answers: the question, the intent the planner understood, the route it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// The question's other concern the planner saw (routes are learned per intent
    /// and per intent and other concern).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_intent: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub specialists: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Answers: how long the answer's text was (characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_chars: Option<usize>,
    /// Generated tests: their framework (`pytest`, `vitest`, `jest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// Corrections: the intent the user meant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_intent: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTENTS: &[&str] = &["security", "testing"];

    fn sub(target: &str, kind: &str) -> Submission {
        Submission {
            target: target.into(),
            target_id: serde_json::json!(7),
            kind: kind.into(),
            ..Default::default()
        }
    }

    #[test]
    fn ratings_are_one_to_five_or_a_thumb() {
        let mut s = sub("answer", "rating");
        s.rating = Some(6);
        assert!(s.clone().validate(INTENTS).is_err());
        s.rating = Some(4);
        assert_eq!(s.validate(INTENTS).unwrap().rating, Some(4));
        let mut t = sub("answer", "rating");
        t.thumb = Some("down".into());
        assert_eq!(t.validate(INTENTS).unwrap().rating, Some(1));
        assert!(sub("answer", "rating").validate(INTENTS).is_err());
    }

    #[test]
    fn kinds_fit_their_targets() {
        let e = sub("answer", "dismiss").validate(INTENTS).unwrap_err();
        assert!(e.to_string().contains("about finding"), "{e}");
        let v = sub("finding", "dismiss").validate(INTENTS).unwrap();
        assert_eq!(v.reason.as_deref(), Some("false_positive"));
        let mut bad = sub("finding", "dismiss");
        bad.reason = Some("meh".into());
        assert!(
            bad.validate(INTENTS)
                .unwrap_err()
                .to_string()
                .contains("wont_fix")
        );
    }

    #[test]
    fn huge_comments_are_too_large_and_corrections_say_what_was_meant() {
        let mut s = sub("correction", "correction");
        assert!(s.clone().validate(INTENTS).is_err());
        s.intent = Some("security".into());
        assert!(s.clone().validate(INTENTS).is_ok());
        s.intent = Some("astrology".into());
        assert!(s.clone().validate(INTENTS).is_err());
        s.intent = None;
        s.comment = Some("x".repeat(MAX_COMMENT + 1));
        assert!(matches!(
            s.validate(INTENTS),
            Err(FeedbackError::TooLarge(_))
        ));
    }
}
