//! The OpenAI-compatible chat completions wire format (`POST {base_url}/chat/completions`
//! with `tools` and `stream: true`), as OpenAI, vLLM, Ollama and LM Studio speak it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::sse::Event;
use crate::{LlmError, ProviderConfig, Request, Response, Role, ToolCall, Usage, Wire};

pub struct OpenAi;

impl Wire for OpenAi {
    fn build(
        &self,
        config: &ProviderConfig,
        req: &Request,
    ) -> (String, Vec<(String, String)>, Value) {
        let mut messages = vec![json!({ "role": "system", "content": req.system })];
        for m in &req.messages {
            messages.push(match m.role {
                Role::User => json!({ "role": "user", "content": m.content }),
                Role::Tool => json!({ "role": "tool", "tool_call_id": m.tool_call_id, "content": m.content }),
                Role::Assistant => {
                    let mut v = json!({ "role": "assistant", "content": m.content });
                    if !m.tool_calls.is_empty() {
                        v["tool_calls"] = m
                            .tool_calls
                            .iter()
                            .map(|c| json!({ "id": c.id, "type": "function", "function": { "name": c.name, "arguments": c.arguments.to_string() } }))
                            .collect();
                    }
                    v
                }
            });
        }
        let mut body = json!({
            "model": config.model,
            "messages": messages,
            "max_tokens": req.max_tokens,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if req.no_more_tools {
            body["tool_choice"] = "none".into();
        }
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| json!({ "type": "function", "function": { "name": t.name, "description": t.description, "parameters": t.parameters } }))
                .collect();
        }
        let mut headers = Vec::new();
        if let Some(key) = &config.api_key {
            headers.push(("authorization".to_string(), format!("Bearer {key}")));
        }
        ("/chat/completions".into(), headers, body)
    }

    fn parse(&self, events: &[Event]) -> Result<Response, LlmError> {
        let mut text = String::new();
        // Tool calls arrive in pieces, keyed by their index.
        let mut calls: BTreeMap<u64, (String, String, String)> = BTreeMap::new();
        let mut usage = Usage::default();
        let mut finish_reason = None;
        let mut done = false;
        for e in events {
            if e.data.trim() == "[DONE]" {
                done = true;
                continue;
            }
            let v: Value = serde_json::from_str(&e.data).map_err(|err| {
                LlmError::Malformed(format!(
                    "a stream event is not JSON ({err}): {}",
                    e.data.chars().take(120).collect::<String>()
                ))
            })?;
            if let Some(err) = v.get("error") {
                return Err(LlmError::Malformed(format!(
                    "the stream reported an error: {err}"
                )));
            }
            if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                usage.input_tokens = u["prompt_tokens"].as_u64().unwrap_or(usage.input_tokens);
                usage.output_tokens = u["completion_tokens"]
                    .as_u64()
                    .unwrap_or(usage.output_tokens);
            }
            let Some(choice) = v["choices"].get(0) else {
                continue;
            };
            if let Some(r) = choice["finish_reason"].as_str() {
                finish_reason = Some(r.to_string());
            }
            let delta = &choice["delta"];
            if let Some(t) = delta["content"].as_str() {
                text.push_str(t);
            }
            for c in delta["tool_calls"].as_array().into_iter().flatten() {
                let index = c["index"].as_u64().unwrap_or(0);
                let entry = calls.entry(index).or_default();
                if let Some(id) = c["id"].as_str() {
                    entry.0 = id.to_string();
                }
                if let Some(name) = c["function"]["name"].as_str() {
                    entry.1.push_str(name);
                }
                if let Some(args) = c["function"]["arguments"].as_str() {
                    entry.2.push_str(args);
                }
            }
        }
        if !done && finish_reason.is_none() {
            return Err(LlmError::Malformed(
                "the stream ended before the answer did".into(),
            ));
        }
        let truncated = finish_reason.as_deref() == Some("length");
        let tool_calls = calls
            .into_values()
            .enumerate()
            .map(|(i, (id, name, args))| {
                if name.is_empty() {
                    return Err(LlmError::Malformed("a tool call without a name".into()));
                }
                let id = if id.is_empty() {
                    format!("call_{i}")
                } else {
                    id
                };
                ToolCall::assemble(id, name, &args, truncated)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Response {
            text,
            tool_calls,
            usage,
            finish_reason,
        })
    }
}
