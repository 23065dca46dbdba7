//! The Anthropic Messages API wire format (`POST {base_url}/v1/messages` with `tools` and
//! `stream: true`): content blocks of text and `tool_use`, whose input streams as
//! `input_json_delta` pieces.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::sse::Event;
use crate::{LlmError, ProviderConfig, Request, Response, Role, ToolCall, Usage, Wire};

pub struct Anthropic;

pub const API_VERSION: &str = "2023-06-01";

impl Wire for Anthropic {
    fn build(
        &self,
        config: &ProviderConfig,
        req: &Request,
    ) -> (String, Vec<(String, String)>, Value) {
        let mut messages: Vec<Value> = Vec::new();
        for m in &req.messages {
            match m.role {
                Role::User => messages.push(json!({ "role": "user", "content": m.content })),
                Role::Assistant => {
                    let mut content = Vec::new();
                    if !m.content.is_empty() {
                        content.push(json!({ "type": "text", "text": m.content }));
                    }
                    for c in &m.tool_calls {
                        content.push(json!({ "type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments }));
                    }
                    messages.push(json!({ "role": "assistant", "content": content }));
                }
                // Tool results travel in a user message; consecutive ones share it.
                Role::Tool => {
                    let block = json!({ "type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content });
                    let open = messages
                        .last_mut()
                        .filter(|last| last["role"] == "user")
                        .and_then(|last| last["content"].as_array_mut());
                    match open {
                        Some(blocks) => blocks.push(block),
                        None => messages.push(json!({ "role": "user", "content": [block] })),
                    }
                }
            }
        }
        let mut body = json!({
            "model": config.model,
            "system": req.system,
            "messages": messages,
            "max_tokens": req.max_tokens,
            "stream": true,
        });
        if req.no_more_tools {
            body["tool_choice"] = json!({ "type": "none" });
        }
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| json!({ "name": t.name, "description": t.description, "input_schema": t.parameters }))
                .collect();
        }
        let mut headers = vec![("anthropic-version".to_string(), API_VERSION.to_string())];
        if let Some(key) = &config.api_key {
            headers.push(("x-api-key".to_string(), key.clone()));
        }
        ("/v1/messages".into(), headers, body)
    }

    fn parse(&self, events: &[Event]) -> Result<Response, LlmError> {
        let mut text = String::new();
        // Content blocks by index: (kind, id, name, input json).
        let mut blocks: BTreeMap<u64, (String, String, String, String)> = BTreeMap::new();
        let mut usage = Usage::default();
        let mut finish_reason = None;
        let mut stopped = false;
        for e in events {
            let v: Value = serde_json::from_str(&e.data).map_err(|err| {
                LlmError::Malformed(format!(
                    "a stream event is not JSON ({err}): {}",
                    e.data.chars().take(120).collect::<String>()
                ))
            })?;
            match v["type"]
                .as_str()
                .or(e.event.as_deref())
                .unwrap_or_default()
            {
                "message_start" => {
                    usage.input_tokens =
                        v["message"]["usage"]["input_tokens"].as_u64().unwrap_or(0);
                }
                "content_block_start" => {
                    let b = &v["content_block"];
                    blocks.insert(
                        v["index"].as_u64().unwrap_or(0),
                        (
                            b["type"].as_str().unwrap_or_default().to_string(),
                            b["id"].as_str().unwrap_or_default().to_string(),
                            b["name"].as_str().unwrap_or_default().to_string(),
                            String::new(),
                        ),
                    );
                    if let Some(t) = b["text"].as_str() {
                        text.push_str(t);
                    }
                }
                "content_block_delta" => {
                    let d = &v["delta"];
                    match d["type"].as_str() {
                        Some("text_delta") => text.push_str(d["text"].as_str().unwrap_or_default()),
                        Some("input_json_delta") => {
                            let index = v["index"].as_u64().unwrap_or(0);
                            let b = blocks.get_mut(&index).ok_or_else(|| {
                                LlmError::Malformed(format!(
                                    "a delta for block {index}, which never started"
                                ))
                            })?;
                            b.3.push_str(d["partial_json"].as_str().unwrap_or_default());
                        }
                        _ => {}
                    }
                }
                "message_delta" => {
                    if let Some(r) = v["delta"]["stop_reason"].as_str() {
                        finish_reason = Some(r.to_string());
                    }
                    if let Some(n) = v["usage"]["output_tokens"].as_u64() {
                        usage.output_tokens = n;
                    }
                }
                "message_stop" => stopped = true,
                "error" => {
                    let kind = v["error"]["type"].as_str().unwrap_or("error");
                    let detail = v["error"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    // Overloaded is worth retrying, like a 529 before the stream started.
                    let status = if kind == "overloaded_error" { 529 } else { 500 };
                    return Err(LlmError::Http {
                        status,
                        detail: format!("{kind}: {detail}"),
                    });
                }
                _ => {}
            }
        }
        if !stopped {
            return Err(LlmError::Malformed(
                "the stream ended before message_stop".into(),
            ));
        }
        let truncated = finish_reason.as_deref() == Some("max_tokens");
        let tool_calls = blocks
            .into_values()
            .filter(|b| b.0 == "tool_use")
            .map(|(_, id, name, input)| ToolCall::assemble(id, name, &input, truncated))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Response {
            text,
            tool_calls,
            usage,
            finish_reason,
        })
    }
}
