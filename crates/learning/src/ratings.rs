//! What the learning engine's gauges mean, computed from stored feedback only.
//!
//! - **Satisfaction** (`agent_user_satisfaction_score`): the mean rating (1 to 5; a
//!   thumb up is 5, down 1) of the last [`DAY_MS`]. The runbook alerts below 3.0.
//! - **Agent learning velocity** (`agent_learning_velocity{agent}`): the change per day
//!   of an agent's mean rating: the last day's mean minus the day before's. Positive
//!   means users rate that agent's answers better than a day ago, so what was learned
//!   from their feedback (routes, corrections, dismissals) is helping; zero with
//!   steady feedback means learning has stalled.
//! - **Learning velocity** (`learning_velocity`): the change per day of the share of
//!   judged findings users confirm (confirmed / (confirmed + dismissed)): the last day
//!   minus the day before. Dismissed noise stops being shown and noisy rules sink, so
//!   as learning works, what users still judge is more often real.
//!
//! A window with no observation gives no value (no sample is exported), never 0.

use std::collections::BTreeMap;

/// A day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// One rating, with the agents whose answer it rated.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    pub rating: i32,
    pub agents: Vec<String>,
    pub at: i64,
}

/// One judgement of a finding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    pub confirmed: bool,
    pub at: i64,
}

/// The gauges at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gauges {
    pub satisfaction: Option<f64>,
    pub agent_velocity: BTreeMap<String, f64>,
    pub learning_velocity: Option<f64>,
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, sum) = xs.fold((0u32, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| sum / f64::from(n))
}

/// The gauges at `now` from ratings and judgements of the last two days.
pub fn gauges(ratings: &[Rating], judgements: &[Judgement], now: i64) -> Gauges {
    let today = |at: i64| at > now - DAY_MS && at <= now;
    let yesterday = |at: i64| at > now - 2 * DAY_MS && at <= now - DAY_MS;
    let satisfaction = mean(
        ratings
            .iter()
            .filter(|r| today(r.at))
            .map(|r| f64::from(r.rating)),
    );
    let mut agents: BTreeMap<&str, ([f64; 2], [u32; 2])> = BTreeMap::new();
    for r in ratings {
        let slot = if today(r.at) {
            0
        } else if yesterday(r.at) {
            1
        } else {
            continue;
        };
        for a in &r.agents {
            let e = agents.entry(a).or_default();
            e.0[slot] += f64::from(r.rating);
            e.1[slot] += 1;
        }
    }
    let agent_velocity = agents
        .into_iter()
        .filter(|(_, (_, n))| n[0] > 0 && n[1] > 0)
        .map(|(a, (s, n))| {
            (
                a.to_string(),
                s[0] / f64::from(n[0]) - s[1] / f64::from(n[1]),
            )
        })
        .collect();
    let share = |window: &dyn Fn(i64) -> bool| {
        mean(
            judgements
                .iter()
                .filter(|j| window(j.at))
                .map(|j| if j.confirmed { 1.0 } else { 0.0 }),
        )
    };
    let learning_velocity = match (share(&today), share(&yesterday)) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    };
    Gauges {
        satisfaction,
        agent_velocity,
        learning_velocity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_observation_is_no_value() {
        let g = gauges(&[], &[], 10 * DAY_MS);
        assert_eq!(g, Gauges::default());
    }

    #[test]
    fn velocity_is_today_minus_yesterday() {
        let now = 10 * DAY_MS;
        let r = |rating, at| Rating {
            rating,
            agents: vec!["code_reviewer".into()],
            at,
        };
        let ratings = [r(2, now - DAY_MS - 5), r(4, now - 5), r(5, now - 3)];
        let judgements = [
            Judgement {
                confirmed: false,
                at: now - DAY_MS - 1,
            },
            Judgement {
                confirmed: true,
                at: now - 1,
            },
        ];
        let g = gauges(&ratings, &judgements, now);
        assert_eq!(g.satisfaction, Some(4.5));
        assert_eq!(g.agent_velocity["code_reviewer"], 2.5);
        assert_eq!(g.learning_velocity, Some(1.0));
    }
}
