//! The offline planner: what a question asks (intent), what it names (entities), and
//! which specialists answer it in which collaboration mode. Its parameters (extra
//! training examples, routes) come from a [`LearnedState`] with built-in defaults, which
//! the learning engine can replace.

pub mod entities;
pub mod intent;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use entities::Entities;
pub use intent::{Classification, Intent, IntentModel};

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
}

fn builtin_route(intent: Intent) -> Route {
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

/// What the planner understood of a question.
#[derive(Debug, Clone, Serialize)]
pub struct Understanding {
    pub classification: Classification,
    pub entities: Entities,
}

pub struct Planner {
    model: IntentModel,
    routes: HashMap<Intent, Route>,
}

impl Planner {
    pub fn new(state: &LearnedState) -> Planner {
        let mut examples = intent::builtin_examples();
        examples.extend(state.extra_examples.iter().cloned());
        Planner {
            model: IntentModel::train(&examples),
            routes: state.routes.clone(),
        }
    }

    pub fn understand(&self, question: &str) -> Understanding {
        let (entities, masked) = entities::extract(question, &self.model);
        let mut classification = self.model.classify(&masked);
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
        let mut route = self
            .routes
            .get(&intent)
            .cloned()
            .unwrap_or_else(|| builtin_route(intent));
        if intent == Intent::ExplainRule
            && let Some(rule) = u.entities.rules.first()
        {
            route.specialists = vec![SpecialistId::for_rule(rule)];
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
