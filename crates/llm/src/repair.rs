//! Repairs the usual ways a model breaks tool-call JSON: wrapped in a Markdown fence,
//! trailing commas, and a truncated end (unclosed strings, objects, arrays). Anything
//! else is left to fail, so a garbled call is rejected rather than guessed at.

/// The repaired text, or `None` when there is nothing this can fix.
pub fn repair(text: &str) -> Option<String> {
    let mut t = text.trim();
    if let Some(inner) = t.strip_prefix("```") {
        let inner = inner.trim_start_matches("json").trim_start();
        t = inner.strip_suffix("```").unwrap_or(inner).trim();
    }
    if !t.starts_with('{') {
        return None;
    }
    let mut out = String::with_capacity(t.len() + 8);
    let mut stack = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in t.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => stack.push('}'),
            '[' => stack.push(']'),
            '}' | ']' => {
                // Drop a trailing comma before the close.
                let trimmed = out.trim_end().len();
                if out[..trimmed].ends_with(',') {
                    out.truncate(trimmed - 1);
                }
                if stack.pop() != Some(c) {
                    return None;
                }
            }
            _ => {}
        }
        out.push(c);
    }
    if in_string {
        out.push('"');
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if out.ends_with(',') || out.ends_with(':') {
        out.pop();
    }
    while let Some(close) = stack.pop() {
        out.push(close);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::repair;
    use serde_json::{Value, json};

    fn fixed(s: &str) -> Option<Value> {
        repair(s).and_then(|r| serde_json::from_str(&r).ok())
    }

    #[test]
    fn common_breakage_is_repaired() {
        assert_eq!(fixed(r#"{"a": 1,}"#), Some(json!({ "a": 1 })));
        assert_eq!(
            fixed(r#"{"a": [1, 2,], "b": {"c": "x",},}"#),
            Some(json!({ "a": [1, 2], "b": { "c": "x" } }))
        );
        assert_eq!(
            fixed(r#"{"analysis_id": 3, "name": "parse_ord"#),
            Some(json!({ "analysis_id": 3, "name": "parse_ord" }))
        );
        assert_eq!(
            fixed("```json\n{\"rule\": \"SEC001\"}\n```"),
            Some(json!({ "rule": "SEC001" }))
        );
        assert_eq!(fixed(r#"{"q": "a, b}"}"#), Some(json!({ "q": "a, b}" })));
    }

    #[test]
    fn garbage_is_not_guessed_at() {
        assert_eq!(fixed("call find_violations please"), None);
        assert_eq!(fixed(r#"{"a": 1]}"#), None);
        assert_eq!(fixed("[1, 2]"), None);
    }
}
