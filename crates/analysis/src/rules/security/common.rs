//! Helpers shared by the security rules: literal parts of built strings, shells, sanitisers,
//! credential-like names, file modes, and looking up a local variable's assignments.

use tree_sitter::Node;

use crate::lang::{Assign, Call, Role, ValueKind};
use crate::rules::Cx;
use crate::rules::helpers::kind;

/// Upper bound on nodes visited by the subtree searches below, so a pathological
/// expression cannot make a rule slow.
const MAX_VISIT: usize = 4000;

/// Whether `node` is a leaf piece of literal text inside a string (the parts of an
/// f-string or template outside its substitutions, a Go or Java string's content).
fn is_string_piece(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    let id = node.kind_id();
    id == kind!(cx.dialect, "string_content")
        || id == kind!(cx.dialect, "string_fragment")
        || id == kind!(cx.dialect, "multiline_string_fragment")
        || id == kind!(cx.dialect, "interpreted_string_literal_content")
        || id == kind!(cx.dialect, "raw_string_literal_content")
}

/// The literal text pieces found anywhere in `node` (f-string and template fragments, the
/// operands of a concatenation, the format string of `fmt.Sprintf`/`String.format`/
/// `"...".format()`), joined with spaces.
pub(crate) fn literal_text(cx: &Cx<'_, '_>, node: Node<'_>) -> String {
    let mut out = String::new();
    let mut stack = vec![node];
    let mut visited = 0;
    while let Some(n) = stack.pop() {
        visited += 1;
        if visited > MAX_VISIT {
            break;
        }
        if is_string_piece(cx, n) {
            // Pushed in reverse below, so pieces come out in source order.
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(cx.text(n));
            continue;
        }
        let mut cursor = n.walk();
        let kids: Vec<Node> = n.named_children(&mut cursor).collect();
        stack.extend(kids.into_iter().rev());
    }
    out
}

/// Whether `node` is a plain identifier (a local variable, parameter or constant name).
pub(crate) fn is_identifier(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    node.kind_id() == kind!(cx.dialect, "identifier")
}

/// The call expression `node` is, if it is one.
pub(crate) fn as_call<'t>(cx: &Cx<'_, 't>, node: Node<'t>) -> Option<Call<'t>> {
    let mut node = node;
    // `(f(x))`, `await f(x)`.
    while node.kind_id() == kind!(cx.dialect, "parenthesized_expression")
        || node.kind_id() == kind!(cx.dialect, "await_expression")
        || node.kind_id() == kind!(cx.dialect, "await")
    {
        node = node.named_child(0)?;
    }
    (cx.lang.role(node) == Role::Call)
        .then(|| cx.lang.call(node, cx.src))
        .flatten()
}

/// Calls anywhere inside `node` (including `node` itself), in source order.
pub(crate) fn calls_within<'t>(cx: &Cx<'_, 't>, node: Node<'t>) -> Vec<Call<'t>> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    let mut visited = 0;
    while let Some(n) = stack.pop() {
        visited += 1;
        if visited > MAX_VISIT {
            break;
        }
        if cx.lang.role(n) == Role::Call
            && let Some(c) = cx.lang.call(n, cx.src)
        {
            out.push(c);
        }
        let mut cursor = n.walk();
        let kids: Vec<Node> = n.named_children(&mut cursor).collect();
        stack.extend(kids.into_iter().rev());
    }
    out
}

/// The innermost function (or lambda/closure the language lists) enclosing `node`.
pub(crate) fn enclosing_function<'t>(cx: &Cx<'_, 't>, node: Node<'t>) -> Option<Node<'t>> {
    let mut n = cx.parent_of(node);
    while let Some(p) = n {
        if cx.lang.role(p) == Role::Function {
            return Some(p);
        }
        n = cx.parent_of(p);
    }
    None
}

/// Assignments to exactly `name` inside the function enclosing `at` (not inside nested
/// functions) that come before `at`, in source order.
pub(crate) fn assignments_before<'t>(cx: &Cx<'_, 't>, at: Node<'t>, name: &str) -> Vec<Assign<'t>> {
    let Some(func) = enclosing_function(cx, at) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![func];
    let mut visited = 0;
    while let Some(n) = stack.pop() {
        visited += 1;
        if visited > MAX_VISIT * 4 || n.start_byte() >= at.start_byte() {
            continue;
        }
        let role = cx.lang.role(n);
        if role == Role::Function && n != func {
            continue;
        }
        if role == Role::Assign
            && let Some(a) = cx.lang.assignment(n, cx.src)
            && a.target == name
        {
            out.push(a);
        }
        let mut cursor = n.walk();
        let kids: Vec<Node> = n.named_children(&mut cursor).collect();
        stack.extend(kids.into_iter().rev());
    }
    out.sort_by_key(|a| a.node.start_byte());
    out
}

/// The values pasted into a string built at run time: interpolations, non-literal
/// operands of `+`/`%`, formatting arguments.
pub(crate) fn dynamic_parts<'t>(
    cx: &Cx<'_, 't>,
    node: Node<'t>,
    out: &mut Vec<Node<'t>>,
    depth: u32,
) {
    if depth > 40 || cx.value(node).is_literal() {
        return;
    }
    let id = node.kind_id();
    let d = cx.dialect;
    if id == kind!(d, "parenthesized_expression") {
        if let Some(inner) = node.named_child(0) {
            dynamic_parts(cx, inner, out, depth + 1);
        }
        return;
    }
    if id == kind!(d, "string") || id == kind!(d, "template_string") {
        let mut cursor = node.walk();
        for c in node.named_children(&mut cursor) {
            if (c.kind_id() == kind!(d, "interpolation")
                || c.kind_id() == kind!(d, "template_substitution"))
                && let Some(e) = c.named_child(0)
            {
                out.push(e);
            }
        }
        return;
    }
    if id == kind!(d, "dictionary") {
        // `"... %(name)s" % {"name": value}`.
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.named_children(&mut cursor).collect();
        for p in kids {
            if let Some(v) = p.child_by_field_name("value") {
                dynamic_parts(cx, v, out, depth + 1);
            }
        }
        return;
    }
    if id == kind!(d, "concatenated_string") || id == kind!(d, "tuple") {
        let mut cursor = node.walk();
        let kids: Vec<Node> = node.named_children(&mut cursor).collect();
        for c in kids {
            dynamic_parts(cx, c, out, depth + 1);
        }
        return;
    }
    if id == kind!(d, "binary_operator") || id == kind!(d, "binary_expression") {
        let op = node.child_by_field_name("operator").map(|o| cx.text(o));
        // `"... %d" % n`: only numbers can be pasted in.
        if op == Some("%")
            && let Some(ValueKind::StaticString(f)) =
                node.child_by_field_name("left").map(|l| cx.value(l))
            && format_is_numeric(&f)
        {
            return;
        }
        if matches!(op, Some("+" | "%")) {
            for f in ["left", "right"] {
                if let Some(c) = node.child_by_field_name(f) {
                    dynamic_parts(cx, c, out, depth + 1);
                }
            }
            return;
        }
    }
    if let Some(call) = as_call(cx, node) {
        // The string a method is called on: `"...".format(x)`, `"...".formatted(x)`,
        // `f"...".strip()`; `"sep".join(parts)` stays whole for the caller to judge.
        let string_receiver = call
            .node
            .child_by_field_name("function")
            .and_then(|f| f.child_by_field_name("object"))
            .or_else(|| call.node.child_by_field_name("object"))
            .filter(|r| {
                call.name != "join"
                    && matches!(
                        cx.value(*r),
                        ValueKind::StaticString(_) | ValueKind::DynamicString
                    )
            });
        let skip = if call.is(&[
            "fmt.Sprintf",
            "String.format",
            "util.format",
            "MessageFormat.format",
        ]) {
            Some(1)
        } else if string_receiver.is_some() || call.is(&["fmt.Sprint"]) {
            Some(0)
        } else {
            None
        };
        if skip == Some(1)
            && let Some(ValueKind::StaticString(f)) = call.positional(0).map(|f| cx.value(f))
            && format_is_numeric(&f)
        {
            return;
        }
        if let Some(skip) = skip {
            if let Some(r) = string_receiver {
                dynamic_parts(cx, r, out, depth + 1);
            }
            for a in call.args.iter().skip(skip) {
                if !cx.value(a.value).is_literal() {
                    out.push(a.value);
                }
            }
            return;
        }
    }
    out.push(node);
}

/// The declared type of a parameter or local variable `name` visible at `at`, as written
/// (`int`, `String[]`, `List<String>`, `number`): typed parameters and declarations of the
/// enclosing function before `at` (Java, Go, TypeScript, annotated Python), then Java
/// fields of the enclosing class.
pub(crate) fn declared_type<'t>(cx: &Cx<'_, 't>, at: Node<'t>, name: &str) -> Option<&'t str> {
    let d = cx.dialect;
    let mut func = enclosing_function(cx, at);
    while let Some(f) = func {
        if let Some(t) = typed_declaration(cx, f, at, name, false) {
            return Some(t);
        }
        func = enclosing_function(cx, f);
    }
    // Java fields.
    let mut n = cx.parent_of(at);
    while let Some(p) = n {
        if p.kind_id() == kind!(d, "class_body") {
            return typed_declaration(cx, p, at, name, true);
        }
        n = cx.parent_of(p);
    }
    None
}

/// A declaration of `name` with a type inside `scope` (not in nested functions), the last
/// one before `at`; with `fields_only`, Java field declarations anywhere in the class body.
fn typed_declaration<'t>(
    cx: &Cx<'_, 't>,
    scope: Node<'t>,
    at: Node<'t>,
    name: &str,
    fields_only: bool,
) -> Option<&'t str> {
    let d = cx.dialect;
    let mut best: Option<(usize, &'t str)> = None;
    let mut stack = vec![scope];
    let mut visited = 0;
    while let Some(n) = stack.pop() {
        visited += 1;
        if visited > MAX_VISIT * 4 {
            break;
        }
        if n != scope && cx.lang.role(n) == Role::Function {
            continue;
        }
        let id = n.kind_id();
        let is_field = id == kind!(d, "field_declaration");
        let eligible = if fields_only {
            is_field
        } else {
            !is_field && n.start_byte() < at.start_byte()
        };
        if eligible && let Some(ty) = n.child_by_field_name("type") {
            let mut names: Vec<Node> = Vec::new();
            let mut cursor = n.walk();
            names.extend(n.children_by_field_name("name", &mut cursor));
            names.extend(n.child_by_field_name("pattern"));
            let mut cursor = n.walk();
            names.extend(
                n.children_by_field_name("declarator", &mut cursor)
                    .filter_map(|dcl| dcl.child_by_field_name("name")),
            );
            if id == kind!(d, "typed_parameter") {
                names.extend(n.named_child(0));
            }
            if names.iter().any(|x| cx.text(*x) == name) {
                let rank = n.start_byte();
                if best.is_none_or(|(r, _)| rank >= r) {
                    best = Some((rank, cx.text(ty)));
                }
            }
        }
        if fields_only && n != scope && id != kind!(d, "field_declaration") {
            // Fields are direct children of the class body.
            continue;
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    best.map(|(_, t)| t)
}

/// Whether a declared type can only hold numbers, booleans, ids or dates: values that
/// cannot carry markup or SQL.
pub(crate) fn is_scalar_type(ty: &str) -> bool {
    let t: String = ty
        .trim_start_matches(':')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let t = t.trim_end_matches('?').trim_start_matches('*');
    let t = t
        .strip_suffix("|none")
        .or_else(|| {
            t.strip_prefix("optional[")
                .and_then(|r| r.strip_suffix(']'))
        })
        .unwrap_or(t);
    let t = t.rsplit('.').next().unwrap_or(t);
    matches!(
        t,
        "int"
            | "integer"
            | "long"
            | "short"
            | "byte"
            | "float"
            | "double"
            | "bool"
            | "boolean"
            | "number"
            | "bigint"
            | "int8"
            | "int16"
            | "int32"
            | "int64"
            | "uint"
            | "uint8"
            | "uint16"
            | "uint32"
            | "uint64"
            | "uintptr"
            | "float32"
            | "float64"
            | "decimal"
            | "bigdecimal"
            | "biginteger"
            | "uuid"
            | "date"
            | "datetime"
            | "localdate"
            | "localdatetime"
            | "instant"
            | "time"
    )
}

/// Whether a printf-style format string only has numeric conversions (`%d`, `%.2f`,
/// `%(count)d`), so whatever it formats cannot inject text.
pub(crate) fn format_is_numeric(fmt: &str) -> bool {
    static VERB: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"%(?:\([^)]*\))?[-#0 +']*(?:\d+|\*)?(?:\.(?:\d+|\*))?([a-zA-Z])")
            .expect("valid format pattern")
    });
    let f = fmt.replace("%%", "");
    let mut any = false;
    for c in VERB.captures_iter(&f) {
        any = true;
        if !matches!(
            &c[1],
            "d" | "i" | "u" | "f" | "F" | "e" | "E" | "g" | "G" | "x" | "X" | "o" | "b" | "t"
        ) {
            return false;
        }
    }
    any
}

/// Whether a Python file has `from module import ..., name, ...`.
pub(crate) fn imported_from(cx: &Cx<'_, '_>, module: &str, name: &str) -> bool {
    let prefix = format!("from {module} import");
    cx.imports(module)
        && cx.src.lines().any(|l| {
            l.trim_start().strip_prefix(&prefix).is_some_and(|rest| {
                rest.split([',', '(', ')', ' ', '\\'])
                    .any(|w| w.trim() == name)
            })
        })
}

/// Whether a program name is a command interpreter that runs its `-c`/`/c` argument.
pub(crate) fn is_shell(program: &str) -> bool {
    let p = program.trim();
    let base = p
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(p)
        .to_ascii_lowercase();
    let base = base.strip_suffix(".exe").unwrap_or(&base);
    matches!(
        base,
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "fish" | "cmd" | "powershell" | "pwsh"
    )
}

/// Whether an argument tells a shell to run the next argument as a command line.
pub(crate) fn is_shell_command_flag(flag: &str) -> bool {
    let f = flag.trim();
    matches!(f, "-c" | "/c" | "/C" | "-Command" | "-command")
        // `bash -lc`, `sh -ec`: combined short options ending in `c`.
        || (f.len() <= 4
            && f.starts_with('-')
            && f.ends_with('c')
            && f[1..].chars().all(|c| c.is_ascii_lowercase()))
}

/// Checks an argument list of the form `shell, -c, command...`: returns the first
/// argument after the flag whose value is not fixed in the source.
pub(crate) fn shell_command_arg<'t>(cx: &Cx<'_, '_>, args: &[Node<'t>]) -> Option<Node<'t>> {
    let program = match cx.value(*args.first()?) {
        ValueKind::StaticString(s) => s,
        _ => return None,
    };
    if !is_shell(&program) {
        return None;
    }
    let flag = args.iter().skip(1).position(
        |a| matches!(cx.value(*a), ValueKind::StaticString(s) if is_shell_command_flag(&s)),
    )?;
    // Only the script itself: later arguments are the script's `$0`, `$1`... and are
    // never parsed by the shell.
    args.get(flag + 2)
        .copied()
        .filter(|a| !cx.value(*a).is_literal())
}

/// Where to report a call: the call itself, or for calls spanning several lines (builder
/// chains like `Client::builder()\n.danger_accept_invalid_certs(true)`) the called name.
pub(crate) fn anchor<'t>(call: &Call<'t>) -> Node<'t> {
    let n = call.node;
    if n.start_position().row == n.end_position().row {
        return n;
    }
    if let Some(name) = n.child_by_field_name("name") {
        return name;
    }
    if let Some(f) = n.child_by_field_name("function")
        && let Some(last) = f.named_child((f.named_child_count() as u32).saturating_sub(1))
        && last.start_byte() + call.name.len() == last.end_byte()
    {
        return last;
    }
    n
}

/// Whether a call escapes or sanitises HTML (`DOMPurify.sanitize(x)`, `sanitizeHtml(x)`).
pub(crate) fn is_sanitizer_call(call: &Call<'_>) -> bool {
    matches!(
        call.name,
        "sanitize"
            | "sanitizeHtml"
            | "sanitizeHTML"
            | "sanitizeUrl"
            | "xss"
            | "filterXSS"
            | "escape"
            | "escapeHtml"
            | "escapeHTML"
            | "htmlEscape"
            | "encode"
            | "encodeHTML"
            | "purify"
    )
}

/// Lower-case name without separators: `api_key`, `apiKey` and `API-KEY` → `apikey`.
pub(crate) fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// Endings of names that hold a secret which must be unpredictable.
const SECRET_ENDINGS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "secretkey",
    "apikey",
    "accesskey",
    "privatekey",
    "signingkey",
    "encryptionkey",
    "nonce",
    "salt",
    "otp",
    "totp",
    "sessionid",
    "sessionkey",
    "sessiontoken",
    "resetcode",
    "verificationcode",
    "confirmationcode",
    "activationcode",
    "authcode",
    "otpcode",
    "pincode",
    "csrf",
    "xsrf",
];

/// Whether a variable, field or function name says its value is a secret that must be
/// unguessable (`reset_token`, `apiKey`, `generate_password`, `csrf_nonce`). Counts and
/// lengths of such things (`token_count`, `salt_len`) are not.
pub(crate) fn is_secret_name(name: &str) -> bool {
    with_normalised_tail(name, ends_like_secret)
}

/// Calls `f` with the last 32 letters and digits of `name`, lowercased (all of them when
/// there are fewer): what `normalise` gives, for the name tests here, which compare
/// endings shorter than that. Name tests run for every assignment, so ASCII names are
/// handled without allocating.
pub(crate) fn with_normalised_tail<R>(name: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    const TAIL: usize = 32;
    let mut buf = [0u8; TAIL];
    let mut len = 0;
    for c in name.chars().rev().filter(|c| c.is_alphanumeric()) {
        if !c.is_ascii() {
            return f(normalise(name).as_bytes());
        }
        if len == TAIL {
            break;
        }
        buf[TAIL - 1 - len] = c.to_ascii_lowercase() as u8;
        len += 1;
    }
    f(&buf[TAIL - len..])
}

fn ends_like_secret(n: &[u8]) -> bool {
    SECRET_ENDINGS.iter().any(|s| n.ends_with(s.as_bytes()))
        && !["tokens", "tokentype", "tokenkind"]
            .iter()
            .any(|s| n.ends_with(s.as_bytes()))
}

/// The numeric value of an integer literal in Python, JavaScript or Go syntax:
/// `0o777`, `0777`, `0x1ff`, `511`, `0b111111111`, `0o7_7_7`.
pub(crate) fn parse_int(text: &str) -> Option<u32> {
    let t: String = text.trim().chars().filter(|c| *c != '_').collect();
    let t = t.trim_end_matches(['n', 'L', 'l']);
    let lower = t.to_ascii_lowercase();
    if let Some(h) = lower.strip_prefix("0x") {
        u32::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        u32::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        u32::from_str_radix(b, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') {
        u32::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse().ok()
    }
}

/// Whether a permission mode lets every user write (the "others" write bit, 0o002).
pub(crate) fn world_writable(mode: u32) -> bool {
    mode & 0o002 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_tails_match_the_normalised_name() {
        for name in [
            "api_key",
            "API-KEY",
            "resetPasswordToken",
            "a_very_long_descriptive_name_for_the_service_secret_key",
            "clé_secrète_token",
            "tokens",
            "",
        ] {
            let whole = normalise(name);
            let tail = with_normalised_tail(name, |t| t.to_vec());
            assert!(whole.as_bytes().ends_with(&tail), "{name}");
            assert!(tail.len() == whole.len() || tail.len() == 32, "{name}");
        }
        assert!(is_secret_name("resetPasswordToken"));
        assert!(is_secret_name("clé_secrète_token"));
        assert!(!is_secret_name("all_tokens"));
    }
}
