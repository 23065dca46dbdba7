//! `explain_rule`: what a rule finds, why it matters and how to fix it.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolError, ToolFuture, ToolOutput, input, schema};

pub struct ExplainRule;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Input {
    /// A rule id (`SEC001`) or name (`code-injection-eval`).
    rule: String,
}

impl Tool for ExplainRule {
    fn name(&self) -> &'static str {
        "explain_rule"
    }
    fn description(&self) -> &'static str {
        "Explain an analysis rule: what it finds, why it matters, how to fix it, with examples"
    }
    fn input_schema(&self) -> Value {
        schema::<Input>()
    }
    fn run<'a>(&'a self, _cx: &'a ToolContext, v: Value) -> ToolFuture<'a> {
        Box::pin(async move {
            let i: Input = input(v)?;
            let Some(rule) = qa_analysis::rule(i.rule.trim()) else {
                return Err(ToolError::NotFound(format!(
                    "no rule `{}` (ids look like SEC001, PERF003, MNT012)",
                    i.rule
                )));
            };
            Ok(ToolOutput {
                summary: format!("{} {}: {}", rule.id, rule.name, rule.title),
                data: json!({
                    "id": rule.id,
                    "name": rule.name,
                    "family": rule.family,
                    "severity": rule.severity,
                    "languages": rule.languages,
                    "title": rule.title,
                    "docs": rule.docs,
                }),
                evidence: Vec::new(),
            })
        })
    }
}
