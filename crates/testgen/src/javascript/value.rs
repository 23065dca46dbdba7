//! Values between the harness and the tests: JSON with tags for what JSON cannot say
//! (`{"$u":1}` is `undefined`, `{"$num":"NaN"}`, `{"$obj":{..}}` a plain object, `{"$x":..}`
//! something a test cannot assert exactly), rendered as JavaScript literals.

use serde_json::Value;

/// The JavaScript source for `v`, or `None` when it holds something that cannot be written
/// as a literal (a function, a date, a class instance, a cyclic or huge value).
pub fn literal(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n.as_f64()?),
        Value::String(s) => string(s),
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(literal).collect();
            format!("[{}]", parts?.join(", "))
        }
        Value::Object(map) => {
            if map.contains_key("$u") {
                "undefined".into()
            } else if let Some(Value::String(n)) = map.get("$num") {
                n.clone()
            } else if let Some(Value::String(b)) = map.get("$big") {
                format!("{b}n")
            } else if let Some(Value::Object(fields)) = map.get("$obj") {
                object(fields)?
            } else if let (Some(Value::String(src)), Some(Value::String(flags))) =
                (map.get("$re"), map.get("flags"))
            {
                format!("/{src}/{flags}")
            } else if let Some(Value::Array(pairs)) = map.get("$map") {
                let parts: Option<Vec<String>> = pairs.iter().map(literal).collect();
                format!("new Map([{}])", parts?.join(", "))
            } else if let Some(Value::Array(items)) = map.get("$set") {
                let parts: Option<Vec<String>> = items.iter().map(literal).collect();
                format!("new Set([{}])", parts?.join(", "))
            } else {
                return None;
            }
        }
    })
}

/// A plain object literal from tagged fields.
pub fn object(fields: &serde_json::Map<String, Value>) -> Option<String> {
    if fields.is_empty() {
        return Some("{}".into());
    }
    let parts: Option<Vec<String>> = fields
        .iter()
        .map(|(k, v)| Some(format!("{}: {}", key(k), literal(v)?)))
        .collect();
    Some(format!("{{ {} }}", parts?.join(", ")))
}

fn key(k: &str) -> String {
    let ident = !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident { k.to_owned() } else { string(k) }
}

/// A double-quoted JavaScript string literal.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The shortest text that reads back as the same double (what `String(x)` gives for the
/// usual range).
pub fn number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e21 {
        format!("{}", x as i128)
    } else {
        let s = format!("{x:?}");
        s.strip_suffix(".0").unwrap_or(&s).to_owned()
    }
}

/// A number that is not an integer: compared with `toBeCloseTo`, not `toBe`.
pub fn is_fraction(v: &Value) -> bool {
    v.as_f64().is_some_and(|x| x.is_finite() && x != x.trunc())
}

/// What kind of value this is, as a test name would say it.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
        Value::Number(_) => "number",
        Value::String(s) if s.is_empty() => "empty_string",
        Value::String(_) => "string",
        Value::Array(a) if a.is_empty() => "empty_array",
        Value::Array(_) => "array",
        Value::Object(m) if m.contains_key("$u") => "undefined",
        Value::Object(m) if m.contains_key("$num") => "number",
        Value::Object(m) if m.contains_key("$inst") => "instance",
        Value::Object(m) if m.contains_key("$map") => "map",
        Value::Object(m) if m.contains_key("$set") => "set",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_round_trip_the_tags() {
        assert_eq!(literal(&json!({"$u": 1})).unwrap(), "undefined");
        assert_eq!(literal(&json!({"$num": "NaN"})).unwrap(), "NaN");
        assert_eq!(literal(&json!(1.5)).unwrap(), "1.5");
        assert_eq!(literal(&json!(86400000.0)).unwrap(), "86400000");
        assert_eq!(literal(&json!("a\"b\n")).unwrap(), r#""a\"b\n""#);
        assert_eq!(
            literal(&json!({"$obj": {"long": true, "a-b": [1, {"$u": 1}]}})).unwrap(),
            r#"{ "a-b": [1, undefined], long: true }"#
        );
        assert_eq!(
            literal(&json!({"$set": [1, 2]})).unwrap(),
            "new Set([1, 2])"
        );
        assert!(literal(&json!({"$x": "function"})).is_none());
        assert!(literal(&json!([1, {"$inst": "A", "fields": {}}])).is_none());
    }

    #[test]
    fn numbers_read_back_the_same() {
        for x in [0.1, 1e-7, 123456.789, -2.5, 1e300, 3.0] {
            assert_eq!(number(x).parse::<f64>().unwrap(), x);
        }
    }
}
