//! The learned state: a deterministic fold over the feedback that counts, published as a
//! versioned snapshot (any replica rebuilds the same one from the database).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::feedback::{Context, FeedbackKind, Target};
use crate::precision::{self, Cell, Estimate, GLOBAL_MIN_TENANTS};

/// Bumped when the snapshot's shape changes; an older snapshot is rebuilt, not read.
pub const STATE_VERSION: u32 = 1;

/// One counted piece of feedback, as the fold reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub tenant_id: i64,
    pub user_id: Option<i64>,
    pub target: Target,
    pub kind: FeedbackKind,
    pub rating: Option<i32>,
    /// The user's free text (what a correction meant, why a rating).
    pub comment: Option<String>,
    /// Findings: `repo:<id>` (or `tenant`) and the fingerprint.
    pub scope: Option<String>,
    pub subject: Option<String>,
    pub context: Context,
    pub created_at: i64,
}

/// What one tenant taught.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TenantState {
    /// scope -> rule -> judgements there.
    pub repos: BTreeMap<String, BTreeMap<String, Cell>>,
    /// rule -> judgements in every repository of the tenant.
    pub rules: BTreeMap<String, Cell>,
    /// scope -> fingerprint -> (newest judgement is "real", its feedback id).
    pub judged: BTreeMap<String, BTreeMap<String, (bool, i64)>>,
    /// Corrected questions: (meant intent, question, feedback id), oldest first.
    pub corrections: Vec<(String, String, i64)>,
    /// Generated tests accepted and rejected.
    pub tests_accepted: u32,
    pub tests_rejected: u32,
    /// context (`intent` or `intent|other concern`) -> route -> ratings of answers
    /// that took it.
    #[serde(default)]
    pub routes: crate::routing::Routes,
    /// user id -> what their feedback says about their preferences.
    #[serde(default)]
    pub users: BTreeMap<i64, crate::prefs::Signals>,
}

/// Everything learned, as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedState {
    pub version: u32,
    /// The newest feedback id folded in (a rollback sets aside the feedback after the
    /// previous snapshot's watermark).
    pub watermark: i64,
    /// Counted feedback folded in.
    pub events: u64,
    pub tenants: BTreeMap<i64, TenantState>,
    /// rule -> one share per tenant (see [`precision::tenant_share`]), for rules judged
    /// by at least [`GLOBAL_MIN_TENANTS`] tenants only.
    pub global_rules: BTreeMap<String, Cell>,
}

impl Default for LearnedState {
    fn default() -> Self {
        LearnedState {
            version: STATE_VERSION,
            watermark: 0,
            events: 0,
            tenants: BTreeMap::new(),
            global_rules: BTreeMap::new(),
        }
    }
}

impl LearnedState {
    /// Folds events (in id order) into the state.
    pub fn build(events: impl IntoIterator<Item = Event>) -> LearnedState {
        let mut s = LearnedState::default();
        for e in events {
            s.apply(&e);
        }
        s.finish();
        s
    }

    /// Folds one more event in; call [`LearnedState::finish`] after the last one.
    pub fn apply(&mut self, e: &Event) {
        self.watermark = self.watermark.max(e.id);
        self.events += 1;
        let t = self.tenants.entry(e.tenant_id).or_default();
        if let Some(user) = e.user_id {
            let signals = t.users.entry(user).or_default();
            if let Some(c) = &e.comment {
                signals.comment(c, e.id);
            }
            if let (FeedbackKind::Rating, Some(chars), Some(r)) =
                (e.kind, e.context.answer_chars, e.rating)
            {
                signals.rated(chars, r);
            }
            if let (Target::Test, Some(f)) = (e.target, &e.context.framework) {
                match e.kind {
                    FeedbackKind::Accept => signals.test_verdict(f, true, e.id),
                    FeedbackKind::Reject => signals.test_verdict(f, false, e.id),
                    _ => {}
                }
            }
        }
        match (e.target, e.kind) {
            (Target::Finding, FeedbackKind::Dismiss | FeedbackKind::Confirm) => {
                let confirmed = e.kind == FeedbackKind::Confirm;
                let (Some(scope), Some(fp)) = (&e.scope, &e.subject) else {
                    return;
                };
                if let Some(rule) = &e.context.rule_id {
                    t.repos
                        .entry(scope.clone())
                        .or_default()
                        .entry(rule.clone())
                        .or_default()
                        .add(e.user_id, confirmed, e.id);
                    t.rules
                        .entry(rule.clone())
                        .or_default()
                        .add(e.user_id, confirmed, e.id);
                }
                t.judged
                    .entry(scope.clone())
                    .or_default()
                    .insert(fp.clone(), (confirmed, e.id));
            }
            (Target::Answer, FeedbackKind::Rating) => {
                if let (Some(intent), Some(rating)) = (&e.context.intent, e.rating)
                    && !e.context.specialists.is_empty()
                {
                    let key = crate::routing::RouteKey::new(
                        e.context.mode.as_deref().unwrap_or("single"),
                        &e.context.specialists,
                    );
                    // Learned per intent and, more specifically, per intent and the
                    // question's other concern.
                    let contexts = std::iter::once(intent.clone()).chain(
                        e.context
                            .secondary_intent
                            .as_ref()
                            .map(|o| format!("{intent}|{o}")),
                    );
                    for context in contexts {
                        t.routes
                            .entry(context)
                            .or_default()
                            .entry(key.label())
                            .or_insert_with(|| (key.clone(), Default::default()))
                            .1
                            .add_for(e.context.question.as_deref(), rating, e.id);
                    }
                }
            }
            (_, FeedbackKind::Correction) => {
                if let (Some(intent), Some(q)) = (&e.context.corrected_intent, &e.context.question)
                {
                    t.corrections.push((intent.clone(), q.clone(), e.id));
                }
            }
            (Target::Test, FeedbackKind::Accept) => t.tests_accepted += 1,
            (Target::Test, FeedbackKind::Reject) => t.tests_rejected += 1,
            _ => {}
        }
    }

    /// Derives what spans tenants: the global rule cells.
    pub fn finish(&mut self) {
        let mut global: BTreeMap<String, Cell> = BTreeMap::new();
        for (tenant, t) in &self.tenants {
            for (rule, cell) in &t.rules {
                global
                    .entry(rule.clone())
                    .or_default()
                    .merge(&precision::tenant_share(*tenant, cell));
            }
        }
        global.retain(|_, c| c.users() >= GLOBAL_MIN_TENANTS);
        self.global_rules = global;
    }

    /// What the state says about findings shown to `tenant` in `scope`.
    pub fn view(&self, tenant_id: i64, scope: &str) -> View<'_> {
        View {
            state: Some(self),
            tenant: self.tenants.get(&tenant_id),
            tenant_id,
            scope: scope.to_string(),
        }
    }

    /// The learned items, for velocity: precision cells, judged fingerprints, corrections.
    pub fn size(&self) -> usize {
        self.tenants
            .values()
            .map(|t| {
                t.repos.values().map(BTreeMap::len).sum::<usize>()
                    + t.judged.values().map(BTreeMap::len).sum::<usize>()
                    + t.corrections.len()
                    + t.routes.values().map(BTreeMap::len).sum::<usize>()
            })
            .sum()
    }
}

/// The learned state as it applies to one tenant's findings in one repository.
#[derive(Debug, Clone)]
pub struct View<'a> {
    state: Option<&'a LearnedState>,
    tenant: Option<&'a TenantState>,
    tenant_id: i64,
    scope: String,
}

impl View<'_> {
    /// Nothing learned: findings ranked by severity alone.
    pub fn empty() -> View<'static> {
        View {
            state: None,
            tenant: None,
            tenant_id: 0,
            scope: String::new(),
        }
    }

    /// The rule's precision here. Other tenants count only through the global cell,
    /// which leaves out this tenant's own share (it is counted at its own levels).
    pub fn precision(&self, rule: &str) -> Estimate {
        let repo = self
            .tenant
            .and_then(|t| t.repos.get(&self.scope))
            .and_then(|r| r.get(rule));
        let tenant = self.tenant.and_then(|t| t.rules.get(rule));
        let global = self
            .state
            .and_then(|s| s.global_rules.get(rule))
            .map(|g| {
                let mut others = g.clone();
                others.by_user.remove(&self.tenant_id);
                others
            })
            .filter(|g| g.users() >= GLOBAL_MIN_TENANTS);
        precision::estimate(repo, tenant, global.as_ref())
    }

    /// The newest judgement of this fingerprint here: `Some(true)` confirmed real.
    pub fn judgement(&self, fingerprint: &str) -> Option<(bool, i64)> {
        self.tenant
            .and_then(|t| t.judged.get(&self.scope))
            .and_then(|j| j.get(fingerprint))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(id: i64, tenant: i64, user: i64, rule: &str, fp: &str, real: bool) -> Event {
        Event {
            id,
            tenant_id: tenant,
            user_id: Some(user),
            target: Target::Finding,
            kind: if real {
                FeedbackKind::Confirm
            } else {
                FeedbackKind::Dismiss
            },
            rating: None,
            comment: None,
            scope: Some("repo:1".into()),
            subject: Some(fp.into()),
            context: Context {
                rule_id: Some(rule.into()),
                ..Default::default()
            },
            created_at: id,
        }
    }

    #[test]
    fn the_newest_judgement_of_a_fingerprint_wins() {
        let s = LearnedState::build([
            judge(1, 1, 1, "SEC001", "fp", false),
            judge(2, 1, 2, "SEC001", "fp", true),
        ]);
        assert_eq!(s.view(1, "repo:1").judgement("fp"), Some((true, 2)));
        assert_eq!(s.watermark, 2);
        assert_eq!(s.events, 2);
    }

    #[test]
    fn one_tenant_never_changes_another_tenants_view() {
        let mut events = Vec::new();
        for i in 0..30 {
            events.push(judge(i, 1, i, "MNT001", &format!("f{i}"), false));
        }
        let s = LearnedState::build(events);
        assert!(s.global_rules.is_empty());
        let other = s.view(2, "repo:1").precision("MNT001");
        assert_eq!(other.level, precision::EstimateLevel::Prior);
        let own = s.view(1, "repo:1").precision("MNT001");
        assert!(own.precision < 0.2);
    }

    #[test]
    fn three_tenants_agreeing_change_the_global_view() {
        let mut events = Vec::new();
        let mut id = 0;
        for tenant in 1..=3 {
            for user in 1..=2 {
                id += 1;
                events.push(judge(id, tenant, user, "PERF002", &format!("f{id}"), false));
            }
        }
        let s = LearnedState::build(events);
        assert!(s.global_rules.contains_key("PERF002"));
        // A fourth tenant sees the three others' verdict.
        let fourth = s.view(4, "repo:9").precision("PERF002");
        assert_eq!(fourth.level, precision::EstimateLevel::Global);
        assert!(fourth.precision < 0.5, "{fourth:?}");
        // A tenant among the three sees only two others at the global level: not enough.
        let first = s.view(1, "repo:9").precision("PERF002");
        assert_eq!(first.level, precision::EstimateLevel::Tenant);
    }
}
