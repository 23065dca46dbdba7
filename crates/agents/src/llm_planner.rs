//! The ReAct loop with a language model as the planner (provider `openai` or
//! `anthropic`): the model sees the question, the specialists' brief and the tools, and
//! chooses the next tool call or answers. Its calls run through the same engine (steps,
//! memo, loop breaker, budgets), and its answer goes through the same check: every
//! `path:line` it cites is verified against the files before it is shown.
//!
//! A model that fails (unreachable, too slow, garbage, over budget) does not fail the
//! question: the engine records why and answers with the offline planner.

use std::collections::HashSet;
use std::sync::LazyLock;

use qa_llm::{Message, Request, Spend, ToolSpec};
use regex::Regex;

use crate::engine::{Run, Scratch};
use crate::planner::Route;
use crate::specialists::{Action, Claim, Draft, Section};
use crate::tools::{Evidence, Registry};

/// `path/to/file.py:123` in an answer.
static CITATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`?([A-Za-z0-9_./\-]+\.[A-Za-z0-9]+):(\d+)`?").unwrap());

/// Longest tool result handed back to the model, in characters.
const MAX_OBSERVATION: usize = 6000;

fn system_prompt(route: &Route, analysis_id: Option<i64>) -> String {
    let who: Vec<String> = route
        .specialists
        .iter()
        .map(|s| format!("{} ({})", s.title(), s.description()))
        .collect();
    format!(
        "You are qa-agent, answering as {who}. The repository has been analysed{analysis}. \
         Use the tools to find facts; call one or more, read their results, then answer. \
         Every factual sentence of your answer must cite a location exactly as the tools \
         gave it, as `path:line` (e.g. `src/app.py:42`), with the rule id or metric when there is one. \
         Never cite a file or line the tools did not return. If the tools cannot answer, say so. \
         Answer in Markdown, concise, as a list of findings and recommendations.",
        who = who.join(", "),
        analysis = analysis_id
            .map(|id| format!(" (analysis_id {id})"))
            .unwrap_or_default(),
    )
}

/// What the team accepted for similar questions, as context the model may build on
/// (its facts still have to come from the tools).
fn related_context(related: &[crate::engine::Related]) -> String {
    if related.is_empty() {
        return String::new();
    }
    let mut text = String::from(
        "\n\nThe user's team accepted these for similar questions before; use them for \
         what the user expects, but take every fact about the code from the tools:",
    );
    for r in related {
        let excerpt: String = r.excerpt.chars().take(800).collect();
        text.push_str(&format!("\n- {} “{}”: {}", r.kind, r.title, excerpt));
    }
    text
}

/// The tools a model may call (analysis already ran; verification is the engine's job),
/// with the names the engine runs them by; built once, not per question.
static TOOLS: LazyLock<Vec<(&'static str, ToolSpec)>> = LazyLock::new(|| {
    let registry = Registry::standard();
    let names: Vec<&'static str> = registry.names().collect();
    registry
        .list()
        .into_iter()
        .filter(|t| t.name != "analyze_repository" && t.name != "verify_evidence")
        .filter_map(|t| {
            let name = names.iter().copied().find(|n| *n == t.name)?;
            Some((
                name,
                ToolSpec {
                    name: t.name,
                    description: t.description,
                    parameters: t.input_schema,
                },
            ))
        })
        .collect()
});

fn observation_text(s: &Scratch) -> String {
    let Some(o) = s.observations.last() else {
        return String::new();
    };
    match &o.result {
        Ok(out) => {
            let mut text = format!("{}\n", out.summary);
            for e in out.evidence.iter().take(40) {
                text.push_str(&format!(
                    "- {}:{} {}{}{}\n",
                    e.file,
                    e.line.unwrap_or(0),
                    e.rule_id.as_deref().unwrap_or(""),
                    e.metric
                        .as_deref()
                        .map(|m| format!(" {m}"))
                        .unwrap_or_default(),
                    e.symbol
                        .as_deref()
                        .map(|m| format!(" {m}"))
                        .unwrap_or_default(),
                ));
            }
            let data = out.data.to_string();
            text.push_str(&data.chars().take(MAX_OBSERVATION).collect::<String>());
            text
        }
        Err(e) => format!("error: {e}"),
    }
}

/// The model's answer as claims: each line citing locations is a claim with their
/// evidence (the tool's own evidence for that location when there is one); the rest is
/// prose without citations.
fn draft_from(text: &str, s: &Scratch) -> Draft {
    let known: Vec<&Evidence> = s
        .observations
        .iter()
        .filter_map(|o| o.result.as_ref().ok())
        .flat_map(|o| &o.evidence)
        .collect();
    let mut section = Section::new("Answer");
    let mut summary = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let cites: Vec<Evidence> = CITATION
            .captures_iter(line)
            .filter_map(|c| {
                let (file, n) = (c[1].to_string(), c[2].parse::<i64>().ok()?);
                Some(
                    known
                        .iter()
                        .find(|e| e.file == file && e.line == Some(n))
                        .map(|e| (*e).clone())
                        .unwrap_or(Evidence {
                            file,
                            line: Some(n),
                            rule_id: None,
                            metric: None,
                            symbol: None,
                            excerpt: None,
                            detail: String::new(),
                        }),
                )
            })
            .collect();
        let bare = CITATION.replace_all(line, "").to_string();
        let bare = bare
            .trim_start_matches(['-', '*', ' '])
            .trim_end_matches([' ', '(', ')', ',', ';'])
            .replace("()", "")
            .trim()
            .to_string();
        if cites.is_empty() {
            if section.claims.is_empty() {
                summary.push(line.to_string());
            } else {
                section.claims.push(Claim::advice(bare));
            }
        } else {
            section.claims.push(Claim::fact(bare, cites));
        }
    }
    Draft {
        summary: summary.join("\n"),
        sections: vec![section],
        artifacts: Vec::new(),
    }
}

/// Why the model could not answer (the engine falls back to the offline planner).
pub struct Fallback(pub String);

/// Runs the model's loop; the draft with (planned, done) actions, or why it gave up.
/// The model gets at most half of the time left, so the offline planner can still answer
/// if it fails; every call it makes, even of a tool that does not exist, costs a step.
pub async fn answer(
    client: &qa_llm::Client,
    run: &Run<'_>,
    s: &mut Scratch,
    route: &Route,
) -> Result<(Draft, usize, usize), Fallback> {
    let spend = Spend::default();
    let deadline = std::time::Instant::now() + run.remaining() / 2;
    let mut request = Request {
        system: system_prompt(route, s.analysis_id) + &related_context(&s.related),
        messages: vec![Message::user(s.question.clone())],
        tools: TOOLS.iter().map(|(_, spec)| spec.clone()).collect(),
        max_tokens: 1500,
        no_more_tools: false,
    };
    let mut attempted: HashSet<String> = HashSet::new();
    let (mut planned, mut done) = (0, 0);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let response = match tokio::time::timeout(left, client.complete(&request, &spend)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the language model failed; answering offline");
                return Err(Fallback(e.public_reason()));
            }
            Err(_) => {
                return Err(Fallback("its share of the time budget ran out".into()));
            }
        };
        if response.tool_calls.is_empty() || request.no_more_tools {
            if response.text.trim().is_empty() {
                return Err(Fallback("the model answered with nothing".into()));
            }
            return Ok((draft_from(&response.text, s), planned, done));
        }
        request.messages.push(Message::assistant(
            response.text.clone(),
            response.tool_calls.clone(),
        ));
        for call in &response.tool_calls {
            // Only the tools it was offered.
            let tool = TOOLS.iter().find(|(n, _)| *n == call.name).map(|(n, _)| *n);
            let key = format!("{} {}", call.name, call.arguments);
            if !attempted.insert(key) || run.over_budget().is_some() {
                // Repeating itself, or out of steps: make it answer from what it has.
                let why = run.over_budget().unwrap_or_else(|| {
                    format!(
                        "loop breaker: the model asked for `{}` with the same arguments again",
                        call.name
                    )
                });
                run.stop(why.clone());
                run.think(None, why.clone(), 0.3);
                request.messages.push(Message::tool(
                    &call.id,
                    format!("error: {why}; answer now from what you have"),
                ));
                request.no_more_tools = true;
                continue;
            }
            planned += 1;
            let Some(tool) = tool else {
                run.think(
                    None,
                    format!(
                        "The model asked for `{}`, which is not one of its tools.",
                        call.name
                    ),
                    0.3,
                );
                request.messages.push(Message::tool(
                    &call.id,
                    format!("error: there is no tool `{}`", call.name),
                ));
                continue;
            };
            let thought = if response.text.trim().is_empty() {
                format!(
                    "The model calls `{tool}`{}.",
                    if call.repaired {
                        " (its arguments needed repair)"
                    } else {
                        ""
                    }
                )
            } else {
                response.text.trim().chars().take(300).collect()
            };
            let action = Action::new(thought, tool, call.arguments.clone());
            run.act(None, &action, s).await;
            if s.observations.last().is_some_and(|o| o.result.is_ok()) {
                done += 1;
            }
            request
                .messages
                .push(Message::tool(&call.id, observation_text(s)));
        }
    }
}
