//! Identifiers for generated tests and variables.

/// `HTTPServer` → `http_server`, `Stack.push` → `stack_push`.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0
                && (prev_lower || (next_lower && chars[i - 1].is_uppercase()))
                && !out.ends_with('_')
            {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// A few words from an argument expression: `"abc"` → `abc`, `-1` → `minus_1`, `[]` → `empty_list`.
pub fn slug(expr: &str) -> String {
    let e = expr.trim();
    let named = match e {
        "[]" => Some("empty_list"),
        "{}" => Some("empty_dict"),
        "()" => Some("empty_tuple"),
        "\"\"" | "''" => Some("empty_string"),
        "set()" => Some("empty_set"),
        "None" => Some("none"),
        _ => None,
    };
    if let Some(n) = named {
        return n.to_owned();
    }
    let words = snake(&e.replace('-', " minus "));
    let mut out: String = words.chars().take(24).collect();
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        "value".to_owned()
    } else {
        out
    }
}

/// Python's reserved words: never a variable or keyword-argument name.
pub fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "False"
            | "None"
            | "True"
            | "and"
            | "as"
            | "assert"
            | "async"
            | "await"
            | "break"
            | "class"
            | "continue"
            | "def"
            | "del"
            | "elif"
            | "else"
            | "except"
            | "finally"
            | "for"
            | "from"
            | "global"
            | "if"
            | "import"
            | "in"
            | "is"
            | "lambda"
            | "nonlocal"
            | "not"
            | "or"
            | "pass"
            | "raise"
            | "return"
            | "try"
            | "while"
            | "with"
            | "yield"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_python() {
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("Stack.push"), "stack_push");
        assert_eq!(snake("ValueError"), "value_error");
        assert_eq!(snake("parse_v2"), "parse_v2");
        assert_eq!(slug("-1"), "minus_1");
        assert_eq!(slug("\"Hello World\""), "hello_world");
        assert_eq!(slug("[]"), "empty_list");
    }
}
