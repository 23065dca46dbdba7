//! Per-user preferences: set explicitly, or inferred from the user's own feedback, and
//! applied to what that user is shown. An explicit setting always wins; an inferred
//! one shows the feedback ids it came from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How long answers should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerLength {
    /// The answer's first paragraph (its summary), with a pointer to the rest.
    Short,
    /// The whole answer.
    Full,
}

/// What a user asked for outright (`PUT /api/v1/preferences`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Explicit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_length: Option<AnswerLength>,
    /// The test framework generated tests should use when the project allows a choice
    /// (`pytest`, `vitest`, `jest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_framework: Option<String>,
}

/// Test frameworks a preference may name.
pub const FRAMEWORKS: &[&str] = &["pytest", "vitest", "jest"];

impl Explicit {
    pub fn validate(&self) -> Result<(), String> {
        match &self.test_framework {
            Some(f) if !FRAMEWORKS.contains(&f.as_str()) => Err(format!(
                "unknown test framework `{f}`: one of {}",
                FRAMEWORKS.join(", ")
            )),
            _ => Ok(()),
        }
    }
}

/// What a user's feedback says about their preferences (kept in the learned state).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Feedback asking for shorter (true) or longer (false) answers, by id.
    pub length_votes: Vec<(bool, i64)>,
    /// Ratings of long and of short answers: (sum, count) each.
    pub long_ratings: (i64, u32),
    pub short_ratings: (i64, u32),
    /// Accepted minus rejected generated tests, by framework.
    pub frameworks: BTreeMap<String, i32>,
    /// The newest feedback ids behind the framework counts.
    pub framework_evidence: Vec<i64>,
}

/// An answer this long (characters) or longer is "long" for the length signal.
pub const LONG_ANSWER: usize = 1200;
/// Shorter than this is "short".
pub const SHORT_ANSWER: usize = 600;

impl Signals {
    /// Reads a comment for a length wish.
    pub fn comment(&mut self, text: &str, feedback_id: i64) {
        let t = text.to_lowercase();
        const SHORTER: &[&str] = &[
            "shorter",
            "too long",
            "too verbose",
            "tl;dr",
            "tldr",
            "less text",
            "more concise",
            "be brief",
        ];
        const LONGER: &[&str] = &[
            "more detail",
            "too short",
            "elaborate",
            "explain more",
            "longer",
            "in depth",
        ];
        if SHORTER.iter().any(|w| t.contains(w)) {
            self.length_votes.push((true, feedback_id));
        } else if LONGER.iter().any(|w| t.contains(w)) {
            self.length_votes.push((false, feedback_id));
        }
    }

    /// Counts a rating of an answer of `chars` characters.
    pub fn rated(&mut self, chars: usize, rating: i32) {
        if chars >= LONG_ANSWER {
            self.long_ratings.0 += i64::from(rating);
            self.long_ratings.1 += 1;
        } else if chars < SHORT_ANSWER {
            self.short_ratings.0 += i64::from(rating);
            self.short_ratings.1 += 1;
        }
    }

    pub fn test_verdict(&mut self, framework: &str, accepted: bool, feedback_id: i64) {
        *self.frameworks.entry(framework.to_string()).or_default() += if accepted { 1 } else { -1 };
        self.framework_evidence.push(feedback_id);
        if self.framework_evidence.len() > 20 {
            self.framework_evidence.remove(0);
        }
    }

    /// The answer length the feedback points to: the newest two wishes agreeing, or
    /// short answers rated at least a point better than long ones (two of each at least).
    pub fn answer_length(&self) -> Option<(AnswerLength, Vec<i64>)> {
        if let [.., (a, ia), (b, ib)] = self.length_votes.as_slice()
            && a == b
        {
            let l = if *a {
                AnswerLength::Short
            } else {
                AnswerLength::Full
            };
            return Some((l, vec![*ia, *ib]));
        }
        let mean = |(s, n): (i64, u32)| (n >= 2).then(|| s as f64 / f64::from(n));
        match (mean(self.short_ratings), mean(self.long_ratings)) {
            (Some(s), Some(l)) if s >= l + 1.0 => Some((AnswerLength::Short, Vec::new())),
            _ => None,
        }
    }

    /// The framework with the most net acceptances (at least two).
    pub fn test_framework(&self) -> Option<(String, Vec<i64>)> {
        self.frameworks
            .iter()
            .filter(|(_, n)| **n >= 2)
            .max_by_key(|(_, n)| **n)
            .map(|(f, _)| (f.clone(), self.framework_evidence.clone()))
    }
}

/// Where an effective preference comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effective<T> {
    pub value: T,
    /// `explicit`, `inferred` or `default`.
    pub source: &'static str,
    /// For an inferred one: the feedback ids it came from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<i64>,
}

/// A user's preferences in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preferences {
    pub answer_length: Effective<AnswerLength>,
    pub test_framework: Option<Effective<String>>,
}

/// Explicit settings over inferred ones over the defaults.
pub fn effective(explicit: &Explicit, signals: Option<&Signals>) -> Preferences {
    let answer_length = match (
        explicit.answer_length,
        signals.and_then(Signals::answer_length),
    ) {
        (Some(l), _) => Effective {
            value: l,
            source: "explicit",
            evidence: Vec::new(),
        },
        (None, Some((l, evidence))) => Effective {
            value: l,
            source: "inferred",
            evidence,
        },
        (None, None) => Effective {
            value: AnswerLength::Full,
            source: "default",
            evidence: Vec::new(),
        },
    };
    let test_framework = match (
        &explicit.test_framework,
        signals.and_then(Signals::test_framework),
    ) {
        (Some(f), _) => Some(Effective {
            value: f.clone(),
            source: "explicit",
            evidence: Vec::new(),
        }),
        (None, Some((f, evidence))) => Some(Effective {
            value: f,
            source: "inferred",
            evidence,
        }),
        (None, None) => None,
    };
    Preferences {
        answer_length,
        test_framework,
    }
}

/// An answer's text at the preferred length: for `short`, its first paragraph, and
/// where the rest is.
pub fn shorten(text: &str, length: AnswerLength, full_at: &str) -> Option<String> {
    if length != AnswerLength::Short || text.chars().count() < SHORT_ANSWER {
        return None;
    }
    let first = text
        .split("\n\n")
        .find(|p| !p.trim().is_empty() && !p.trim_start().starts_with('#'))
        .unwrap_or(text)
        .trim();
    Some(format!(
        "{first}\n\n_Shortened to your preference (answer length: short); the whole answer: {full_at}._"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_wishes_for_shorter_answers_make_them_short_until_set_otherwise() {
        let mut s = Signals::default();
        s.comment("way too long, just tell me what to fix", 4);
        assert_eq!(
            effective(&Explicit::default(), Some(&s))
                .answer_length
                .source,
            "default"
        );
        s.comment("shorter please", 9);
        let p = effective(&Explicit::default(), Some(&s));
        assert_eq!(p.answer_length.value, AnswerLength::Short);
        assert_eq!(p.answer_length.evidence, vec![4, 9]);
        let explicit = Explicit {
            answer_length: Some(AnswerLength::Full),
            ..Default::default()
        };
        assert_eq!(
            effective(&explicit, Some(&s)).answer_length.source,
            "explicit"
        );
    }

    #[test]
    fn better_rated_short_answers_are_a_preference() {
        let mut s = Signals::default();
        s.rated(300, 5);
        s.rated(400, 4);
        s.rated(3000, 2);
        s.rated(2500, 3);
        assert_eq!(s.answer_length().map(|x| x.0), Some(AnswerLength::Short));
    }

    #[test]
    fn a_short_answer_keeps_its_summary_and_says_where_the_rest_is() {
        let text = format!(
            "Summary: fix `eval` in a.py:3.\n\n## Details\n\n{}",
            "x".repeat(900)
        );
        let short = shorten(&text, AnswerLength::Short, "GET /api/v1/agent/tasks/7").unwrap();
        assert!(short.starts_with("Summary: fix `eval` in a.py:3."));
        assert!(short.contains("/api/v1/agent/tasks/7") && !short.contains("xxx"));
        assert!(shorten(&text, AnswerLength::Full, "").is_none());
        assert!(shorten("tiny", AnswerLength::Short, "").is_none());
    }

    #[test]
    fn accepted_tests_point_to_a_framework() {
        let mut s = Signals::default();
        s.test_verdict("vitest", true, 1);
        s.test_verdict("jest", false, 2);
        assert!(s.test_framework().is_none());
        s.test_verdict("vitest", true, 3);
        assert_eq!(s.test_framework().unwrap().0, "vitest");
        assert!(
            Explicit {
                test_framework: Some("nose".into()),
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }
}
