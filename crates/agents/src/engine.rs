//! The ReAct engine: Observe → Think → Act (a tool call that really runs) → Observe the
//! result → … → Answer. Specialists propose actions from what has been observed; the
//! engine runs them through a [`ToolClient`], bounded by a step budget and a deadline,
//! stops a specialist that repeats an identical action (the loop breaker), records every
//! step (streamed as it happens), verifies the evidence the answer cites, and scores the
//! reasoning.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use crate::client::{CallError, ToolClient};
use crate::planner::{Intent, Mode, Planner, Route, Understanding};
use crate::quality::{Quality, score};
pub use crate::related::Related;
use crate::related::attach_related;
use crate::specialists::{self, Action, Draft, SpecialistId, Strategy};
use crate::tools::{Evidence, ToolOutput};

/// What the user asked, about what.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Task {
    pub question: String,
    /// A directory on the server to analyse (under the workspace roots).
    pub path: Option<String>,
    /// An analysis to answer from (instead of `path`).
    pub analysis_id: Option<i64>,
    /// Specialists chosen by the caller (else the planner routes).
    pub specialists: Option<Vec<SpecialistId>>,
    pub mode: Option<Mode>,
    /// Do not reuse a cached answer (a new one still replaces it).
    #[serde(default)]
    pub fresh: bool,
    /// The planner of the asker's tenant, with what its users taught (corrections,
    /// rated routes); the engine's own planner when none.
    #[serde(skip)]
    pub planner: Option<Arc<Planner>>,
    /// What the asker's team accepted for similar questions (the learning engine's
    /// knowledge base): shown with the answer, and given to the language model as context.
    #[serde(default)]
    pub related: Vec<Related>,
}

#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Tool calls and thoughts, all specialists together.
    pub max_steps: usize,
    pub time: Duration,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            max_steps: 24,
            time: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A thought with no action.
    Thought,
    Ok,
    /// The tool refused the input or found nothing; the loop adapts.
    Rejected,
    /// The tool failed or timed out.
    Failed,
    /// Served from this task's earlier identical call.
    Reused,
    /// The loop breaker or a budget stopped here.
    Stopped,
}

/// One step of a reasoning trace.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    pub index: usize,
    /// The specialist that took the step (none for the engine's own steps).
    pub specialist: Option<String>,
    pub thought: String,
    /// The tool called, if any.
    pub action: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub arguments: Option<Value>,
    /// The tool's one-line result, or why it failed.
    pub observation: Option<String>,
    pub outcome: Outcome,
    /// How much this step supports the answer, in [0, 1].
    pub confidence: f64,
    pub duration_ms: f64,
}

/// Something produced besides prose: a load-test script, a findings table.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Artifact {
    /// `k6`, `locust`, `table`, ...
    pub kind: String,
    pub title: String,
    pub content: String,
    /// Whether it was validated (run) before it was shown; none when it cannot be.
    pub validated: Option<bool>,
}

/// How a collaboration of several specialists went.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Collaboration {
    pub mode: Mode,
    /// Claims some specialist disagreed with.
    pub conflicts: usize,
    /// Of those, settled by the evidence-weighted vote.
    pub resolved: usize,
    /// No unresolved conflict and all cited evidence verified.
    pub effective: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    pub intent: Intent,
    pub intent_confidence: f64,
    /// The question's other concern, when the planner saw one, or for a rule question
    /// the rule's family (the context its learned routes are chosen in; see
    /// `planner::routing_context`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_intent: Option<Intent>,
    /// Markdown; every factual sentence cites `file:line` and a rule or metric.
    pub text: String,
    pub evidence: Vec<Evidence>,
    pub artifacts: Vec<Artifact>,
    pub specialists: Vec<String>,
    pub mode: Mode,
    /// In [0, 1]: how sure the answer is of itself.
    pub confidence: f64,
    pub quality: Quality,
    pub analysis_id: Option<i64>,
    pub tool_calls: usize,
    /// Why the reasoning stopped early (budget, loop breaker), if it did.
    pub stopped: Option<String>,
    pub collaboration: Option<Collaboration>,
    /// Reused from the reasoning cache (same question, same code).
    #[serde(default)]
    pub cached: bool,
    /// What the asker's team accepted for similar questions (see [`Task::related`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    pub steps: Vec<Step>,
}

/// What is known while a specialist reasons.
#[derive(Debug, Clone)]
pub struct Scratch {
    pub question: String,
    pub understanding: Understanding,
    pub analysis_id: Option<i64>,
    /// Functions and classes the question names, found in the repository:
    /// (qualified name, file, line).
    pub symbols: Vec<(String, String, i64)>,
    pub observations: Vec<Observation>,
    /// Whether each cited location checked out, by evidence key.
    pub checks: HashMap<String, bool>,
    /// What `verify_evidence` read at each location (the line and the few before it),
    /// by `file:line`.
    pub line_context: HashMap<String, String>,
    /// What the previous specialists concluded (sequential mode).
    pub previous: Vec<Draft>,
    /// What the team accepted for similar questions (context for the language model).
    pub related: Vec<Related>,
}

#[derive(Debug, Clone)]
pub struct Observation {
    pub tool: String,
    pub args: Value,
    pub result: Result<ToolOutput, String>,
}

impl Scratch {
    pub fn intent(&self) -> Intent {
        self.understanding.classification.intent
    }

    /// Outputs of successful calls of `tool`.
    pub fn ok<'a>(&'a self, tool: &'a str) -> impl Iterator<Item = &'a ToolOutput> + 'a {
        self.observations
            .iter()
            .filter(move |o| o.tool == tool)
            .filter_map(|o| o.result.as_ref().ok())
    }

    /// The scope the question names: a file or a directory ending in `/`.
    pub fn scope(&self) -> Option<String> {
        self.understanding.entities.paths.first().cloned()
    }

    /// Whether a cited location checked out (`None`: not checked).
    pub fn verified(&self, e: &Evidence) -> Option<bool> {
        self.checks.get(&evidence_key(e)).copied()
    }

    /// The line `verify_evidence` saw at an evidence location, with the lines before it.
    pub fn line_context(&self, e: &Evidence) -> Option<&str> {
        self.line_context.get(&location_key(e)).map(String::as_str)
    }
}

fn action_key(tool: &str, args: &Value) -> String {
    format!("{tool} {args}")
}

/// The key of a cited location for verification.
pub fn evidence_key(e: &Evidence) -> String {
    format!(
        "{}:{}|{}|{}|{}",
        e.file,
        e.line.unwrap_or(0),
        e.symbol.as_deref().unwrap_or(""),
        e.rule_id.as_deref().unwrap_or(""),
        e.excerpt.as_deref().unwrap_or("")
    )
}

fn location_key(e: &Evidence) -> String {
    format!("{}:{}", e.file, e.line.unwrap_or(0))
}

/// Time verification may take past the reasoning's budget.
const VERIFY_GRACE: Duration = Duration::from_secs(10);

/// One execution per distinct call, shared by whoever asks for it.
type Memo = Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Result<ToolOutput, CallError>>>>>;

/// Shared by the specialists of one task.
pub(crate) struct Run<'a> {
    client: &'a dyn ToolClient,
    events: Option<UnboundedSender<Step>>,
    steps: Mutex<Vec<Step>>,
    next_index: AtomicUsize,
    tool_calls: AtomicUsize,
    /// Identical calls within one task are answered once.
    memo: Memo,
    deadline: Instant,
    max_steps: usize,
    stopped: Mutex<Option<String>>,
    /// The specialist service is unreachable: stop everything.
    unavailable: Mutex<Option<String>>,
}

/// Where answers are kept for reuse: the same question (normalised) about the same code
/// (content hash) by the same specialists is answered once. Failures are misses.
pub trait AnswerCache: Send + Sync {
    fn get<'a>(&'a self, key: &'a str) -> futures_util::future::BoxFuture<'a, Option<Answer>>;
    fn put<'a>(
        &'a self,
        key: &'a str,
        answer: &'a Answer,
    ) -> futures_util::future::BoxFuture<'a, ()>;
}

/// The cache key of a question about `content` (a content hash, or an analysis id) for
/// `route`: the question's words lower-cased with punctuation dropped, plus what the
/// planner read in it with its original case (names, quoted text, scope), so that
/// "what should I test first?" and "What should I test first" meet while `"TODO"` and
/// `"todo"` do not. SHA-256, so every replica and release computes the same key.
pub fn cache_key(
    content: &str,
    question: &str,
    understanding: &Understanding,
    route: &Route,
) -> String {
    use sha2::{Digest, Sha256};
    let words: Vec<String> = question
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '/'))
        .map(|w| w.trim_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    let names: Vec<&str> = route.specialists.iter().map(|s| s.name()).collect();
    let material = serde_json::json!({
        "words": words,
        "entities": understanding.entities,
        "specialists": names,
        "mode": route.mode.as_str(),
    });
    let digest = Sha256::digest(material.to_string().as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{content}:{hex}")
}

/// Why a task could not be answered at all.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The tools' service cannot be reached (the API answers 503).
    #[error("the specialist service is unavailable: {0}")]
    Unavailable(String),
}

impl Run<'_> {
    pub(crate) fn record(&self, mut step: Step) {
        step.index = self.next_index.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = &self.events {
            // A client that went away does not stop the reasoning; the trace is kept.
            let _ = tx.send(step.clone());
        }
        self.steps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(step);
    }

    pub(crate) fn over_budget(&self) -> Option<String> {
        if self.next_index.load(Ordering::SeqCst) >= self.max_steps {
            Some(format!("step budget of {} reached", self.max_steps))
        } else if Instant::now() >= self.deadline {
            Some("time budget reached".into())
        } else {
            None
        }
    }

    pub(crate) fn stop(&self, why: String) {
        let mut s = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        s.get_or_insert(why);
    }

    fn unavailable(&self) -> Option<String> {
        self.unavailable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs one action (or serves it from the task's memo) and records the step.
    pub(crate) async fn act(&self, who: Option<SpecialistId>, action: &Action, s: &mut Scratch) {
        let key = action_key(action.tool, &action.args);
        let start = Instant::now();
        // Identical calls share one execution, also when specialists ask at the same time.
        let cell = self
            .memo
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .clone();
        let ran = std::sync::atomic::AtomicBool::new(false);
        let result = cell
            .get_or_init(|| async {
                ran.store(true, Ordering::SeqCst);
                // Checking the answer's evidence gets a grace period past the budget: an
                // answer whose citations could not be checked would lose them all.
                let deadline = if action.tool == "verify_evidence" {
                    self.deadline + VERIFY_GRACE
                } else {
                    self.deadline
                };
                let remaining = deadline.saturating_duration_since(Instant::now());
                self.tool_calls.fetch_add(1, Ordering::SeqCst);
                match tokio::time::timeout(
                    remaining,
                    self.client.call(action.tool, action.args.clone()),
                )
                .await
                {
                    Ok(r) => r,
                    Err(_) => Err(CallError::Failed("the time budget ran out".into())),
                }
            })
            .await
            .clone();
        let outcome = match &result {
            _ if !ran.load(Ordering::SeqCst) => Outcome::Reused,
            Ok(_) => Outcome::Ok,
            Err(CallError::Rejected(_)) => Outcome::Rejected,
            Err(CallError::Failed(_)) => Outcome::Failed,
            Err(CallError::Unavailable(why)) => {
                *self.unavailable.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.clone());
                Outcome::Failed
            }
        };
        let result = result.map_err(|e| e.to_string());
        let (observation, confidence) = match &result {
            Ok(o) => (o.summary.clone(), 0.9),
            Err(e) => (e.clone(), 0.3),
        };
        self.record(Step {
            index: 0,
            specialist: who.map(|w| w.name().to_string()),
            thought: action.thought.clone(),
            action: Some(action.tool.to_string()),
            arguments: Some(action.args.clone()),
            observation: Some(observation),
            outcome,
            confidence,
            duration_ms: ms(start.elapsed()),
        });
        if action.tool == "verify_evidence"
            && let Ok(out) = &result
        {
            absorb_verification(s, &action.args, out);
        }
        s.observations.push(Observation {
            tool: action.tool.to_string(),
            args: action.args.clone(),
            result,
        });
    }

    pub(crate) fn think(&self, who: Option<SpecialistId>, thought: String, confidence: f64) {
        self.think_inner(who, thought, confidence)
    }

    /// Time left of the reasoning's budget.
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn think_inner(&self, who: Option<SpecialistId>, thought: String, confidence: f64) {
        self.record(Step {
            index: 0,
            specialist: who.map(|w| w.name().to_string()),
            thought,
            action: None,
            arguments: None,
            observation: None,
            outcome: Outcome::Thought,
            confidence,
            duration_ms: 0.0,
        });
    }

    /// One specialist's loop: act on the first action of its plan not yet taken, until
    /// its plan is done, a budget ends, or it repeats itself.
    async fn specialist(&self, strategy: &dyn Strategy, s: &mut Scratch) -> (Draft, usize, usize) {
        let who = Some(strategy.id());
        let mut attempted: HashSet<String> = HashSet::new();
        let mut planned = 0;
        let mut done = 0;
        loop {
            if self.unavailable().is_some() {
                break;
            }
            let Some(action) = strategy.next(s, &attempted) else {
                break;
            };
            let key = action_key(action.tool, &action.args);
            if !attempted.insert(key) {
                let why = format!(
                    "loop breaker: {} proposed `{}` with the same arguments again",
                    strategy.id().title(),
                    action.tool
                );
                self.record(Step {
                    index: 0,
                    specialist: who.map(|w| w.name().to_string()),
                    thought: action.thought.clone(),
                    action: Some(action.tool.to_string()),
                    arguments: Some(action.args.clone()),
                    observation: Some(why.clone()),
                    outcome: Outcome::Stopped,
                    confidence: 0.0,
                    duration_ms: 0.0,
                });
                self.stop(why);
                break;
            }
            planned += 1;
            if let Some(why) = self.over_budget() {
                self.stop(why);
                break;
            }
            self.act(who, &action, s).await;
            if s.observations.last().is_some_and(|o| o.result.is_ok()) {
                done += 1;
            }
        }
        // What was still planned when a budget stopped it counts as not completed.
        planned += strategy
            .plan(s)
            .iter()
            .filter(|a| !attempted.contains(&action_key(a.tool, &a.args)))
            .count();
        let draft = strategy.answer(s);
        (draft, planned, done)
    }
}

fn absorb_verification(s: &mut Scratch, args: &Value, out: &ToolOutput) {
    let (Some(asked), Some(items)) = (args["items"].as_array(), out.data["items"].as_array())
    else {
        return;
    };
    for (a, r) in asked.iter().zip(items) {
        let Ok(e) = serde_json::from_value::<Evidence>(json!({
            "file": a["file"], "line": a["line"], "symbol": a["symbol"], "rule_id": a["rule_id"],
            "excerpt": a["excerpt"], "detail": "",
        })) else {
            continue;
        };
        s.checks.insert(evidence_key(&e), r["verified"] == true);
        // The line with the few before it: what triage reads for where data came from.
        if let Some(text) = r["context"].as_str().or(r["text"].as_str()) {
            s.line_context.insert(location_key(&e), text.to_string());
        }
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The reasoning engine: the planner, and the specialists' strategies.
pub struct Engine {
    /// Replaced whole when the learning engine publishes new learned state.
    planner: std::sync::RwLock<Arc<Planner>>,
    /// The language model planner, when a provider is configured (offline otherwise).
    pub llm: Option<qa_llm::Client>,
}

impl Engine {
    pub fn new(planner: Planner) -> Engine {
        Engine {
            planner: std::sync::RwLock::new(Arc::new(planner)),
            llm: None,
        }
    }

    /// The planner questions are understood and routed with now.
    pub fn planner(&self) -> Arc<Planner> {
        self.planner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Swaps in a planner built from new learned state; questions already running keep
    /// the one they started with.
    pub fn set_planner(&self, planner: Planner) {
        *self.planner.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(planner);
    }

    pub fn with_llm(mut self, client: qa_llm::Client) -> Engine {
        self.llm = Some(client);
        self
    }

    /// Answers `task`, streaming each step to `events` as it is taken.
    pub async fn run(
        &self,
        task: &Task,
        client: &dyn ToolClient,
        budget: Budget,
        events: Option<UnboundedSender<Step>>,
    ) -> Result<Answer, EngineError> {
        self.run_cached(task, client, budget, events, None).await
    }

    /// [`Engine::run`], reusing and keeping answers in `cache`. What the team accepted
    /// for similar questions is attached to the answer here, after the cache, so a reused
    /// answer shows what is related now.
    pub async fn run_cached(
        &self,
        task: &Task,
        client: &dyn ToolClient,
        budget: Budget,
        events: Option<UnboundedSender<Step>>,
        cache: Option<&dyn AnswerCache>,
    ) -> Result<Answer, EngineError> {
        let mut answer = self.answer(task, client, budget, events, cache).await?;
        attach_related(&mut answer, &task.related);
        Ok(answer)
    }

    async fn answer(
        &self,
        task: &Task,
        client: &dyn ToolClient,
        budget: Budget,
        events: Option<UnboundedSender<Step>>,
        cache: Option<&dyn AnswerCache>,
    ) -> Result<Answer, EngineError> {
        let planner = task.planner.clone().unwrap_or_else(|| self.planner());
        let understanding = planner.understand(&task.question);
        let route = planner.route(&understanding, task.specialists.clone(), task.mode);
        let run = Run {
            client,
            events,
            steps: Mutex::new(Vec::new()),
            next_index: AtomicUsize::new(0),
            tool_calls: AtomicUsize::new(0),
            memo: Mutex::new(HashMap::new()),
            deadline: Instant::now() + budget.time,
            max_steps: budget.max_steps,
            stopped: Mutex::new(None),
            unavailable: Mutex::new(None),
        };
        let c = &understanding.classification;
        let intent = c.intent;
        run.think(
            None,
            understand_thought(&understanding, &route),
            c.confidence,
        );
        if !task.related.is_empty() {
            let titles: Vec<String> = task
                .related
                .iter()
                .map(|r| format!("“{}” ({})", r.title, r.kind))
                .collect();
            run.think(
                None,
                format!(
                    "My team's knowledge base has {} accepted answer(s) or test(s) for similar questions: {}. I show them with my answer; the facts still come from this code.",
                    titles.len(),
                    titles.join("; ")
                ),
                0.8,
            );
        }
        let mut s = Scratch {
            question: task.question.clone(),
            understanding: understanding.clone(),
            analysis_id: task.analysis_id,
            symbols: Vec::new(),
            observations: Vec::new(),
            checks: HashMap::new(),
            line_context: HashMap::new(),
            previous: Vec::new(),
            related: task.related.clone(),
        };
        if route.specialists.is_empty() {
            let draft = specialists::capabilities(&s);
            return Ok(self
                .conclude(&run, &mut s, &route, vec![(None, draft, 0, 0)])
                .await);
        }
        // A comparison names its analyses; the later one is the one to verify against.
        let ids = &understanding.entities.analysis_ids;
        if intent == Intent::Compare && ids.len() >= 2 && s.analysis_id.is_none() {
            s.analysis_id = ids.iter().max().copied();
        }
        // Observe: the repository (analysed, or an analysis given), then the names.
        if s.analysis_id.is_none()
            && let Some(path) = &task.path
        {
            let action = Action::new(
                format!(
                    "I need the repository's facts first: analyse `{path}` (reusing what an earlier analysis of the same files found)."
                ),
                "analyze_repository",
                json!({ "path": path, "wait_seconds": budget.time.as_secs().min(300) }),
            );
            run.act(None, &action, &mut s).await;
            let out = s.ok("analyze_repository").next().cloned();
            if let Some(out) = out {
                if out.data["status"] == "done" {
                    s.analysis_id = out.data["analysis_id"].as_i64();
                } else {
                    let draft = specialists::still_running(out.data["analysis_id"].as_i64());
                    return Ok(self
                        .conclude(&run, &mut s, &route, vec![(None, draft, 1, 0)])
                        .await);
                }
            }
        }
        if let Some(why) = run.unavailable() {
            return Err(EngineError::Unavailable(why));
        }
        let rule_only = intent == Intent::ExplainRule && !understanding.entities.rules.is_empty();
        if s.analysis_id.is_none() && !rule_only {
            let draft = specialists::no_analysis(&s, task.path.is_some());
            let planned = usize::from(task.path.is_some());
            return Ok(self
                .conclude(&run, &mut s, &route, vec![(None, draft, planned, 0)])
                .await);
        }
        // The same question about the same code: answer it from the cache.
        let content = s
            .ok("analyze_repository")
            .next()
            .and_then(|o| o.data["content_hash"].as_str().map(str::to_string))
            .or_else(|| s.analysis_id.map(|id| format!("analysis-{id}")));
        let key = content.map(|c| cache_key(&c, &task.question, &understanding, &route));
        if let (Some(cache), Some(key), false) = (cache, &key, task.fresh)
            && let Some(mut cached) = cache.get(key).await
        {
            run.think(
                None,
                "I answered the same question about the same code before; its verified answer still holds, so I reuse it (reasoning cache).".into(),
                cached.confidence,
            );
            cached.steps =
                std::mem::take(&mut *run.steps.lock().unwrap_or_else(|p| p.into_inner()));
            cached.analysis_id = s.analysis_id;
            cached.tool_calls = run.tool_calls.load(Ordering::SeqCst);
            cached.cached = true;
            return Ok(cached);
        }
        self.resolve_symbols(&run, &mut s).await;

        let mut drafts = Vec::new();
        if let Some(llm) = &self.llm {
            match crate::llm_planner::answer(llm, &run, &mut s, &route).await {
                Ok((draft, planned, done)) => drafts.push((route.specialists.first().copied(), draft, planned, done)),
                Err(crate::llm_planner::Fallback(why)) => run.record(Step {
                    index: 0,
                    specialist: None,
                    thought: format!("The language model could not answer ({why}); the offline planner answers instead."),
                    action: None,
                    arguments: None,
                    observation: None,
                    outcome: Outcome::Failed,
                    confidence: 0.3,
                    duration_ms: 0.0,
                }),
            }
        }
        match route.mode {
            _ if !drafts.is_empty() => {}
            Mode::Single | Mode::Sequential => {
                for (i, id) in route.specialists.iter().enumerate() {
                    if i > 0 {
                        run.think(
                            Some(*id),
                            format!(
                                "{} takes over, starting from what {} found.",
                                id.title(),
                                route.specialists[i - 1].title()
                            ),
                            0.9,
                        );
                    }
                    let strategy = specialists::strategy(*id);
                    let (draft, planned, done) = run.specialist(strategy.as_ref(), &mut s).await;
                    s.previous.push(draft.clone());
                    drafts.push((Some(*id), draft, planned, done));
                }
            }
            Mode::Parallel | Mode::Consensus => {
                let runs = route.specialists.iter().map(|id| {
                    let mut mine = s.clone();
                    let run = &run;
                    async move {
                        let strategy = specialists::strategy(*id);
                        let (draft, planned, done) =
                            run.specialist(strategy.as_ref(), &mut mine).await;
                        (*id, mine, draft, planned, done)
                    }
                });
                let before = s.observations.len();
                for (id, mine, draft, planned, done) in futures_util::future::join_all(runs).await {
                    // Keep what each one observed, for verification and consensus.
                    s.observations
                        .extend(mine.observations.into_iter().skip(before));
                    s.checks.extend(mine.checks);
                    s.line_context.extend(mine.line_context);
                    drafts.push((Some(id), draft, planned, done));
                }
            }
        }
        if let Some(why) = run.unavailable() {
            return Err(EngineError::Unavailable(why));
        }
        let answer = self.conclude(&run, &mut s, &route, drafts).await;
        // Only complete answers are worth reusing.
        if let (Some(cache), Some(key)) = (cache, &key)
            && answer.stopped.is_none()
            && answer.quality.tool_success == Some(1.0)
        {
            cache.put(key, &answer).await;
        }
        Ok(answer)
    }

    /// Resolves the names the question mentions against the repository's symbols.
    async fn resolve_symbols(&self, run: &Run<'_>, s: &mut Scratch) {
        let Some(id) = s.analysis_id else { return };
        let e = &s.understanding.entities;
        let mut names: Vec<String> = e.symbols.iter().take(3).cloned().collect();
        let weak_ok = matches!(
            s.intent(),
            Intent::Function
                | Intent::WriteTests
                | Intent::Performance
                | Intent::Review
                | Intent::Security
                | Intent::Search
                | Intent::Testing
        );
        // The repository's own name is not a symbol to look for.
        let repo = s
            .ok("analyze_repository")
            .next()
            .and_then(|o| o.data["repository"].as_str().map(str::to_lowercase));
        if weak_ok {
            names.extend(
                e.weak_symbols
                    .iter()
                    .filter(|w| repo.as_deref() != Some(w.to_lowercase().as_str()))
                    .take(4 - names.len().min(4))
                    .cloned(),
            );
        }
        for name in names {
            let stem = crate::tools::symbol_stem(&name).to_string();
            let action = Action::new(
                format!(
                    "The question names `{name}`; find it among the repository's functions and classes."
                ),
                "search_code",
                json!({ "analysis_id": id, "query": stem, "kind": "symbol", "exact": true, "limit": 50 }),
            );
            run.act(None, &action, s).await;
            let Some(Ok(out)) = s.observations.last().map(|o| o.result.clone()) else {
                continue;
            };
            let matches = out.data["matches"].as_array().cloned().unwrap_or_default();
            let module_hint = name.rsplit_once('.').map(|(m, _)| m.to_lowercase());
            let mut exact: Vec<(String, String, i64)> = matches
                .iter()
                .filter_map(|m| {
                    let q = m["name"].as_str()?;
                    let bare = crate::tools::symbol_stem(q);
                    let file = m["file"].as_str()?.to_string();
                    let qualified_match = q == name || q.ends_with(&format!(".{name}"));
                    let module_match = module_hint.as_deref().is_some_and(|h| {
                        file.to_lowercase()
                            .contains(h.rsplit('.').next().unwrap_or(h))
                    });
                    (bare == stem && (qualified_match || module_hint.is_none() || module_match))
                        .then(|| (q.to_string(), file, m["line"].as_i64().unwrap_or(1)))
                })
                .collect();
            // Same-named functions in tests are not what the question is about.
            exact.sort_by_key(|(_, f, _)| f.contains("test"));
            if exact.is_empty() {
                run.think(
                    None,
                    format!("`{name}` is not a function or class of this repository; I will not rely on it."),
                    0.5,
                );
            }
            s.symbols.extend(exact.into_iter().take(3));
        }
    }

    /// Verifies every cited location not verified yet, settles a consensus, and writes
    /// the answer from the claims whose evidence holds.
    async fn conclude(
        &self,
        run: &Run<'_>,
        s: &mut Scratch,
        route: &Route,
        drafts: Vec<(Option<SpecialistId>, Draft, usize, usize)>,
    ) -> Answer {
        if let Some(id) = s.analysis_id {
            let mut pending: Vec<&Evidence> = Vec::new();
            let mut seen = HashSet::new();
            for (_, d, _, _) in &drafts {
                for e in d.claims().flat_map(|c| &c.evidence) {
                    let k = evidence_key(e);
                    if !s.checks.contains_key(&k) && seen.insert(k) {
                        pending.push(e);
                    }
                }
            }
            for chunk in pending.chunks(500) {
                let items: Vec<Value> = chunk
                    .iter()
                    .map(|e| json!({ "file": e.file, "line": e.line, "symbol": e.symbol, "rule_id": e.rule_id, "excerpt": e.excerpt }))
                    .collect();
                let action = Action::new(
                    format!(
                        "Before answering, check that the {} location(s) the answer cites say what it claims.",
                        items.len()
                    ),
                    "verify_evidence",
                    json!({ "analysis_id": id, "items": items }),
                );
                run.act(None, &action, s).await;
            }
        }
        let collaboration =
            (route.specialists.len() > 1).then(|| specialists::collaborate(route.mode, &drafts, s));
        let mut text = String::new();
        let mut evidence: Vec<Evidence> = Vec::new();
        let mut artifacts = Vec::new();
        let (mut claims, mut claims_verified, mut dropped) = (0usize, 0usize, 0usize);
        let (mut planned, mut done) = (0usize, 0usize);
        let multi = drafts.len() > 1;
        for (who, draft, p, d) in &drafts {
            planned += p;
            done += d;
            if multi && let Some(w) = who {
                text.push_str(&format!("## {}\n\n", w.title()));
            }
            if !draft.summary.is_empty() {
                text.push_str(&draft.summary);
                text.push_str("\n\n");
            }
            for section in &draft.sections {
                let mut body = String::new();
                for claim in &section.claims {
                    let rejected = collaboration
                        .as_ref()
                        .is_some_and(|c| c.1.contains(&claim.text));
                    let factual = !claim.evidence.is_empty();
                    // Only what was checked and held is shown: a claim whose check failed,
                    // or could not run (timeout, service down), is left out.
                    let holds = claim.evidence.iter().all(|e| s.verified(e) == Some(true));
                    if factual {
                        claims += 1;
                        claims_verified += usize::from(holds);
                    }
                    if !holds || rejected {
                        dropped += 1;
                        continue;
                    }
                    body.push_str(&format!("- {}", claim.text));
                    if factual {
                        let cites: Vec<String> = claim.evidence.iter().map(cite).collect();
                        body.push_str(&format!(" ({})", cites.join("; ")));
                        for e in &claim.evidence {
                            if !evidence.contains(e) {
                                evidence.push(e.clone());
                            }
                        }
                    }
                    body.push('\n');
                }
                if !body.is_empty() {
                    text.push_str(&format!(
                        "{} {}\n\n{}\n",
                        if multi { "###" } else { "##" },
                        section.heading,
                        body
                    ));
                }
            }
            artifacts.extend(draft.artifacts.iter().cloned());
        }
        if dropped > 0 {
            text.push_str(&format!(
                "_{dropped} claim(s) left out: their evidence did not check out against the files, or the other specialists outvoted them._\n"
            ));
        }
        let stopped = run
            .stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(why) = &stopped {
            text.push_str(&format!(
                "\n_Stopped early ({why}); the answer covers what was observed until then._\n"
            ));
        }
        let steps = std::mem::take(&mut *run.steps.lock().unwrap_or_else(|p| p.into_inner()));
        let calls: Vec<&Step> = steps
            .iter()
            .filter(|st| st.action.is_some() && st.outcome != Outcome::Stopped)
            .collect();
        let ok_calls = calls
            .iter()
            .filter(|st| matches!(st.outcome, Outcome::Ok | Outcome::Reused))
            .count();
        let artifact_validation = {
            let v: Vec<bool> = artifacts
                .iter()
                .filter_map(|a: &Artifact| a.validated)
                .collect();
            (!v.is_empty()).then(|| v.iter().filter(|x| **x).count() as f64 / v.len() as f64)
        };
        let quality = score(
            (!calls.is_empty()).then(|| ok_calls as f64 / calls.len() as f64),
            (planned > 0).then(|| done as f64 / planned as f64),
            claims,
            claims_verified,
            artifact_validation,
        );
        let c = &s.understanding.classification;
        let confidence = if c.intent == Intent::Unknown {
            0.0
        } else {
            match quality.score {
                Some(q) => ((c.confidence + q) / 2.0).clamp(0.0, 1.0),
                None => c.confidence,
            }
        };
        let collaboration = collaboration.map(|(c, _)| c);
        Answer {
            intent: c.intent,
            intent_confidence: c.confidence,
            secondary_intent: crate::planner::routing_context(&s.understanding),
            text: text.trim_end().to_string(),
            evidence,
            artifacts,
            specialists: drafts
                .iter()
                .filter_map(|(w, ..)| w.map(|w| w.name().to_string()))
                .collect(),
            mode: route.mode,
            confidence,
            quality,
            analysis_id: s.analysis_id,
            tool_calls: run.tool_calls.load(Ordering::SeqCst),
            stopped,
            collaboration,
            cached: false,
            related: Vec::new(),
            steps,
        }
    }
}

fn cite(e: &Evidence) -> String {
    let mut c = match e.line {
        Some(l) => format!("`{}:{l}`", e.file),
        None => format!("`{}`", e.file),
    };
    if let Some(r) = &e.rule_id {
        c.push_str(&format!(", {r}"));
    }
    if let Some(m) = &e.metric {
        c.push_str(&format!(", {m}"));
    }
    c
}

/// The engine's first thought: what it understood and who will answer.
fn understand_thought(u: &Understanding, route: &Route) -> String {
    let c = &u.classification;
    let e = &u.entities;
    let mut named = Vec::new();
    if !e.symbols.is_empty() || !e.weak_symbols.is_empty() {
        named.push(format!(
            "names {}",
            e.symbols
                .iter()
                .chain(&e.weak_symbols)
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !e.paths.is_empty() {
        named.push(format!("scope {}", e.paths.join(", ")));
    }
    if !e.rules.is_empty() {
        named.push(format!("rules {}", e.rules.join(", ")));
    }
    let who = if route.specialists.is_empty() {
        "no specialist".to_string()
    } else {
        let names: Vec<&str> = route.specialists.iter().map(|s| s.title()).collect();
        format!("{} ({})", names.join(", "), route.mode.as_str())
    };
    format!(
        "The question is about {} (confidence {:.2}){}; {who} will answer.",
        c.intent.as_str().replace('_', " "),
        c.confidence,
        if named.is_empty() {
            String::new()
        } else {
            format!("; it {}", named.join("; "))
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::CallFuture;

    /// Answers every call with a fixed output, counting calls.
    struct Fake(AtomicUsize);

    impl ToolClient for Fake {
        fn call<'a>(&'a self, tool: &'a str, _input: Value) -> CallFuture<'a> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                Ok(ToolOutput {
                    summary: format!("{tool} ran"),
                    data: json!({}),
                    evidence: Vec::new(),
                })
            })
        }
    }

    /// Proposes the same action forever (what a confused LLM planner does).
    struct Repeats;

    impl Strategy for Repeats {
        fn id(&self) -> SpecialistId {
            SpecialistId::CodeReviewer
        }
        fn plan(&self, _s: &Scratch) -> Vec<Action> {
            vec![Action::new("again", "search_code", json!({ "query": "x" }))]
        }
        fn next(&self, s: &Scratch, _attempted: &HashSet<String>) -> Option<Action> {
            self.plan(s).pop()
        }
        fn answer(&self, _s: &Scratch) -> Draft {
            Draft::default()
        }
    }

    /// Plans many different actions.
    struct Greedy;

    impl Strategy for Greedy {
        fn id(&self) -> SpecialistId {
            SpecialistId::PerformanceAnalyst
        }
        fn plan(&self, _s: &Scratch) -> Vec<Action> {
            (0..10)
                .map(|i| Action::new("more", "search_code", json!({ "query": i })))
                .collect()
        }
        fn answer(&self, _s: &Scratch) -> Draft {
            Draft::default()
        }
    }

    fn run_with(client: &Fake, max_steps: usize) -> Run<'_> {
        Run {
            client,
            events: None,
            steps: Mutex::new(Vec::new()),
            next_index: AtomicUsize::new(0),
            tool_calls: AtomicUsize::new(0),
            memo: Mutex::new(HashMap::new()),
            deadline: Instant::now() + Duration::from_secs(10),
            max_steps,
            stopped: Mutex::new(None),
            unavailable: Mutex::new(None),
        }
    }

    fn scratch() -> Scratch {
        let planner = Planner::new(&crate::planner::LearnedState::default());
        Scratch {
            question: "q".into(),
            understanding: planner.understand("review this code"),
            analysis_id: Some(1),
            symbols: Vec::new(),
            observations: Vec::new(),
            checks: HashMap::new(),
            line_context: HashMap::new(),
            previous: Vec::new(),
            related: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_repeated_identical_action_trips_the_loop_breaker() {
        let client = Fake(AtomicUsize::new(0));
        let run = run_with(&client, 50);
        let mut s = scratch();
        let (_, planned, done) = run.specialist(&Repeats, &mut s).await;
        assert_eq!(client.0.load(Ordering::SeqCst), 1, "the action ran once");
        assert_eq!((planned, done), (1, 1));
        let stopped = run.stopped.lock().unwrap().clone().unwrap();
        assert!(stopped.starts_with("loop breaker"), "{stopped}");
        let steps = run.steps.lock().unwrap();
        assert_eq!(steps.last().unwrap().outcome, Outcome::Stopped);
    }

    #[tokio::test]
    async fn the_step_budget_stops_the_loop_and_counts_what_was_left_undone() {
        let client = Fake(AtomicUsize::new(0));
        let run = run_with(&client, 3);
        let mut s = scratch();
        let (_, planned, done) = run.specialist(&Greedy, &mut s).await;
        assert_eq!(client.0.load(Ordering::SeqCst), 3);
        assert_eq!((planned, done), (10, 3));
        let stopped = run.stopped.lock().unwrap().clone().unwrap();
        assert!(stopped.contains("step budget of 3"), "{stopped}");
    }

    #[tokio::test]
    async fn identical_calls_share_one_execution() {
        let client = Fake(AtomicUsize::new(0));
        let run = run_with(&client, 50);
        let a = Action::new("t", "analysis_summary", json!({ "analysis_id": 1 }));
        let (mut s1, mut s2) = (scratch(), scratch());
        futures_util::future::join(
            run.act(None, &a, &mut s1),
            run.act(Some(SpecialistId::CodeReviewer), &a, &mut s2),
        )
        .await;
        assert_eq!(client.0.load(Ordering::SeqCst), 1);
        let steps = run.steps.lock().unwrap();
        assert_eq!(
            steps
                .iter()
                .filter(|s| s.outcome == Outcome::Reused)
                .count(),
            1
        );
    }
}
