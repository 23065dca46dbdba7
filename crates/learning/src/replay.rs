//! The replay harness for findings: a stream of judgements with known ground truth fed
//! through the fold and the ranking exactly as the services use them, with the
//! before/after numbers the issue asks for. `bench/learning/replay.sh` runs it on the
//! judged findings recorded in `bench/learning/judgements/`.
//!
//! Protocol, per repository: two users of one tenant take turns; each looks at the
//! top [`TOP`] findings shown to them (dismissed ones left out, the rest in the learned
//! order) and judges every one they have not judged yet, as the recorded verdict says
//! (dismiss a false positive, confirm a true one). After both, the top [`TOP`] is
//! measured again, over all findings and over the findings no user judged (which only
//! rule-level learning can improve).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::feedback::{Context, FeedbackKind, Target};
use crate::rank::{ShownFinding, rank_findings};
use crate::state::{Event, LearnedState, View};

/// Findings a user looks at per turn, and the precision measured on them.
pub const TOP: usize = 10;

/// A finding with its recorded verdict.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct JudgedFinding {
    pub rule_id: String,
    pub severity: String,
    pub path: String,
    pub line: i64,
    pub fingerprint: String,
    /// `tp` or `fp`.
    pub verdict: String,
}

impl JudgedFinding {
    pub fn real(&self) -> bool {
        self.verdict == "tp"
    }
}

/// One repository's judged findings.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct JudgedRepository {
    pub repository: String,
    pub findings: Vec<JudgedFinding>,
}

/// The numbers for one repository.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RepositoryOutcome {
    pub repository: String,
    pub findings: usize,
    pub true_positives: usize,
    /// Precision of the top findings shown before any feedback (none without findings).
    pub precision_before: Option<f64>,
    /// After both users' turns.
    pub precision_after: Option<f64>,
    /// Over findings no user judged: before and after.
    pub unjudged_precision_before: Option<f64>,
    pub unjudged_precision_after: Option<f64>,
    /// Judgements the users gave.
    pub judgements: usize,
    /// Dismissed findings shown again after their dismissal (target: 0).
    pub dismissed_shown_again: usize,
}

fn precision(items: &[&JudgedFinding]) -> Option<f64> {
    (!items.is_empty())
        .then(|| items.iter().filter(|f| f.real()).count() as f64 / items.len() as f64)
}

/// The findings shown in `scope` of `tenant`: not dismissed, in the learned order.
pub fn shown<'a>(findings: &'a [JudgedFinding], view: &View<'_>) -> Vec<&'a JudgedFinding> {
    let visible: Vec<&JudgedFinding> = findings
        .iter()
        .filter(|f| view.judgement(&f.fingerprint).is_none_or(|(real, _)| real))
        .collect();
    let keys: Vec<ShownFinding<'_>> = visible
        .iter()
        .map(|f| ShownFinding {
            rule_id: &f.rule_id,
            severity: &f.severity,
            fingerprint: &f.fingerprint,
            path: &f.path,
            line: f.line,
        })
        .collect();
    rank_findings(&keys, view)
        .into_iter()
        .map(|r| visible[r.index])
        .collect()
}

/// Replays two users' turns on one repository (tenant 1, scope `repo:1`).
pub fn replay_repository(repo: &JudgedRepository) -> RepositoryOutcome {
    const TENANT: i64 = 1;
    const SCOPE: &str = "repo:1";
    let findings = &repo.findings;
    let empty = LearnedState::default();
    let before = shown(findings, &empty.view(TENANT, SCOPE));
    let mut events: Vec<Event> = Vec::new();
    let mut judged: HashSet<&str> = HashSet::new();
    let mut dismissed: HashSet<&str> = HashSet::new();
    let mut state = LearnedState::default();
    let mut shown_again = 0;
    for user in [1, 2] {
        let view = state.view(TENANT, SCOPE);
        let top: Vec<&JudgedFinding> = shown(findings, &view).into_iter().take(TOP).collect();
        shown_again += top
            .iter()
            .filter(|f| dismissed.contains(f.fingerprint.as_str()))
            .count();
        for f in top {
            if !judged.insert(&f.fingerprint) {
                continue;
            }
            if !f.real() {
                dismissed.insert(&f.fingerprint);
            }
            events.push(Event {
                id: events.len() as i64 + 1,
                tenant_id: TENANT,
                user_id: Some(user),
                target: Target::Finding,
                kind: if f.real() {
                    FeedbackKind::Confirm
                } else {
                    FeedbackKind::Dismiss
                },
                rating: None,
                comment: None,
                scope: Some(SCOPE.into()),
                subject: Some(f.fingerprint.clone()),
                context: Context {
                    rule_id: Some(f.rule_id.clone()),
                    severity: Some(f.severity.clone()),
                    path: Some(f.path.clone()),
                    ..Default::default()
                },
                created_at: events.len() as i64 + 1,
            });
        }
        state = LearnedState::build(events.clone());
    }
    let after = shown(findings, &state.view(TENANT, SCOPE));
    shown_again += after
        .iter()
        .filter(|f| dismissed.contains(f.fingerprint.as_str()))
        .count();
    let unjudged = |list: &[&JudgedFinding]| -> Option<f64> {
        let rest: Vec<&JudgedFinding> = list
            .iter()
            .filter(|f| !judged.contains(f.fingerprint.as_str()))
            .take(TOP)
            .copied()
            .collect();
        precision(&rest)
    };
    RepositoryOutcome {
        repository: repo.repository.clone(),
        findings: findings.len(),
        true_positives: findings.iter().filter(|f| f.real()).count(),
        precision_before: precision(&before[..before.len().min(TOP)]),
        precision_after: precision(&after[..after.len().min(TOP)]),
        unjudged_precision_before: unjudged(&before),
        unjudged_precision_after: unjudged(&after),
        judgements: events.len(),
        dismissed_shown_again: shown_again,
    }
}

/// Means over the repositories that had findings (a repository with none has no
/// precision to measure, and is left out rather than counted as 0).
pub fn summary(outcomes: &[RepositoryOutcome]) -> BTreeMap<&'static str, f64> {
    let measured: Vec<&RepositoryOutcome> = outcomes
        .iter()
        .filter(|o| o.precision_before.is_some() && o.precision_after.is_some())
        .collect();
    let n = measured.len().max(1) as f64;
    let mean =
        |f: &dyn Fn(&RepositoryOutcome) -> f64| measured.iter().map(|o| f(o)).sum::<f64>() / n;
    let mut out = BTreeMap::new();
    out.insert("repositories_measured", measured.len() as f64);
    out.insert(
        "precision_before",
        mean(&|o| o.precision_before.unwrap_or_default()),
    );
    out.insert(
        "precision_after",
        mean(&|o| o.precision_after.unwrap_or_default()),
    );
    out.insert(
        "dismissed_shown_again",
        outcomes
            .iter()
            .map(|o| o.dismissed_shown_again as f64)
            .sum(),
    );
    out
}
