//! Choosing and keeping tests, the same for every language: a greedy cover of what the
//! candidates cover, and the validation verdict on each.

use std::collections::{BTreeSet, HashMap};

use crate::python::pytest::RunResult;
use crate::report::DropReason;

/// A test that could be written, and what it covers (arcs, lines, mutants, outcomes).
pub struct Candidate<C, I> {
    pub case: C,
    pub target: String,
    pub items: BTreeSet<I>,
    /// Subtracted from 3 × the gain: how unnatural the call looks.
    pub penalty: i64,
    /// Shorter wins among equals.
    pub len: usize,
}

/// Greedy set cover: the candidate adding the most uncovered items first (less its
/// penalty), the shorter among equals, at most `per_target` per function; then in the
/// order of the targets.
pub fn greedy<C, I: Ord + Clone>(
    mut candidates: Vec<Candidate<C, I>>,
    per_target: usize,
) -> Vec<Candidate<C, I>> {
    let mut covered: BTreeSet<I> = BTreeSet::new();
    let mut out = Vec::new();
    let mut per: HashMap<String, usize> = HashMap::new();
    loop {
        let best = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| per.get(&c.target).copied().unwrap_or(0) < per_target)
            .map(|(i, c)| {
                let gain = c.items.difference(&covered).count() as i64;
                (i, gain, gain * 3 - c.penalty, c.len)
            })
            .filter(|(_, gain, _, _)| *gain > 0)
            .max_by(|a, b| a.2.cmp(&b.2).then(b.3.cmp(&a.3)).then(b.0.cmp(&a.0)));
        let Some((i, ..)) = best else { break };
        let chosen = candidates.swap_remove(i);
        covered.extend(chosen.items.iter().cloned());
        *per.entry(chosen.target.clone()).or_default() += 1;
        out.push(chosen);
    }
    out.sort_by(|a, b| a.target.cmp(&b.target));
    out
}

/// Why a validated test is dropped, or `None` to keep it: it must pass every one of `runs`
/// runs, have an oracle, and add something the tests kept before it do not cover.
pub fn verdict(
    results: &[RunResult],
    runs: u32,
    has_oracle: bool,
    adds: bool,
) -> Option<DropReason> {
    let failed = results.iter().find_map(|r| match r {
        RunResult::Failed(m) => Some(m.clone()),
        _ => None,
    });
    let passed = results.iter().filter(|r| **r == RunResult::Passed).count() as u32;
    if let Some(message) = failed {
        Some(if passed > 0 {
            DropReason::Flaky { passed, runs }
        } else {
            DropReason::Failed { message }
        })
    } else if passed < runs {
        Some(DropReason::NotRun)
    } else if !has_oracle {
        Some(DropReason::NoOracle)
    } else if !adds {
        Some(DropReason::NoGain)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, items: &[u32], penalty: i64) -> Candidate<String, u32> {
        Candidate {
            case: name.into(),
            target: "f".into(),
            items: items.iter().copied().collect(),
            penalty,
            len: name.len(),
        }
    }

    #[test]
    fn the_cover_prefers_gain_then_natural_then_short() {
        let chosen = greedy(
            vec![
                c("big", &[1, 2, 3], 0),
                c("odd", &[4], 2),
                c("even", &[4], 0),
                c("dup", &[1], 0),
            ],
            10,
        );
        let names: Vec<&str> = chosen.iter().map(|c| c.case.as_str()).collect();
        assert_eq!(names, ["big", "even"]);
    }

    #[test]
    fn verdicts_follow_the_rules_in_order() {
        let ok = vec![RunResult::Passed; 5];
        assert!(verdict(&ok, 5, true, true).is_none());
        assert!(matches!(
            verdict(&ok, 5, false, true),
            Some(DropReason::NoOracle)
        ));
        assert!(matches!(
            verdict(&ok, 5, true, false),
            Some(DropReason::NoGain)
        ));
        assert!(matches!(
            verdict(&ok[..3], 5, true, true),
            Some(DropReason::NotRun)
        ));
        let mut flaky = ok.clone();
        flaky[2] = RunResult::Failed("boom".into());
        assert!(matches!(
            verdict(&flaky, 5, true, true),
            Some(DropReason::Flaky { passed: 4, runs: 5 })
        ));
        let failed = vec![RunResult::Failed("boom".into()); 5];
        assert!(matches!(
            verdict(&failed, 5, true, true),
            Some(DropReason::Failed { .. })
        ));
    }
}
