//! How learning changes the findings a user is shown: findings of rules users judged
//! noisy here are ranked lower and, with enough evidence, shown a severity or two lower;
//! findings users confirmed come first. Dismissed findings never reach this point (the
//! store leaves them out). With nothing learned the order is by severity alone, so the
//! same function gives the "before" of every comparison.

use qa_core::Severity;
use serde::Serialize;

use crate::precision::Estimate;
use crate::state::View;

/// A finding about to be shown.
#[derive(Debug, Clone, Copy)]
pub struct ShownFinding<'a> {
    pub rule_id: &'a str,
    pub severity: &'a str,
    pub fingerprint: &'a str,
    pub path: &'a str,
    pub line: i64,
}

/// A finding's place in the learned order, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    /// Index into the findings given to [`rank_findings`].
    #[serde(skip)]
    pub index: usize,
    /// The reported severity, parsed once for the sort.
    #[serde(skip)]
    reported: Severity,
    /// Severity weight times the rule's estimated precision here (1 for a confirmed one).
    pub score: f64,
    /// The severity to show: the reported one, demoted for a noisy rule.
    pub severity: String,
    /// The reported severity, when it was demoted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demoted_from: Option<String>,
    /// A user confirmed this very finding (the feedback id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<i64>,
    pub precision: Estimate,
}

fn weight(s: Severity) -> f64 {
    match s {
        Severity::Critical => 1.0,
        Severity::High => 0.8,
        Severity::Medium => 0.6,
        Severity::Low => 0.4,
        Severity::Info => 0.2,
    }
}

/// Ranks findings for display, best first (stable: ties keep severity, then file and
/// line order).
pub fn rank_findings(findings: &[ShownFinding<'_>], view: &View<'_>) -> Vec<Ranked> {
    let mut out: Vec<Ranked> = findings
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let reported = f.severity.parse::<Severity>().unwrap_or(Severity::Info);
            let estimate = view.precision(f.rule_id);
            let confirmed_by = view
                .judgement(f.fingerprint)
                .and_then(|(real, id)| real.then_some(id));
            let demotion = if confirmed_by.is_some() {
                0
            } else {
                estimate.demotion()
            };
            let shown = Severity::ALL
                .iter()
                .position(|s| *s == reported)
                .map_or(reported, |i| {
                    Severity::ALL[i.saturating_sub(demotion.into())]
                });
            let p = if confirmed_by.is_some() {
                1.0
            } else {
                estimate.precision
            };
            Ranked {
                index,
                reported,
                score: weight(reported) * p,
                severity: shown.as_str().to_string(),
                demoted_from: (shown != reported).then(|| reported.as_str().to_string()),
                confirmed_by,
                precision: estimate,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        let (fa, fb) = (&findings[a.index], &findings[b.index]);
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.reported.cmp(&a.reported))
            .then_with(|| fa.path.cmp(fb.path))
            .then_with(|| fa.line.cmp(&fb.line))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::{Context, FeedbackKind, Target};
    use crate::state::{Event, LearnedState};

    fn f<'a>(rule: &'a str, sev: &'a str, fp: &'a str, line: i64) -> ShownFinding<'a> {
        ShownFinding {
            rule_id: rule,
            severity: sev,
            fingerprint: fp,
            path: "a.py",
            line,
        }
    }

    #[test]
    fn nothing_learned_is_severity_order() {
        let items = [
            f("MNT001", "low", "a", 1),
            f("SEC001", "high", "b", 2),
            f("PERF001", "medium", "c", 3),
        ];
        let order: Vec<usize> = rank_findings(&items, &View::empty())
            .iter()
            .map(|r| r.index)
            .collect();
        assert_eq!(order, vec![1, 2, 0]);
    }

    #[test]
    fn a_rule_two_users_dismissed_drops_below_and_is_demoted() {
        let events = (1..=3).map(|i| Event {
            id: i,
            tenant_id: 1,
            user_id: Some(i % 2),
            target: Target::Finding,
            kind: FeedbackKind::Dismiss,
            rating: None,
            comment: None,
            scope: Some("repo:1".into()),
            subject: Some(format!("old{i}")),
            context: Context {
                rule_id: Some("SEC009".into()),
                ..Default::default()
            },
            created_at: i,
        });
        let state = LearnedState::build(events);
        let items = [f("SEC009", "high", "new", 1), f("MNT001", "medium", "m", 2)];
        let ranked = rank_findings(&items, &state.view(1, "repo:1"));
        assert_eq!(ranked[0].index, 1);
        assert_eq!(ranked[1].severity, "medium");
        assert_eq!(ranked[1].demoted_from.as_deref(), Some("high"));
        assert_eq!(ranked[1].precision.evidence, vec![1, 2, 3]);
        // Another tenant is untouched.
        let other = rank_findings(&items, &state.view(2, "repo:1"));
        assert_eq!(other[0].index, 0);
        assert_eq!(other[0].severity, "high");
    }
}
