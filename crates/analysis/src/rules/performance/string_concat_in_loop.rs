//! PERF001: a string (or Python list) grown by concatenation on every iteration of a loop.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{Loop, loop_names, loops, mentions, refers_to, repeats};
use crate::lang::{Assign, Dialect, Role, ValueKind, named_children};
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "PERF001",
    name: "string-concat-in-loop",
    family: Performance,
    severity: Low,
    languages: &[Language::Python, Language::Java, Language::Go],
    title: "String built by repeated concatenation inside a loop",
    applies_to_tests: false,
    docs: r#"## What it does
Finds a local string extended with `s += ...` or `s = s + ...` on every iteration of a
loop, where the added value is evidently a string (a literal, an f-string or other
formatting, `str(...)`, `String.valueOf`, `fmt.Sprintf`, `strconv.Itoa`, ...). In Python
it also finds `items = items + [...]`, which builds a new list on every iteration.

Strings that are reset inside the loop before they are extended, and loops over a few
literal values, are not reported. JavaScript and Rust are not checked: engines
concatenate JavaScript strings as ropes, and Rust's `String::push_str` is amortised.

## Why is this bad?
Strings are immutable in Python, Java and Go: every concatenation allocates a new string
and copies everything built so far, so building a string of `n` pieces costs O(n²) time.
(CPython sometimes resizes in place, but only when nothing else refers to the string;
PyPy and other implementations never do.) `items = items + [x]` likewise copies the whole
list each time.

## How to fix
Collect the pieces and join them once: a list and `"".join(parts)` in Python, a
`StringBuilder` in Java, a `strings.Builder` (or `bytes.Buffer`) in Go. Grow Python lists
in place with `items.append(x)` or `items.extend(more)`.

## Example
```python
out = ""
for row in rows:
    out += f"{row.name},{row.total}\n"
```
Use instead:
```python
parts = []
for row in rows:
    parts.append(f"{row.name},{row.total}\n")
out = "".join(parts)
```
"#,
}

pub(crate) struct StringConcatInLoop;

/// What the loop keeps copying.
enum Grown {
    String,
    List,
}

impl Rule for StringConcatInLoop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::ASSIGN
    }

    fn on_assign(&self, assign: &Assign<'_>, cx: &mut Cx<'_, '_>) {
        let Some(value) = assign.value else {
            return;
        };
        let name = assign.target;
        if name.is_empty() || name != assign.target_name || !is_plain_name(name) {
            return;
        }
        let grown = match assign.operator {
            Some("+=") => added_kind(cx, value),
            None => self_append(cx, name, value),
            _ => None,
        };
        let Some(grown) = grown else {
            return;
        };
        // `chars += str(x)` on a list extends it by characters: not a string.
        if matches!(grown, Grown::String) && cx.is_list_local(name) {
            return;
        }
        let loops = loops(cx, assign.node);
        if !repeats(cx, &loops) {
            return;
        }
        let Some(inner) = loops.last() else {
            return;
        };
        // The loop variable, or a string started afresh in each iteration: each iteration
        // builds its own short string.
        if loop_names(cx, inner).contains(&name) || reset_in_loop(cx, inner, assign.node, name) {
            return;
        }
        // `while len(s) % 4: s += "="`: a loop that runs until the string itself is long
        // enough pads it a bounded number of times.
        if inner
            .node
            .child_by_field_id(field!(cx.dialect, "condition"))
            .is_some_and(|c| mentions(cx.text(c), name))
        {
            return;
        }
        let message = match grown {
            Grown::List => format!(
                "`{name} = {name} + [...]` copies the whole list on every iteration; use `{name}.append(...)` or `{name}.extend(...)`"
            ),
            Grown::String => {
                let fix = match cx.dialect {
                    Dialect::Java => {
                        "append to a `StringBuilder` and call `toString()` once after the loop"
                    }
                    Dialect::Go => {
                        "write to a `strings.Builder` and call `String()` once after the loop"
                    }
                    _ => "collect the pieces in a list and `\"\".join()` them after the loop",
                };
                format!(
                    "`{name}` is copied on every concatenation, which is quadratic in a loop; {fix}"
                )
            }
        };
        cx.report(assign.node, message);
    }
}

fn is_plain_name(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// For `name += value`: whether `value` is evidently a string (or, in Python, a list
/// literal is *not* reported: `+=` on a list extends it in place).
fn added_kind(cx: &Cx<'_, '_>, value: Node<'_>) -> Option<Grown> {
    is_stringy(cx, value).then_some(Grown::String)
}

/// For `name = value`: whether `value` is `name + <string>...`, `<string> + name` or
/// `name + [...]`.
fn self_append(cx: &Cx<'_, '_>, name: &str, value: Node<'_>) -> Option<Grown> {
    let d = cx.dialect;
    let binary = if d == Dialect::Python {
        kind!(d, "binary_operator")
    } else {
        kind!(d, "binary_expression")
    };
    // Walk down the left spine of `name + a + b`: ((name + a) + b).
    let mut operands = Vec::new();
    let mut cur = strip_parens(cx, value);
    loop {
        if cur.kind_id() != binary
            || cur
                .child_by_field_id(field!(d, "operator"))
                .is_none_or(|o| cx.text(o) != "+")
        {
            break;
        }
        let (Some(l), Some(r)) = (
            cur.child_by_field_id(field!(d, "left")),
            cur.child_by_field_id(field!(d, "right")),
        ) else {
            return None;
        };
        operands.push(r);
        cur = strip_parens(cx, l);
    }
    if operands.is_empty() {
        return None;
    }
    if cx.text(cur) != name {
        // Prepending: `name = <string> + name`.
        let prepended = cx.text(strip_parens(cx, operands[0])) == name;
        let stringy = is_stringy(cx, cur) || operands[1..].iter().any(|o| is_stringy(cx, *o));
        return (prepended && stringy).then_some(Grown::String);
    }
    if d == Dialect::Python
        && operands.iter().any(|o| {
            let id = strip_parens(cx, *o).kind_id();
            id == kind!(d, "list") || id == kind!(d, "list_comprehension")
        })
    {
        return Some(Grown::List);
    }
    operands
        .iter()
        .any(|o| is_stringy(cx, *o))
        .then_some(Grown::String)
}

fn strip_parens<'a>(cx: &Cx<'_, '_>, mut n: Node<'a>) -> Node<'a> {
    while n.kind_id() == kind!(cx.dialect, "parenthesized_expression") {
        match n.named_child(0) {
            Some(inner) => n = inner,
            None => break,
        }
    }
    n
}

/// Whether an expression is evidently a string: a literal, formatting, a conversion.
fn is_stringy(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    if matches!(
        cx.value(node),
        ValueKind::StaticString(_) | ValueKind::DynamicString
    ) {
        return true;
    }
    let node = strip_parens(cx, node);
    if cx.lang.role(node) != Role::Call {
        return false;
    }
    let Some(call) = cx.lang.call(node, cx.src) else {
        return false;
    };
    match cx.dialect {
        Dialect::Python => matches!(call.callee.as_str(), "str" | "repr" | "chr" | "format"),
        Dialect::Java => {
            (call.name == "toString" && call.args.is_empty())
                || matches!(
                    call.callee.as_str(),
                    "String.valueOf"
                        | "Integer.toString"
                        | "Long.toString"
                        | "Double.toString"
                        | "Character.toString"
                        | "String.format"
                        | "String.join"
                )
                || call.name == "formatted"
        }
        Dialect::Go => {
            call.callee == "string"
                || call.callee.starts_with("fmt.Sprint")
                || matches!(
                    call.callee.as_str(),
                    "strconv.Itoa"
                        | "strconv.FormatInt"
                        | "strconv.FormatUint"
                        | "strconv.FormatFloat"
                        | "strconv.FormatBool"
                        | "strconv.Quote"
                        | "strconv.QuoteRune"
                        | "strconv.QuoteToASCII"
                        | "strings.Repeat"
                        | "strings.Join"
                        | "strings.ToUpper"
                        | "strings.ToLower"
                        | "strings.TrimSpace"
                )
        }
        _ => false,
    }
}

/// Whether `name` is given a fresh value inside the loop before `at`: then each iteration
/// builds its own short string, which is fine.
fn reset_in_loop(cx: &Cx<'_, '_>, l: &Loop<'_>, at: Node<'_>, name: &str) -> bool {
    let body = l
        .node
        .child_by_field_id(field!(cx.dialect, "body"))
        .unwrap_or(l.node);
    let mut stack = named_children(body);
    while let Some(n) = stack.pop() {
        if n.start_byte() >= at.start_byte() {
            continue;
        }
        if cx.lang.role(n) == Role::Function {
            continue;
        }
        if cx.lang.role(n) == Role::Assign
            && let Some(a) = cx.lang.assignment(n, cx.src)
            && a.target
                .split([',', '(', ')', '[', ']'])
                .any(|t| t.trim() == name)
            && a.operator.is_none()
            && a.value.is_none_or(|v| !refers_to(cx, v, name))
        {
            return true;
        }
        stack.extend(named_children(n));
    }
    false
}
