//! Small predicates several rules share.

/// The id of a named node kind in a dialect's grammar, resolved once per call site:
/// `kind!(cx.dialect, "except_clause")`. A kind the grammar lacks resolves to 0, which no
/// node has, so a rule for another dialect simply never matches.
macro_rules! kind {
    ($dialect:expr, $name:literal) => {{
        static IDS: std::sync::OnceLock<[u16; 7]> = std::sync::OnceLock::new();
        IDS.get_or_init(|| {
            $crate::lang::Dialect::ALL.map(|d| d.grammar().id_for_node_kind($name, true))
        })[$dialect.index()]
    }};
}
pub(crate) use kind;

/// The id of a field name in a dialect's grammar, resolved once per call site (0 if the
/// grammar has no such field): `field!(cx.dialect, "body")`.
macro_rules! field {
    ($dialect:expr, $name:literal) => {{
        static IDS: std::sync::OnceLock<[u16; 7]> = std::sync::OnceLock::new();
        IDS.get_or_init(|| {
            $crate::lang::Dialect::ALL
                .map(|d| d.grammar().field_id_for_name($name).map_or(0, |f| f.get()))
        })[$dialect.index()]
    }};
}
pub(crate) use field;

use tree_sitter::Node;

use crate::lang::{Call, ValueKind};
use crate::rules::Cx;

/// Whether the expression's value is not fixed in the source: a variable, a call, or a
/// string built at run time. Injection rules fire only on these.
pub(crate) fn is_dynamic(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    if cx.value(node).is_literal() {
        return false;
    }
    // A variable assigned a literal (`cmd = "ls"`) is as fixed as the literal, and so is
    // a string that interpolates only such variables (`f"which {editor}"` in a loop over
    // literal names).
    !(is_literal_name_expr(cx, node) || interpolates_only_literals(cx, node))
}

fn is_literal_name_expr(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    let t = cx.text(node);
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && cx.is_literal_name(t)
}

/// Whether `node` is an f-string or template literal whose every interpolated expression
/// is a literal or a name holding one.
fn interpolates_only_literals(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    let d = cx.dialect;
    let (py, js) = (kind!(d, "interpolation"), kind!(d, "template_substitution"));
    let mut any = false;
    for piece in crate::lang::named_children(node) {
        let id = piece.kind_id();
        if id != py && id != js {
            continue;
        }
        any = true;
        let inner = piece
            .child_by_field_id(field!(d, "expression"))
            .or_else(|| piece.named_child(0));
        let Some(inner) = inner else {
            return false;
        };
        if !(cx.value(inner).is_literal() || is_literal_name_expr(cx, inner)) {
            return false;
        }
    }
    any
}

/// Whether the expression is a string assembled at run time from non-literal parts
/// (interpolation, formatting, concatenation).
pub(crate) fn is_built_string(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    cx.value(node) == ValueKind::DynamicString
}

/// The literal string value of an expression, if it has one.
pub(crate) fn static_string(cx: &Cx<'_, '_>, node: Node<'_>) -> Option<String> {
    match cx.value(node) {
        ValueKind::StaticString(s) => Some(s),
        _ => None,
    }
}

/// Whether the source text of `node` is exactly one of `words` (for `True`, `true`, ...).
pub(crate) fn text_is(cx: &Cx<'_, '_>, node: Node<'_>, words: &[&str]) -> bool {
    words.contains(&cx.text(node))
}

/// The first positional argument, or the keyword argument `name` (Python calls).
pub(crate) fn arg<'t>(call: &Call<'t>, index: usize, name: &str) -> Option<Node<'t>> {
    call.positional(index).or_else(|| call.keyword(name))
}

/// Whether a call's callee ends with `.name` or is exactly `name`.
pub(crate) fn callee_ends_with(call: &Call<'_>, names: &[&str]) -> bool {
    names.iter().any(|n| {
        call.callee == *n
            || call
                .callee
                .strip_suffix(n)
                .is_some_and(|rest| rest.ends_with('.') || rest.ends_with("::"))
    })
}
