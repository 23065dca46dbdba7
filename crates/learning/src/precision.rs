//! Rule precision: how often users find a rule's findings real, as a Beta posterior over
//! confirmed vs dismissed judgements, per repository, backed off to the tenant's other
//! repositories and, once at least [`GLOBAL_MIN_TENANTS`] tenants judged a rule, to all
//! tenants.
//!
//! Poisoning is bounded by weights, not trust: within a cell each user's judgements
//! together weigh at most [`USER_CAP`], so ten users saying "noise" move a rule more than
//! one user saying it ten times; across tenants each tenant weighs at most as much as
//! one user, and one tenant alone never changes what another tenant sees.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most one user's judgements weigh in one cell.
pub const USER_CAP: f64 = 3.0;
/// Tenants that must have judged a rule before the global estimate is used.
pub const GLOBAL_MIN_TENANTS: usize = 3;
/// The prior: rules are presumed right twice as often as wrong (mean 0.67, weight 3).
pub const PRIOR: (f64, f64) = (2.0, 1.0);
/// How much a tenant's judgements in its other repositories count here.
pub const OTHER_REPOS_WEIGHT: f64 = 0.5;
/// Feedback ids kept as evidence per cell (the newest).
const EVIDENCE: usize = 20;

/// Judgements of one rule in one place, raw per user; weights are applied on read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// user id (0: unknown) -> (confirmed, dismissed)
    pub by_user: BTreeMap<i64, (u32, u32)>,
    /// The newest feedback ids behind this cell.
    pub evidence: Vec<i64>,
}

impl Cell {
    pub fn add(&mut self, user: Option<i64>, confirmed: bool, feedback_id: i64) {
        let e = self.by_user.entry(user.unwrap_or(0)).or_default();
        if confirmed {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
        self.evidence.push(feedback_id);
        if self.evidence.len() > EVIDENCE {
            self.evidence.remove(0);
        }
    }

    pub fn merge(&mut self, other: &Cell) {
        for (u, (c, d)) in &other.by_user {
            let e = self.by_user.entry(*u).or_default();
            e.0 += c;
            e.1 += d;
        }
        self.evidence.extend(&other.evidence);
        self.evidence.sort_unstable();
        let excess = self.evidence.len().saturating_sub(EVIDENCE);
        self.evidence.drain(..excess);
    }

    /// (confirmed, dismissed) weights with each user capped at [`USER_CAP`].
    pub fn weights(&self) -> (f64, f64) {
        let mut w = (0.0, 0.0);
        for (c, d) in self.by_user.values() {
            let n = f64::from(c + d);
            if n == 0.0 {
                continue;
            }
            let scale = (USER_CAP / n).min(1.0);
            w.0 += f64::from(*c) * scale;
            w.1 += f64::from(*d) * scale;
        }
        w
    }

    pub fn users(&self) -> usize {
        self.by_user.len()
    }

    pub fn judgements(&self) -> (u32, u32) {
        self.by_user
            .values()
            .fold((0, 0), |a, (c, d)| (a.0 + c, a.1 + d))
    }
}

/// Where an estimate's evidence came from, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimateLevel {
    /// Judgements in this repository.
    Repository,
    /// Only the tenant's other repositories.
    Tenant,
    /// Only other tenants (at least three).
    Global,
    /// No judgements: the prior.
    Prior,
}

/// A rule's estimated precision where a finding is shown, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Posterior mean of P(a finding of this rule is real).
    pub precision: f64,
    /// The posterior's Beta parameters.
    pub alpha: f64,
    pub beta: f64,
    pub level: EstimateLevel,
    /// Judgements behind it (unweighted), and by how many users.
    pub confirmed: u32,
    pub dismissed: u32,
    pub users: usize,
    /// The newest feedback ids behind it.
    pub evidence: Vec<i64>,
}

impl Estimate {
    pub fn prior() -> Estimate {
        Estimate {
            precision: PRIOR.0 / (PRIOR.0 + PRIOR.1),
            alpha: PRIOR.0,
            beta: PRIOR.1,
            level: EstimateLevel::Prior,
            confirmed: 0,
            dismissed: 0,
            users: 0,
            evidence: Vec::new(),
        }
    }

    /// Weight of the judgements beyond the prior.
    pub fn strength(&self) -> f64 {
        self.alpha + self.beta - PRIOR.0 - PRIOR.1
    }

    /// Severity levels to demote a finding of this rule by: noisy rules drop one level,
    /// very noisy ones two, and only with enough weight of judgement behind them.
    pub fn demotion(&self) -> u8 {
        let n = self.strength();
        if self.precision < 0.2 && n >= 4.0 {
            2
        } else if self.precision < 0.4 && n >= 2.0 {
            1
        } else {
            0
        }
    }
}

/// Combines the three levels of judgement of a rule into one estimate.
pub fn estimate(repo: Option<&Cell>, tenant: Option<&Cell>, global: Option<&Cell>) -> Estimate {
    let (mut alpha, mut beta) = PRIOR;
    let mut level = EstimateLevel::Prior;
    if let Some(g) = global {
        // Other tenants' view, weighing at most as much as the prior plus three users.
        let (c, d) = g.weights();
        if c + d > 0.0 {
            let strength = (c + d).min(PRIOR.0 + PRIOR.1 + USER_CAP);
            alpha = PRIOR.0 + strength * c / (c + d);
            beta = PRIOR.1 + strength * d / (c + d);
            level = EstimateLevel::Global;
        }
    }
    let (rc, rd) = repo.map(Cell::weights).unwrap_or_default();
    let (tc, td) = tenant.map(Cell::weights).unwrap_or_default();
    let (oc, od) = ((tc - rc).max(0.0), (td - rd).max(0.0));
    if oc + od > 0.0 {
        level = EstimateLevel::Tenant;
    }
    if rc + rd > 0.0 {
        level = EstimateLevel::Repository;
    }
    alpha += rc + OTHER_REPOS_WEIGHT * oc;
    beta += rd + OTHER_REPOS_WEIGHT * od;
    let shown = match level {
        EstimateLevel::Repository => repo,
        EstimateLevel::Tenant => tenant,
        EstimateLevel::Global => global,
        EstimateLevel::Prior => None,
    };
    let (confirmed, dismissed) = shown.map(Cell::judgements).unwrap_or_default();
    Estimate {
        precision: alpha / (alpha + beta),
        alpha,
        beta,
        level,
        confirmed,
        dismissed,
        users: shown.map_or(0, Cell::users),
        evidence: shown.map(|c| c.evidence.clone()).unwrap_or_default(),
    }
}

/// One tenant's contribution to the global cell of a rule: one "user" per tenant whose
/// judgements keep the proportions of the tenant's capped user weights (in hundredths,
/// to stay whole), so in the global cell [`Cell::weights`] caps each tenant at
/// [`USER_CAP`] and its user count is the number of tenants.
pub fn tenant_share(tenant_id: i64, cell: &Cell) -> Cell {
    let (c, d) = cell.weights();
    let mut by_user = BTreeMap::new();
    by_user.insert(
        tenant_id,
        ((c * 100.0).round() as u32, (d * 100.0).round() as u32),
    );
    Cell {
        by_user,
        evidence: cell.evidence.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(judgements: &[(i64, bool)]) -> Cell {
        let mut c = Cell::default();
        for (i, (u, ok)) in judgements.iter().enumerate() {
            c.add(Some(*u), *ok, i as i64);
        }
        c
    }

    #[test]
    fn no_judgement_is_the_prior() {
        let e = estimate(None, None, None);
        assert_eq!(e.level, EstimateLevel::Prior);
        assert!((e.precision - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(e.demotion(), 0);
    }

    #[test]
    fn dismissals_by_two_users_demote_a_rule() {
        let c = cell(&[(1, false), (2, false), (1, false)]);
        let e = estimate(Some(&c), Some(&c), None);
        assert_eq!(e.level, EstimateLevel::Repository);
        assert!(e.precision < 0.4, "{e:?}");
        assert_eq!(e.demotion(), 1);
        assert_eq!(e.users, 2);
    }

    #[test]
    fn one_user_repeating_themselves_is_capped() {
        let one = cell(&vec![(1, false); 50]);
        let many = cell(&(1..=10).map(|u| (u, false)).collect::<Vec<_>>());
        let e1 = estimate(Some(&one), Some(&one), None);
        let e10 = estimate(Some(&many), Some(&many), None);
        assert!((one.weights().1 - USER_CAP).abs() < 1e-9);
        assert!(e10.precision < e1.precision);
    }

    #[test]
    fn other_repositories_count_half() {
        let here = Cell::default();
        let elsewhere = cell(&[(1, false), (2, false)]);
        let e = estimate(Some(&here), Some(&elsewhere), None);
        assert_eq!(e.level, EstimateLevel::Tenant);
        assert!((e.beta - (PRIOR.1 + 1.0)).abs() < 1e-9, "{e:?}");
    }

    #[test]
    fn a_tenant_weighs_at_most_one_user_globally() {
        let big = cell(&(1..=40).map(|u| (u, false)).collect::<Vec<_>>());
        let share = tenant_share(9, &big);
        assert_eq!(share.users(), 1);
        assert!((share.weights().1 - USER_CAP).abs() < 1e-9);
    }
}
