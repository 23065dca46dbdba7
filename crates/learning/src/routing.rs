//! Routing learned from ratings: for each kind of question (the planner's intent), which
//! specialists in which mode earn the best ratings, as a Beta posterior per route fed
//! with each rating as a fractional success ((rating - 1) / 4), and chosen by Thompson
//! sampling so a route that might be better still gets tried now and then.
//!
//! The built-in route starts with a confident prior and the alternatives with a
//! sceptical one, so without ratings the built-in route is taken nearly always, and an
//! alternative takes over only once ratings say it is better.

use std::collections::BTreeMap;

use rand::Rng;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

/// Prior of the built-in route (mean 0.8).
pub const BUILTIN_PRIOR: (f64, f64) = (4.0, 1.0);
/// Prior of an alternative route (mean 0.25).
pub const ALTERNATIVE_PRIOR: (f64, f64) = (1.0, 3.0);
/// Feedback ids kept as evidence per route.
const EVIDENCE: usize = 20;
/// Distinct questions remembered per route and context; past it a new question counts as
/// a plain rating, so the snapshot stays bounded.
const QUESTIONS: usize = 500;

/// A route as the learning engine names it: mode and specialists (sorted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteKey {
    pub mode: String,
    pub specialists: Vec<String>,
}

impl RouteKey {
    pub fn new(mode: &str, specialists: &[String]) -> RouteKey {
        let mut s: Vec<String> = specialists.to_vec();
        s.sort();
        s.dedup();
        RouteKey {
            mode: if s.len() <= 1 {
                "single".into()
            } else {
                mode.to_string()
            },
            specialists: s,
        }
    }

    /// `single:security-specialist`, `parallel:code-reviewer,security-specialist`.
    pub fn label(&self) -> String {
        format!("{}:{}", self.mode, self.specialists.join(","))
    }
}

/// Ratings of one route for one intent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteStats {
    /// Summed rewards and their complements: one observation per distinct question (its
    /// mean reward), plus one per rating without a question.
    pub successes: f64,
    pub failures: f64,
    pub ratings: u32,
    pub evidence: Vec<i64>,
    /// Per question (lowercased, spaces collapsed): summed reward and ratings. The same
    /// question rated again refines its own mean instead of adding evidence, so a few
    /// questions asked often cannot outweigh many asked once.
    #[serde(default)]
    pub questions: BTreeMap<String, (f64, u32)>,
}

impl RouteStats {
    pub fn add(&mut self, rating: i32, feedback_id: i64) {
        self.add_for(None, rating, feedback_id);
    }

    pub fn add_for(&mut self, question: Option<&str>, rating: i32, feedback_id: i64) {
        let r = reward(rating);
        let key = question
            .map(|q| {
                q.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            })
            .filter(|q| {
                !q.is_empty()
                    && (self.questions.contains_key(q) || self.questions.len() < QUESTIONS)
            });
        match key {
            Some(q) => {
                let (sum, n) = self.questions.entry(q).or_default();
                let before = if *n > 0 { *sum / f64::from(*n) } else { 0.0 };
                let had = *n > 0;
                *sum += r;
                *n += 1;
                let after = *sum / f64::from(*n);
                if had {
                    self.successes += after - before;
                    self.failures += before - after;
                } else {
                    self.successes += after;
                    self.failures += 1.0 - after;
                }
            }
            _ => {
                self.successes += r;
                self.failures += 1.0 - r;
            }
        }
        self.ratings += 1;
        self.evidence.push(feedback_id);
        if self.evidence.len() > EVIDENCE {
            self.evidence.remove(0);
        }
    }

    /// Mean rating (1 to 5) of this route, each question weighing once.
    pub fn mean_rating(&self) -> Option<f64> {
        let n = self.successes + self.failures;
        (n > 0.0).then(|| 1.0 + 4.0 * self.successes / n)
    }
}

/// A rating as a reward in [0, 1].
pub fn reward(rating: i32) -> f64 {
    (f64::from(rating.clamp(1, 5)) - 1.0) / 4.0
}

/// intent -> route -> stats.
pub type Routes = BTreeMap<String, BTreeMap<String, (RouteKey, RouteStats)>>;

/// A candidate route and its posterior, as the planner weighs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub builtin: bool,
    pub alpha: f64,
    pub beta: f64,
}

impl Candidate {
    pub fn new(builtin: bool, stats: Option<&RouteStats>) -> Candidate {
        let (a, b) = if builtin {
            BUILTIN_PRIOR
        } else {
            ALTERNATIVE_PRIOR
        };
        let (s, f) = stats.map_or((0.0, 0.0), |s| (s.successes, s.failures));
        Candidate {
            builtin,
            alpha: a + s,
            beta: b + f,
        }
    }

    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }
}

/// Thompson sampling: the index of the candidate whose posterior draw is highest.
pub fn thompson(candidates: &[Candidate], rng: &mut impl Rng) -> Option<usize> {
    candidates
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let draw = Beta::new(c.alpha, c.beta).ok()?.sample(rng);
            Some((i, draw))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// [`thompson`] with the thread's random generator.
pub fn choose(candidates: &[Candidate]) -> Option<usize> {
    thompson(candidates, &mut rand::rng())
}

/// The candidate with the best posterior mean (no exploration), for evaluation.
pub fn greedy(candidates: &[Candidate]) -> Option<usize> {
    candidates
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.mean().total_cmp(&b.1.mean()))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn without_ratings_the_builtin_route_is_taken_nearly_always() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let c = [
            Candidate::new(true, None),
            Candidate::new(false, None),
            Candidate::new(false, None),
            Candidate::new(false, None),
        ];
        let builtin = (0..1000)
            .filter(|_| thompson(&c, &mut rng) == Some(0))
            .count();
        assert!(builtin > 850, "{builtin}");
    }

    #[test]
    fn a_better_rated_alternative_takes_over() {
        let mut good = RouteStats::default();
        let mut bad = RouteStats::default();
        for i in 0..12 {
            good.add(5, i);
            bad.add(2, i);
        }
        let c = [
            Candidate::new(true, Some(&bad)),
            Candidate::new(false, Some(&good)),
        ];
        assert_eq!(greedy(&c), Some(1));
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let alt = (0..1000)
            .filter(|_| thompson(&c, &mut rng) == Some(1))
            .count();
        assert!(alt > 900, "{alt}");
        assert_eq!(good.mean_rating(), Some(5.0));
    }

    #[test]
    fn one_question_rated_again_and_again_weighs_as_one() {
        let mut repeated = RouteStats::default();
        for i in 0..20 {
            repeated.add_for(Some("Why is  SEC002 a problem"), 5, i);
        }
        repeated.add_for(Some("why is sec002 a problem"), 1, 20);
        // One question: its mean reward (20 fives and a one), as one observation.
        assert!((repeated.successes + repeated.failures - 1.0).abs() < 1e-9);
        assert!((repeated.successes - 80.0 / 84.0).abs() < 1e-9);
        assert_eq!(repeated.ratings, 21);
        // Bounded: past QUESTIONS distinct questions, new ones count as plain ratings.
        let mut wide = RouteStats::default();
        for i in 0..(QUESTIONS as i64 + 10) {
            wide.add_for(Some(&format!("question {i}")), 5, i);
        }
        assert_eq!(wide.questions.len(), QUESTIONS);
        assert!((wide.successes - (QUESTIONS + 10) as f64).abs() < 1e-9);
        let mut many = RouteStats::default();
        for i in 0..3 {
            many.add_for(Some(&format!("question {i}")), 1, i);
        }
        // Twenty fives on one question do not yet make an alternative beat a built-in
        // route rated poorly on three.
        let c = [
            Candidate::new(true, Some(&many)),
            Candidate::new(false, Some(&repeated)),
        ];
        assert_eq!(greedy(&c), Some(0));
    }

    #[test]
    fn route_keys_ignore_order() {
        let a = RouteKey::new("parallel", &["b".into(), "a".into()]);
        let b = RouteKey::new("parallel", &["a".into(), "b".into()]);
        assert_eq!(a, b);
        assert_eq!(RouteKey::new("parallel", &["a".into()]).mode, "single");
    }
}
