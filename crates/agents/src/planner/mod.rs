//! The offline planner: what a question asks (intent), what it names (entities), and
//! which specialists answer it in which collaboration mode. Its parameters (extra
//! training examples, routes) come from a [`LearnedState`] with built-in defaults, which
//! the learning engine can replace.

pub mod entities;
pub mod intent;
pub mod sentences;

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use entities::Entities;
pub use intent::{Classification, Intent, IntentModel};
pub use sentences::{Nearest, SentenceEncoder, SentenceIntents};

use crate::specialists::SpecialistId;

/// How several specialists work on one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One specialist.
    Single,
    /// One after another; each sees what the previous ones observed and concluded.
    Sequential,
    /// All at once on the same question; answers merged.
    Parallel,
    /// All at once, then each rates the others' claims; see docs/agents.md.
    Consensus,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Sequential => "sequential",
            Mode::Parallel => "parallel",
            Mode::Consensus => "consensus",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub specialists: Vec<SpecialistId>,
    pub mode: Mode,
}

/// What the learning engine may change. The defaults are what this build ships.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LearnedState {
    /// Corrected questions, on top of `data/intents.toml`.
    #[serde(default)]
    pub extra_examples: Vec<(Intent, String)>,
    /// Routes replacing the built-in ones, by intent.
    #[serde(default)]
    pub routes: HashMap<Intent, Route>,
    /// Routes rated by users, by context ([`context_key`]: the intent, or the intent
    /// and the question's other concern), with their posterior (successes, failures):
    /// where there are some, the route is drawn by Thompson sampling among them, the
    /// built-in route, each single specialist and the [`panel`] (see
    /// `qa_learning::routing`).
    #[serde(default)]
    pub route_arms: HashMap<String, Vec<(Route, f64, f64)>>,
}

/// The route this build ships for an intent (the fixed rules learning may replace).
pub fn builtin_route(intent: Intent) -> Route {
    use SpecialistId::*;
    let one = |s| Route {
        specialists: vec![s],
        mode: Mode::Single,
    };
    match intent {
        Intent::Risk => Route {
            specialists: vec![
                SecuritySpecialist,
                CodeReviewer,
                PerformanceAnalyst,
                TestArchitect,
            ],
            mode: Mode::Parallel,
        },
        Intent::Security => one(SecuritySpecialist),
        Intent::Performance => one(PerformanceAnalyst),
        Intent::Testing | Intent::WriteTests => one(TestArchitect),
        Intent::Review
        | Intent::Function
        | Intent::Search
        | Intent::Compare
        | Intent::ExplainRule => one(CodeReviewer),
        Intent::Capabilities | Intent::Unknown => Route {
            specialists: Vec::new(),
            mode: Mode::Single,
        },
    }
}

/// The route taken without ratings: the intent's built-in route, and for a rule
/// explanation the specialist of the rule's family (`SEC002` → Security Specialist).
pub fn fixed_route(intent: Intent, entities: &Entities) -> Route {
    for_the_rule(builtin_route(intent), intent, entities)
}

fn for_the_rule(mut route: Route, intent: Intent, entities: &Entities) -> Route {
    if let Some(rule) = rule_asked_about(intent, entities) {
        route.specialists = vec![SpecialistId::for_rule(rule)];
    }
    route
}

/// The rule a rule explanation names: its route and routing context are its family's.
fn rule_asked_about(intent: Intent, entities: &Entities) -> Option<&str> {
    (intent == Intent::ExplainRule)
        .then(|| entities.rules.first().map(String::as_str))
        .flatten()
}

/// Below this posterior the runner-up intent is not a concern of the question.
const SECONDARY_MIN: f64 = 0.1;

/// The question's other concern: the runner-up intent, when the model gives it some
/// weight. A review that is really about tests, or a risk question about slowness,
/// shows up here, and routes are learned per (intent, other concern) as well as per
/// intent. A rule question's concern is its rule's family (`PERF002` → performance):
/// its built-in specialist depends on the rule, so its ratings are told apart by it.
pub fn routing_context(u: &Understanding) -> Option<Intent> {
    let c = &u.classification;
    if let Some(rule) = rule_asked_about(c.intent, &u.entities) {
        return Some(match SpecialistId::for_rule(rule) {
            SpecialistId::SecuritySpecialist => Intent::Security,
            SpecialistId::PerformanceAnalyst => Intent::Performance,
            SpecialistId::TestArchitect => Intent::Testing,
            SpecialistId::CodeReviewer => Intent::Review,
        });
    }
    c.alternative
        .filter(|(i, p)| *i != c.intent && *i != Intent::Unknown && *p >= SECONDARY_MIN)
        .map(|(i, _)| i)
}

/// The key of a routing context: `review`, or `review|testing`.
pub fn context_key(intent: Intent, secondary: Option<Intent>) -> String {
    match secondary {
        Some(o) => format!("{}|{}", intent.as_str(), o.as_str()),
        None => intent.as_str().to_string(),
    }
}

/// How routes are learned from ratings: the candidates' priors, and whether the ratings
/// of a question's specific context (intent and other concern) add to those of its
/// intent or replace them. The services use the defaults; the replay harness sweeps
/// the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteLearning {
    pub builtin_prior: (f64, f64),
    pub alternative_prior: (f64, f64),
    pub pool: bool,
}

impl Default for RouteLearning {
    fn default() -> RouteLearning {
        RouteLearning {
            builtin_prior: qa_learning::routing::BUILTIN_PRIOR,
            alternative_prior: qa_learning::routing::ALTERNATIVE_PRIOR,
            pool: POOL_CONTEXTS,
        }
    }
}

/// A specific context (`compare|security`) has few ratings; alone it would leave the
/// route to the priors. Pooled with its intent's, which already hold them, its ratings
/// weigh double.
const POOL_CONTEXTS: bool = true;

/// The rated routes for a question: its intent's and its specific context's
/// ([`routing_context`]), pooled (summed per route) or the most specific that has some;
/// None without ratings.
///
/// A rule question keeps to its rule's family: its built-in specialist is the family's,
/// so its intent's ratings mix routes judged against different built-in ones (a
/// tenant's many SEC questions would pull its PERF questions to the Security
/// Specialist).
pub fn rated_arms(
    route_arms: &HashMap<String, Vec<(Route, f64, f64)>>,
    u: &Understanding,
    learning: &RouteLearning,
) -> Option<Vec<(Route, f64, f64)>> {
    let intent = u.classification.intent;
    let general = route_arms.get(&context_key(intent, None));
    let specific = routing_context(u).and_then(|o| route_arms.get(&context_key(intent, Some(o))));
    if rule_asked_about(intent, &u.entities).is_some() {
        return specific.cloned();
    }
    if !learning.pool {
        return specific.or(general).cloned();
    }
    // The learning engine records every rating under its intent too, so a specific
    // context without its intent's does not occur.
    let mut arms: Vec<(Route, f64, f64)> = general.cloned()?;
    for (r, s, f) in specific.into_iter().flatten() {
        match arms.iter_mut().find(|(a, _, _)| same_route(a, r)) {
            Some(arm) => {
                arm.1 += s;
                arm.2 += f;
            }
            None => arms.push((r.clone(), *s, *f)),
        }
    }
    Some(arms)
}

/// The same specialists, and for a group the same mode.
fn same_route(a: &Route, b: &Route) -> bool {
    let mut x = a.specialists.clone();
    let mut y = b.specialists.clone();
    x.sort_by_key(|s| s.name());
    y.sort_by_key(|s| s.name());
    x == y && (x.len() <= 1 || a.mode == b.mode)
}

/// All four specialists at once: the candidate for kinds of question whose single
/// specialist too often is not the one the question needed (a review that is really
/// about slowness, a function question about untrusted input).
pub fn panel() -> Route {
    Route {
        specialists: SpecialistId::ALL.to_vec(),
        mode: Mode::Parallel,
    }
}

/// The candidates of [`Planner::route`]'s draw (the built-in route first, then the rated ones,
/// then each single specialist and the [`panel`]), each with its posterior, and the
/// one `pick` picks.
pub fn choose_route(
    builtin: Route,
    arms: &[(Route, f64, f64)],
    learning: &RouteLearning,
    pick: impl FnOnce(&[qa_learning::routing::Candidate]) -> Option<usize>,
) -> Route {
    let mut routes = vec![builtin.clone()];
    for (r, _, _) in arms {
        if !routes.iter().any(|x| same_route(x, r)) {
            routes.push(r.clone());
        }
    }
    let singles = SpecialistId::ALL.into_iter().map(|s| Route {
        specialists: vec![s],
        mode: Mode::Single,
    });
    for r in singles.chain(std::iter::once(panel())) {
        if !routes.iter().any(|x| same_route(x, &r)) {
            routes.push(r);
        }
    }
    let candidates: Vec<qa_learning::routing::Candidate> = routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let stats = arms.iter().find(|(a, _, _)| same_route(a, r));
            let (a, b) = if i == 0 {
                learning.builtin_prior
            } else {
                learning.alternative_prior
            };
            let (s, f) = stats.map_or((0.0, 0.0), |(_, s, f)| (*s, *f));
            qa_learning::routing::Candidate {
                builtin: i == 0,
                alpha: a + s,
                beta: b + f,
            }
        })
        .collect();
    pick(&candidates)
        .and_then(|i| routes.get(i).cloned())
        .unwrap_or(builtin)
}

/// What the planner understood of a question.
#[derive(Debug, Clone, Serialize)]
pub struct Understanding {
    pub classification: Classification,
    pub entities: Entities,
}

/// How many built-in examples a user's correction counts as: a user said outright what
/// the question meant, which the model then must not get wrong again.
const CORRECTION_WEIGHT: usize = 3;

pub struct Planner {
    model: IntentModel,
    /// The same examples by meaning, when the sentence encoder is loaded.
    sentences: Option<SentenceIntents>,
    routes: HashMap<Intent, Route>,
    route_arms: HashMap<String, Vec<(Route, f64, f64)>>,
}

impl std::fmt::Debug for Planner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planner")
            .field("routes", &self.routes.len())
            .field("route_arms", &self.route_arms.len())
            .finish_non_exhaustive()
    }
}

impl Planner {
    /// The word model alone.
    pub fn new(state: &LearnedState) -> Planner {
        Planner::with_sentences(state, None)
    }

    /// The word model, and the sentence encoder's nearest examples when it is given.
    /// An encoder that fails on the examples leaves the word model alone, said loudly.
    pub fn with_sentences(state: &LearnedState, encoder: Option<Arc<SentenceEncoder>>) -> Planner {
        let mut examples = intent::builtin_examples();
        let builtin = examples.len();
        let mut corrections = Vec::new();
        if !state.extra_examples.is_empty() {
            // Corrections are real questions: their names become placeholders, as in
            // the built-in examples and in the questions classified.
            let base = IntentModel::train(&examples);
            for (intent, text) in &state.extra_examples {
                let masked = entities::extract(text, &base).1;
                corrections.push((*intent, masked.clone()));
                for _ in 0..CORRECTION_WEIGHT {
                    examples.push((*intent, masked.clone()));
                }
            }
        }
        let sentences = encoder.and_then(|e| match SentenceIntents::new(e, &examples[..builtin], &corrections) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "the sentence encoder failed on the intent examples; questions are understood by their words alone");
                None
            }
        });
        Planner {
            model: IntentModel::train(&examples),
            sentences,
            routes: state.routes.clone(),
            route_arms: state.route_arms.clone(),
        }
    }

    /// Whether questions are also understood by meaning (the sentence encoder).
    pub fn understands_by_meaning(&self) -> bool {
        self.sentences.is_some()
    }

    /// The word model's classification and, with the encoder, the nearest examples by
    /// meaning, before they are blended (for the replay harness).
    pub fn classify_parts(&self, question: &str) -> (Classification, Option<Nearest>) {
        let (_, masked) = entities::extract(question, &self.model);
        self.classify_masked(&masked)
    }

    fn classify_masked(&self, masked: &str) -> (Classification, Option<Nearest>) {
        let words = self.model.classify(masked);
        let nearest = self.sentences.as_ref().and_then(|s| match s.nearest(masked) {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!(error = %e, "the sentence encoder failed on a question; understood by its words alone");
                None
            }
        });
        (words, nearest)
    }

    pub fn understand(&self, question: &str) -> Understanding {
        let (entities, masked) = entities::extract(question, &self.model);
        let mut classification = match self.classify_masked(&masked) {
            (words, Some(n)) => blend(&words, &n, Blend::default()),
            (words, None) => words,
        };
        // A question that names code is about that code, not about qa-agent itself.
        let names_code = !entities.symbols.is_empty()
            || !entities.paths.is_empty()
            || !entities.rules.is_empty();
        if classification.intent == Intent::Capabilities
            && names_code
            && let Some((alt, p)) = classification.alternative
        {
            classification.intent = alt;
            classification.confidence = p;
        }
        // A rule id alone ("SEC003?") is a request to explain it.
        if classification.intent == Intent::Unknown && !entities.rules.is_empty() {
            classification.intent = Intent::ExplainRule;
            classification.confidence = 0.5;
        }
        Understanding {
            classification,
            entities,
        }
    }

    /// Who answers: the caller's choice, else the learned route, else the built-in one.
    /// A rule question goes to the specialist of the rule's family.
    pub fn route(
        &self,
        u: &Understanding,
        specialists: Option<Vec<SpecialistId>>,
        mode: Option<Mode>,
    ) -> Route {
        let intent = u.classification.intent;
        let configured = self
            .routes
            .get(&intent)
            .cloned()
            .unwrap_or_else(|| builtin_route(intent));
        let mut route = for_the_rule(configured, intent, &u.entities);
        let chosen = specialists.as_ref().is_some_and(|s| !s.is_empty());
        if !chosen && !route.specialists.is_empty() {
            // Drawn by Thompson sampling among the built-in route, the rated ones,
            // each single specialist and the panel of all four.
            let learning = RouteLearning::default();
            let arms = rated_arms(&self.route_arms, u, &learning);
            if let Some(arms) = arms {
                route = choose_route(route, &arms, &learning, qa_learning::routing::choose);
            }
        }
        if let Some(s) = specialists.filter(|s| !s.is_empty()) {
            route.specialists = s;
            if route.specialists.len() == 1 {
                route.mode = Mode::Single;
            } else if route.mode == Mode::Single {
                route.mode = Mode::Parallel;
            }
        }
        if let Some(m) = mode
            && route.specialists.len() > 1
        {
            route.mode = m;
        }
        route
    }
}

/// How the word model and the nearest examples by meaning are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blend {
    /// The share of the meaning side in the blended probabilities, in [0, 1].
    pub weight: f64,
    /// Softmax temperature over the nearest similarities (cosine differences of a few
    /// hundredths separate intents, so it is small).
    pub temperature: f64,
    /// Below this similarity of the nearest example, a question the word model did
    /// not understand stays not understood ("what's the weather in Paris").
    pub min_similarity: f32,
    /// What a user's correction adds to its similarity: they said what that question
    /// meant, so a question close to it means the same more surely than one as close
    /// to a built-in example.
    pub correction_bonus: f32,
}

impl Default for Blend {
    fn default() -> Blend {
        Blend {
            // Chosen on corrections.toml's held-out paraphrases (bench/learning,
            // QA_REPLAY_SWEEP=1); corrections-fresh.toml measures them.
            weight: 0.5,
            temperature: 0.02,
            min_similarity: 0.5,
            correction_bonus: 0.05,
        }
    }
}

/// The blended classification: a mixture of the word model's posterior and a softmax
/// over the nearest similarity per intent.
pub fn blend(words: &Classification, nearest: &Nearest, b: Blend) -> Classification {
    let mut sims = nearest.by_intent.clone();
    for (i, s) in sims.iter_mut() {
        if let Some((_, c)) = nearest.corrections.iter().find(|(j, _)| j == i) {
            *s = s.max(c + b.correction_bonus);
        }
    }
    sims.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let Some(&(_, top_sim)) = sims.first() else {
        return words.clone();
    };
    // An empty posterior: the word model knew no word of the question.
    if words.posterior.is_empty() && top_sim < b.min_similarity {
        return words.clone();
    }
    let max = f64::from(top_sim);
    let soft: Vec<(Intent, f64)> = sims
        .iter()
        .map(|(i, s)| (*i, ((f64::from(*s) - max) / b.temperature).exp()))
        .collect();
    let z: f64 = soft.iter().map(|(_, e)| e).sum();
    let mut p: HashMap<Intent, f64> = HashMap::new();
    for (i, e) in soft {
        *p.entry(i).or_default() += b.weight * e / z;
    }
    for (i, q) in words.posterior.iter() {
        *p.entry(*i).or_default() += (1.0 - b.weight) * q;
    }
    let mut ranked: Vec<(Intent, f64)> = p.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Classification {
        intent: if ranked[0].1 < intent::MIN_CONFIDENCE {
            Intent::Unknown
        } else {
            ranked[0].0
        },
        confidence: ranked[0].1,
        alternative: ranked.get(1).copied(),
        posterior: ranked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qa_learning::routing::{Candidate, greedy};

    fn one(s: SpecialistId) -> Route {
        Route {
            specialists: vec![s],
            mode: Mode::Single,
        }
    }

    #[test]
    fn the_panel_is_a_candidate_before_anyone_rated_it() {
        let builtin = one(SpecialistId::CodeReviewer);
        let mut seen = Vec::new();
        choose_route(
            builtin.clone(),
            &[],
            &RouteLearning::default(),
            |c: &[Candidate]| {
                seen = c.to_vec();
                None
            },
        );
        // The built-in route, the other three specialists alone, the panel.
        assert_eq!(seen.len(), 5);
        assert!(seen[0].builtin && seen[1..].iter().all(|c| !c.builtin));
        let last = choose_route(
            builtin.clone(),
            &[],
            &RouteLearning::default(),
            |c: &[Candidate]| Some(c.len() - 1),
        );
        assert_eq!(last, panel());
        // Where the built-in route is the panel already (risk), it is not offered twice.
        let mut n = 0;
        choose_route(
            panel(),
            &[],
            &RouteLearning::default(),
            |c: &[Candidate]| {
                n = c.len();
                None
            },
        );
        assert_eq!(n, 5);
    }

    #[test]
    fn a_specific_contexts_ratings_add_to_its_intents() {
        let cr = one(SpecialistId::CodeReviewer);
        let sec = one(SpecialistId::SecuritySpecialist);
        // As the learning engine records them: the intent's ratings include the
        // specific context's one.
        let arms: HashMap<String, Vec<(Route, f64, f64)>> = [
            (
                "search".to_string(),
                vec![
                    (cr.clone(), 2.0, 6.0),
                    (panel(), 6.0, 2.0),
                    (sec.clone(), 1.0, 0.0),
                ],
            ),
            ("search|security".to_string(), vec![(sec.clone(), 1.0, 0.0)]),
        ]
        .into();
        let p = Planner::new(&LearnedState::default());
        let mut u = p.understand("where do we build SQL from user input?");
        u.classification.intent = Intent::Search;
        u.classification.alternative = Some((Intent::Security, 0.4));
        let pooled = RouteLearning::default();
        assert_eq!(
            rated_arms(&arms, &u, &pooled).unwrap(),
            vec![
                (cr.clone(), 2.0, 6.0),
                (panel(), 6.0, 2.0),
                (sec.clone(), 2.0, 0.0)
            ]
        );
        // Without pooling the one rated question of the specific context is all there is.
        let apart = RouteLearning {
            pool: false,
            ..pooled
        };
        assert_eq!(
            rated_arms(&arms, &u, &apart).unwrap(),
            vec![(sec.clone(), 1.0, 0.0)]
        );
        u.classification.intent = Intent::Compare;
        assert!(rated_arms(&arms, &u, &pooled).is_none());
        // A rule question keeps to its rule's family.
        let rules: HashMap<String, Vec<(Route, f64, f64)>> = [
            ("explain_rule".to_string(), vec![(sec.clone(), 30.0, 0.0)]),
            (
                "explain_rule|security".to_string(),
                vec![(sec.clone(), 30.0, 0.0)],
            ),
        ]
        .into();
        let perf = p.understand("why does PERF002 fire on this loop?");
        assert!(rated_arms(&rules, &perf, &pooled).is_none());
        let secq = p.understand("what does SEC001 mean?");
        assert_eq!(
            rated_arms(&rules, &secq, &pooled).unwrap(),
            vec![(sec, 30.0, 0.0)]
        );
    }

    #[test]
    fn a_rule_questions_routing_context_is_its_rules_family() {
        let p = Planner::new(&LearnedState::default());
        let u = p.understand("why does PERF002 fire on this loop?");
        assert_eq!(u.classification.intent, Intent::ExplainRule);
        assert_eq!(routing_context(&u), Some(Intent::Performance));
        let u = p.understand("what does SEC001 mean?");
        assert_eq!(u.classification.intent, Intent::ExplainRule);
        assert_eq!(routing_context(&u), Some(Intent::Security));
        let u = p.understand("explain MNT004");
        assert_eq!(u.classification.intent, Intent::ExplainRule);
        assert_eq!(routing_context(&u), Some(Intent::Review));
    }

    #[test]
    fn a_kind_of_question_the_panel_answers_better_learns_to_ask_the_panel() {
        let builtin = one(SpecialistId::CodeReviewer);
        // Twelve questions: the Code Reviewer alone rated 2 on average, the panel 4.
        let arms = [(builtin.clone(), 3.0, 9.0), (panel(), 9.0, 3.0)];
        let chosen = choose_route(builtin.clone(), &arms, &RouteLearning::default(), greedy);
        assert_eq!(chosen, panel());
        // On a few questions the built-in route's prior still holds.
        let arms = [(builtin.clone(), 1.0, 1.0), (panel(), 1.5, 0.5)];
        assert_eq!(
            choose_route(builtin.clone(), &arms, &RouteLearning::default(), greedy),
            builtin
        );
    }
}
