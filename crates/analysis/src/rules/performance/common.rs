//! What the performance rules share: which loops repeat a node (including the parts of a
//! Python comprehension the walker does not count as a loop), whether a loop walks a
//! collection or merely retries or polls, receiver naming heuristics, and a few syntax
//! queries (awaited? collected into concurrent work? last value of a local?).

use qa_core::Span;
use tree_sitter::Node;

use crate::lang::{Dialect, Role, named_children, text};
use crate::rules::Cx;
use crate::rules::cx::span_of;
use crate::rules::helpers::{field, kind};

/// Loops whose bounds are literals at most this large are not worth reporting.
const SMALL: i64 = 16;

/// A loop that repeats the node being checked.
#[derive(Debug, Clone, Copy)]
pub(super) struct Loop<'a> {
    pub node: Node<'a>,
    /// The collection a for-each loop or comprehension clause walks (evaluated once).
    pub iterable: Option<Node<'a>>,
    /// For a callback of an iteration method, the call it is passed to (`xs.map(...)`).
    pub call: Option<Node<'a>>,
}

fn contains(outer: Node<'_>, inner: Node<'_>) -> bool {
    outer.start_byte() <= inner.start_byte() && inner.end_byte() <= outer.end_byte()
}

/// The loops of the current function that run `here` repeatedly, outermost first.
///
/// On top of the walker's loops this adds the for-clauses of Python comprehensions whose
/// body, conditions or later clauses contain `here` (the walker only counts the clause
/// itself), and drops the loop `here` is (for node hooks on loops) and callbacks of the
/// call being checked.
pub(super) fn loops<'a>(cx: &'a Cx<'_, '_>, here: Node<'a>) -> Vec<Loop<'a>> {
    let alternative = field!(cx.dialect, "alternative");
    let mut out: Vec<Loop<'a>> = cx
        .loops
        .iter()
        .filter(|l| l.node.id() != here.id() && contains(l.node, here))
        // Python's `for ... else:` runs the `else` block once, after the loop.
        .filter(|l| {
            cx.dialect != Dialect::Python
                || l.node
                    .child_by_field_id(alternative)
                    .is_none_or(|e| !contains(e, here))
        })
        .map(|l| Loop {
            node: l.node,
            iterable: l.once,
            call: if l.once.is_none() && cx.lang.is_callable_literal(l.node) {
                callback_call(cx, l.node)
            } else {
                None
            },
        })
        .collect();
    let right = field!(cx.dialect, "right");
    for clause in comprehension_clauses(cx, here) {
        out.push(Loop {
            node: clause,
            iterable: clause.child_by_field_id(right),
            call: None,
        });
    }
    out.retain(|l| !leaves_after(cx, here, l));
    out.sort_by_key(|l| l.node.start_byte());
    out
}

/// Whether every path through `here` leaves loop `l` right after it: `here` is inside a
/// `return`/`raise`/`throw`, or a later statement of a block around it (within the loop)
/// returns, raises, or breaks out of `l`. Such code runs at most once per entry into the
/// loop (`for x in xs: if match(x): return db.get(x)`).
fn leaves_after(cx: &Cx<'_, '_>, here: Node<'_>, l: &Loop<'_>) -> bool {
    let d = cx.dialect;
    let is_return = |n: Node<'_>| {
        let id = n.kind_id();
        id == kind!(d, "return_statement")
            || id == kind!(d, "raise_statement")
            || id == kind!(d, "throw_statement")
            || id == kind!(d, "return_expression")
    };
    let is_break = |n: Node<'_>| {
        let id = n.kind_id();
        (id == kind!(d, "break_statement") || id == kind!(d, "break_expression"))
            && n.named_child_count() == 0
    };
    // Rust wraps `return x;` in an expression statement.
    fn unwrap<'n>(d: Dialect, n: Node<'n>) -> Node<'n> {
        if d == Dialect::Rust && n.kind_id() == kind!(d, "expression_statement") {
            n.named_child(0).unwrap_or(n)
        } else {
            n
        }
    }
    let is_loop_or_switch = |n: Node<'_>| {
        cx.lang.role(n) == Role::Loop
            || n.kind_id() == kind!(d, "switch_statement")
            || n.kind_id() == kind!(d, "switch_expression")
            || n.kind_id() == kind!(d, "expression_switch_statement")
            || n.kind_id() == kind!(d, "type_switch_statement")
            || n.kind_id() == kind!(d, "select_statement")
    };
    // Statement sequences: only there does a later statement always run after `here`.
    let is_sequence = |n: Node<'_>| {
        let id = n.kind_id();
        [
            kind!(d, "block"),
            kind!(d, "statement_block"),
            kind!(d, "statement_list"),
            kind!(d, "switch_case"),
            kind!(d, "switch_default"),
            kind!(d, "switch_block_statement_group"),
            kind!(d, "expression_case"),
            kind!(d, "default_case"),
            kind!(d, "type_case"),
            kind!(d, "communication_case"),
        ]
        .contains(&id)
    };
    // Comprehension clauses hold no statements.
    if !contains(l.node, here) {
        return false;
    }
    // Whether a `break` in `block` leaves `l` (no loop or switch in between).
    let alternative = field!(d, "alternative");
    let breaks_out = |block: Node<'_>| {
        let mut prev = block;
        let mut n = block;
        while n.id() != l.node.id() {
            // A `break` in a Python loop's `else:` block leaves the loop around it.
            let in_else = n
                .child_by_field_id(alternative)
                .is_some_and(|e| e.id() == prev.id());
            if is_loop_or_switch(n) && !in_else {
                return false;
            }
            prev = n;
            match cx.parent_of(n) {
                Some(p) => n = p,
                None => return false,
            }
        }
        true
    };
    // In a callback, `return` ends the iteration, not the loop.
    let returns_leave = l.call.is_none();
    let mut cur = here;
    while cur.id() != l.node.id() {
        if returns_leave && is_return(unwrap(d, cur)) {
            return true;
        }
        let Some(parent) = cx.parent_of(cur) else {
            return false;
        };
        if is_sequence(parent) {
            let mut sibling = cur.next_named_sibling();
            while let Some(s) = sibling {
                let stmt = unwrap(d, s);
                if (returns_leave && is_return(stmt)) || (is_break(stmt) && breaks_out(parent)) {
                    return true;
                }
                sibling = s.next_named_sibling();
            }
        }
        cur = parent;
    }
    false
}

/// The call a callback literal is an argument of.
fn callback_call<'a>(cx: &Cx<'_, 'a>, callback: Node<'a>) -> Option<Node<'a>> {
    cx.parent_of(cx.parent_of(callback)?)
}

/// For-clauses of Python comprehensions that repeat `here`: every clause of a
/// comprehension whose body contains `here`, the clauses before the one whose iterable or
/// condition holds it, within the current function.
fn comprehension_clauses<'a>(cx: &Cx<'_, 'a>, here: Node<'a>) -> Vec<Node<'a>> {
    if cx.dialect != Dialect::Python {
        return Vec::new();
    }
    let clause_kind = kind!(cx.dialect, "for_in_clause");
    let lambda = kind!(cx.dialect, "lambda");
    let mut out = Vec::new();
    let mut cur = here;
    while let Some(p) = cx.parent_of(cur) {
        if cx.lang.role(p) == Role::Function || p.kind_id() == lambda {
            break;
        }
        if is_comprehension(cx, p) {
            let clauses: Vec<Node<'a>> = named_children(p)
                .into_iter()
                .filter(|c| c.kind_id() == clause_kind)
                .collect();
            let in_body = clauses
                .first()
                .is_some_and(|f| here.start_byte() < f.start_byte());
            for c in clauses {
                if !contains(c, here) && (in_body || c.start_byte() < here.start_byte()) {
                    out.push(c);
                }
            }
        }
        cur = p;
    }
    out
}

fn is_comprehension(cx: &Cx<'_, '_>, n: Node<'_>) -> bool {
    let id = n.kind_id();
    id == kind!(cx.dialect, "list_comprehension")
        || id == kind!(cx.dialect, "set_comprehension")
        || id == kind!(cx.dialect, "dictionary_comprehension")
        || id == kind!(cx.dialect, "generator_expression")
}

/// The innermost of `loops` (they all contain the node they were computed for).
pub(super) fn innermost<'a>(loops: &[Loop<'a>]) -> Option<Loop<'a>> {
    loops.iter().max_by_key(|l| l.node.start_byte()).copied()
}

/// Whether some loop repeating the node runs more than a handful of times as far as the
/// source shows (loops over small literal lists and ranges do not count).
pub(super) fn repeats(cx: &Cx<'_, '_>, loops: &[Loop<'_>]) -> bool {
    loops.iter().any(|l| !is_small_loop(cx, l))
}

/// Whether some loop repeating the node walks a collection (for-each loops, callbacks of
/// iteration methods, index loops, loops advancing an iterator or cursor) rather than
/// retrying, polling or paginating until a condition holds.
pub(super) fn walks_collection(cx: &Cx<'_, '_>, loops: &[Loop<'_>]) -> bool {
    loops.iter().any(|l| {
        if is_small_loop(cx, l) || is_retry_loop(cx, l) {
            return false;
        }
        if l.iterable.is_some() || l.call.is_some() {
            return true;
        }
        if c_style_condition(cx, l.node).is_some() {
            return true;
        }
        let header = loop_header(cx, l.node);
        [
            "next(",
            "Next(",
            "hasNext(",
            "fetchone(",
            "moveToNext(",
            "len(",
            ".length",
            ".size()",
            ".len()",
        ]
        .iter()
        .any(|p| header.contains(p))
    })
}

/// The text of a loop before its body (`for x in items:`, `while (rs.next())`).
pub(super) fn loop_header<'t>(cx: &Cx<'_, 't>, node: Node<'_>) -> &'t str {
    let end = node
        .child_by_field_id(field!(cx.dialect, "body"))
        .map_or(node.end_byte(), |b| b.start_byte());
    cx.src.get(node.start_byte()..end).unwrap_or("")
}

/// Loops that retry, poll or back off: repeating the work there is the point.
fn is_retry_loop(cx: &Cx<'_, '_>, l: &Loop<'_>) -> bool {
    if l.call.is_some() {
        return false;
    }
    let header = loop_header(cx, l.node).to_ascii_lowercase();
    ["retr", "attempt", "tries", "backoff", "poll"]
        .iter()
        .any(|w| header.contains(w))
}

/// Whether a loop visibly runs at most [`SMALL`] times: over a literal list of few
/// elements, a literal range, or `for (i = 0; i < 3; i++)`.
pub(super) fn is_small_loop(cx: &Cx<'_, '_>, l: &Loop<'_>) -> bool {
    if let Some(it) = l.iterable {
        return is_small_literal(cx, it);
    }
    if let Some(call) = l.call {
        return receiver_node(cx, call).is_some_and(|r| is_small_literal(cx, r));
    }
    c_style_condition(cx, l.node).is_some_and(|bound| bound.is_some_and(|b| b <= SMALL))
}

/// For `for (init; i < N; step)` loops: `Some(Some(N))` when the bound is an integer
/// literal, `Some(None)` for another bound.
fn c_style_condition(cx: &Cx<'_, '_>, node: Node<'_>) -> Option<Option<i64>> {
    let d = cx.dialect;
    let cond_field = field!(d, "condition");
    let holder = if d == Dialect::Go {
        let clause = kind!(d, "for_clause");
        named_children(node)
            .into_iter()
            .find(|c| c.kind_id() == clause)?
    } else if node.kind_id() == kind!(d, "for_statement")
        && matches!(
            d,
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx | Dialect::Java
        )
    {
        node
    } else {
        return None;
    };
    let Some(cond) = holder.child_by_field_id(cond_field) else {
        return Some(None);
    };
    let bound = cond
        .child_by_field_id(field!(d, "right"))
        .filter(|_| {
            cond.child_by_field_id(field!(d, "operator"))
                .is_some_and(|o| matches!(cx.text(o), "<" | "<="))
        })
        .and_then(|r| int_literal(cx.text(r)));
    Some(bound)
}

/// The value of an integer literal, without Rust/Java/Go suffixes and separators.
fn int_literal(s: &str) -> Option<i64> {
    let s = s.trim().replace('_', "");
    let s = [
        "usize", "isize", "u128", "i128", "u64", "i64", "u32", "i32", "u16", "i16", "u8", "i8",
        "L", "l",
    ]
    .iter()
    .find_map(|suffix| s.strip_suffix(suffix))
    .unwrap_or(&s);
    s.parse().ok()
}

/// A literal collection of few elements or a literal integer range: `("a", "b")`,
/// `range(3)`, `[]string{"a"}`, `0..4`, `List.of("x", "y")`.
fn is_small_literal(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    let d = cx.dialect;
    let id = node.kind_id();
    let few = |n: Node<'_>| {
        let items = named_children(n);
        items.len() as i64 <= SMALL
            && !items.iter().any(|i| {
                i.kind_id() == kind!(d, "spread_element") || i.kind_id() == kind!(d, "list_splat")
            })
    };
    if id == kind!(d, "parenthesized_expression") || id == kind!(d, "reference_expression") {
        return named_children(node)
            .last()
            .is_some_and(|n| is_small_literal(cx, *n));
    }
    match d {
        Dialect::Python => {
            if id == kind!(d, "list") || id == kind!(d, "tuple") || id == kind!(d, "set") {
                return few(node);
            }
            if id == kind!(d, "call")
                && node
                    .child_by_field_id(field!(d, "function"))
                    .is_some_and(|f| cx.text(f) == "range")
            {
                let args = node
                    .child_by_field_id(field!(d, "arguments"))
                    .map(named_children)
                    .unwrap_or_default();
                return !args.is_empty()
                    && args
                        .iter()
                        .all(|a| int_literal(cx.text(*a)).is_some_and(|v| v <= SMALL));
            }
            false
        }
        Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
            id == kind!(d, "array") && few(node)
        }
        Dialect::Go => {
            if id == kind!(d, "int_literal") {
                return int_literal(cx.text(node)).is_some_and(|v| v <= SMALL);
            }
            id == kind!(d, "composite_literal")
                && node.child_by_field_id(field!(d, "body")).is_some_and(few)
        }
        Dialect::Java => {
            if id == kind!(d, "array_creation_expression") {
                return named_children(node)
                    .into_iter()
                    .find(|c| c.kind_id() == kind!(d, "array_initializer"))
                    .is_some_and(few);
            }
            if id == kind!(d, "method_invocation") {
                let callee = cx.text(node);
                return [
                    "List.of(",
                    "Set.of(",
                    "Arrays.asList(",
                    "Stream.of(",
                    "EnumSet.of(",
                ]
                .iter()
                .any(|p| callee.starts_with(p))
                    && node
                        .child_by_field_id(field!(d, "arguments"))
                        .is_some_and(few);
            }
            false
        }
        Dialect::Rust => {
            if id == kind!(d, "array_expression") {
                return few(node);
            }
            if id == kind!(d, "range_expression") {
                let ends = named_children(node);
                return !ends.is_empty()
                    && ends
                        .iter()
                        .all(|e| int_literal(cx.text(*e)).is_some_and(|v| v <= SMALL));
            }
            false
        }
    }
}

/// The variable a for-each loop binds (`sql` in `for sql in statements`), as written.
pub(super) fn loop_variable<'t>(cx: &Cx<'_, 't>, l: &Loop<'_>) -> Option<&'t str> {
    let d = cx.dialect;
    let node = l.node;
    let var = match d {
        Dialect::Python | Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
            node.child_by_field_id(field!(d, "left"))
        }
        Dialect::Java => node.child_by_field_id(field!(d, "name")),
        Dialect::Rust => node.child_by_field_id(field!(d, "pattern")),
        Dialect::Go => named_children(node)
            .into_iter()
            .find(|c| c.kind_id() == kind!(d, "range_clause"))
            .and_then(|r| r.child_by_field_id(field!(d, "left"))),
    }?;
    Some(cx.text(var))
}

/// Whether the expression `node` refers to the variable `name` (an identifier node, not a
/// string that happens to contain it).
pub(super) fn refers_to(cx: &Cx<'_, '_>, node: Node<'_>, name: &str) -> bool {
    let mut cursor = node.walk();
    loop {
        let n = cursor.node();
        if cx.lang.role(n) == Role::Identifier && cx.text(n) == name && !is_member_name(cx, n) {
            return true;
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node().id() == node.id() {
                return false;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return false;
            }
        }
    }
}

/// Whether an identifier is the member part of an access (`name` in `param.name`).
fn is_member_name(cx: &Cx<'_, '_>, n: Node<'_>) -> bool {
    let d = cx.dialect;
    cx.parent_of(n).is_some_and(|p| {
        [
            field!(d, "attribute"),
            field!(d, "property"),
            field!(d, "field"),
            field!(d, "name"),
        ]
        .iter()
        .any(|f| *f != 0 && p.child_by_field_id(*f).is_some_and(|c| c.id() == n.id()))
            && (p.kind_id() == kind!(d, "attribute")
                || p.kind_id() == kind!(d, "member_expression")
                || p.kind_id() == kind!(d, "selector_expression")
                || p.kind_id() == kind!(d, "field_expression")
                || p.kind_id() == kind!(d, "field_access")
                || p.kind_id() == kind!(d, "method_invocation"))
    })
}

/// The names a loop binds (`i`, `x` in `for i, x in enumerate(xs)`).
pub(super) fn loop_names<'t>(cx: &Cx<'_, 't>, l: &Loop<'_>) -> Vec<&'t str> {
    loop_variable(cx, l)
        .map(|v| {
            v.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .filter(|w| !w.is_empty() && *w != "_" && *w != "mut" && *w != "ref")
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `code` mentions the identifier `name` (not as part of a longer name).
pub(super) fn mentions(code: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    code.match_indices(name).any(|(i, _)| {
        !code[..i].chars().next_back().is_some_and(ident)
            && !code[i + name.len()..].chars().next().is_some_and(ident)
    })
}

/// Lower-case words of a name: `dbConn` → `db`, `conn`; `HTTPClient` → `http`, `client`;
/// `db_session` → `db`, `session`.
pub(super) fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let boundary = c.is_ascii_uppercase()
                && i > 0
                && (chars[i - 1].is_ascii_lowercase()
                    || chars[i - 1].is_ascii_digit()
                    || chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
                        && chars[i - 1].is_ascii_uppercase());
            if boundary && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(c.to_ascii_lowercase());
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// Whether one of the words of `name` is in `set`.
pub(super) fn named_like(name: &str, set: &[&str]) -> bool {
    words(name).iter().any(|w| set.contains(&w.as_str()))
}

/// The last name of an expression: `self.conn.cursor()` → `cursor`, `&mut *conn` → `conn`,
/// `this.userRepository` → `userRepository`.
pub(super) fn last_name(expr: &str) -> &str {
    let mut s = expr.trim().trim_end_matches('?');
    while s.ends_with(')') {
        match matching_open(s) {
            Some(open) => s = s[..open].trim_end(),
            None => break,
        }
    }
    let start =
        crate::lang::trailing_word_start(s, |c| c.is_alphanumeric() || c == '_' || c == '$');
    &s[start..]
}

/// The first name of an expression, past `self`/`this`: `self.client.get(u)` → `client`,
/// `reqwest::Client::new()` → `reqwest`.
pub(super) fn root_name(expr: &str) -> &str {
    let mut s = expr;
    loop {
        let t = s
            .trim_start_matches(['&', '*', '(', ' '])
            .trim_start_matches("mut ");
        if t.len() == s.len() {
            break;
        }
        s = t;
    }
    let ident = |s: &'_ str| -> usize {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(s.len())
    };
    let first = &s[..ident(s)];
    if matches!(first, "self" | "this" | "cls") && s[first.len()..].starts_with('.') {
        let rest = &s[first.len() + 1..];
        return &rest[..ident(rest)];
    }
    first
}

fn matching_open(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_await(cx: &Cx<'_, '_>, n: Node<'_>) -> bool {
    let id = n.kind_id();
    id == kind!(cx.dialect, "await_expression") || id == kind!(cx.dialect, "await")
}

/// Nodes that continue a method chain or wrap an expression without using its value.
fn is_chain(cx: &Cx<'_, '_>, n: Node<'_>) -> bool {
    let d = cx.dialect;
    let id = n.kind_id();
    id == kind!(d, "attribute")
        || id == kind!(d, "call")
        || id == kind!(d, "member_expression")
        || id == kind!(d, "call_expression")
        || id == kind!(d, "parenthesized_expression")
        || id == kind!(d, "non_null_expression")
        || id == kind!(d, "field_expression")
        || id == kind!(d, "try_expression")
        || id == kind!(d, "selector_expression")
        || id == kind!(d, "method_invocation")
        || id == kind!(d, "field_access")
}

/// The outermost expression of the method chain `node` starts (`fetch(u)` in
/// `fetch(u).then(f).catch(g)`), with any `await` on it.
fn chain_top<'a>(cx: &Cx<'_, 'a>, node: Node<'a>) -> (Node<'a>, bool) {
    let mut cur = node;
    let mut awaited = false;
    while let Some(p) = cx.parent_of(cur) {
        if is_await(cx, p) {
            awaited = true;
        } else if !is_chain(cx, p) {
            break;
        }
        cur = p;
    }
    (cur, awaited)
}

/// Whether the value of `node` (or of a chain it starts) is awaited.
pub(super) fn is_awaited(cx: &Cx<'_, '_>, node: Node<'_>) -> bool {
    chain_top(cx, node).1
}

/// Calls that start work without waiting for it, or collect futures/promises.
const STARTERS: &[&str] = &[
    "push",
    "append",
    "add",
    "push_back",
    "insert",
    "spawn",
    "spawn_local",
    "create_task",
    "ensure_future",
    "submit",
    "supplyAsync",
    "runAsync",
    "start_soon",
    "Go",
];
/// Calls that run a collection of futures/promises concurrently.
const GATHERERS: &[&str] = &[
    "all",
    "allSettled",
    "race",
    "any",
    "gather",
    "join_all",
    "try_join_all",
    "join",
    "try_join",
    "wait",
    "as_completed",
    "forkJoin",
    "buffer_unordered",
    "buffered",
    "invokeAll",
];

/// Whether the request at `node`, repeated by `loops`, runs concurrently with the other
/// iterations' rather than one after the other: started in an async block or a task,
/// pushed to a list of futures, returned from a `map` callback, handed to `Promise.all`
/// or `asyncio.gather`. `lazy` says whether the call returns a future or promise (rather
/// than blocking until the response arrives).
pub(super) fn runs_concurrently(
    cx: &Cx<'_, '_>,
    node: Node<'_>,
    loops: &[Loop<'_>],
    lazy: bool,
) -> bool {
    let Some(inner) = innermost(loops) else {
        return false;
    };
    // `items.forEach(async (x) => { await ... })`: nothing waits for the callbacks.
    if inner.call.is_some()
        && cx
            .lang
            .function(inner.node, cx.src)
            .is_some_and(|f| f.is_async)
    {
        return true;
    }
    let async_block = kind!(cx.dialect, "async_block");
    let args = |n: Node<'_>| {
        n.kind_id() == kind!(cx.dialect, "arguments")
            || n.kind_id() == kind!(cx.dialect, "argument_list")
    };
    let callback_ids: Vec<usize> = loops
        .iter()
        .filter(|l| l.call.is_some())
        .map(|l| l.node.id())
        .collect();
    // Work wrapped in a future or task per iteration: `spawn(async move { ... })`,
    // `supplyAsync(() -> ...)`.
    let mut cur = node;
    while let Some(p) = cx.parent_of(cur) {
        if contains(p, inner.node) {
            break;
        }
        if p.kind_id() == async_block {
            return true;
        }
        if args(p)
            && let Some(call) = cx.parent_of(p).and_then(|c| cx.lang.call(c, cx.src))
            && matches!(
                call.name,
                "spawn"
                    | "spawn_local"
                    | "supplyAsync"
                    | "runAsync"
                    | "submit"
                    | "create_task"
                    | "start_soon"
            )
        {
            return true;
        }
        cur = p;
    }
    let (top, awaited) = chain_top(cx, node);
    if awaited || !lazy {
        return false;
    }
    // A promise or future returned from a `map` callback is collected, not awaited.
    if let Some(call) = inner.call.and_then(|c| cx.lang.call(c, cx.src))
        && matches!(call.name, "map" | "flatMap" | "flat_map" | "filter_map")
    {
        return true;
    }
    let mut cur = top;
    while let Some(p) = cx.parent_of(cur) {
        let id = p.kind_id();
        if cx.lang.role(p) == Role::Function && !callback_ids.contains(&p.id()) {
            break;
        }
        if args(p)
            && let Some(call) = cx.parent_of(p).and_then(|c| cx.lang.call(c, cx.src))
            && (STARTERS.contains(&call.name) || GATHERERS.contains(&call.name))
        {
            return true;
        }
        if cur.id() == top.id()
            && (id == kind!(cx.dialect, "variable_declarator")
                || id == kind!(cx.dialect, "let_declaration")
                || id == kind!(cx.dialect, "assignment"))
            && let Some(a) = cx.lang.assignment(p, cx.src)
        {
            // `const p = fetch(u); promises.push(p);`
            let body = text(inner.node, cx.src);
            return STARTERS
                .iter()
                .any(|m| body.contains(&format!(".{m}({}", a.target)));
        }
        cur = p;
    }
    false
}

/// The function (or, at top level, the file) enclosing `node`.
fn enclosing_function<'a>(cx: &Cx<'_, 'a>, node: Node<'a>) -> Node<'a> {
    let mut cur = node;
    while let Some(p) = cx.parent_of(cur) {
        if cx.lang.role(p) == Role::Function {
            return p;
        }
        cur = p;
    }
    cur
}

/// The assignment (declaration, `=`) that last gave local `name` a value before `here` in
/// the enclosing function, not counting nested functions.
pub(super) fn last_assignment<'a>(
    cx: &'a Cx<'_, '_>,
    here: Node<'a>,
    name: &str,
) -> Option<Node<'a>> {
    let func = enclosing_function(cx, here);
    // Walking a long function (or a whole module) node by node is costly: first look for
    // an occurrence of `name` followed on its line by a plain `=` (`x = `, `x: T = `,
    // `var x T = `, `a, x = `, `x := `), a superset of the assignments the walk finds.
    let before = cx
        .src
        .get(func.start_byte()..here.start_byte())
        .unwrap_or("");
    let assigned_somewhere = before.match_indices(name).any(|(at, _)| {
        let rest = &before[at + name.len()..];
        let line = rest.split('\n').next().unwrap_or("").as_bytes();
        (0..line.len()).any(|i| {
            line[i] == b'='
                && !matches!(line.get(i + 1), Some(b'=' | b'>'))
                && !matches!(
                    i.checked_sub(1).map(|j| line[j]),
                    Some(b'=' | b'!' | b'<' | b'>')
                )
        })
    });
    if !assigned_somewhere {
        return None;
    }
    let mut found = None;
    let mut cursor = func.walk();
    'walk: loop {
        let n = cursor.node();
        if n.start_byte() >= here.start_byte() {
            break;
        }
        let nested = n.id() != func.id() && cx.lang.role(n) == Role::Function;
        if cx.lang.role(n) == Role::Assign
            && let Some(a) = cx.lang.assignment(n, cx.src)
            && a.target == name
            && a.operator.is_none()
        {
            found = Some(n);
        }
        if !nested && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() || cursor.node().id() == func.id() {
                break 'walk;
            }
        }
    }
    found
}

/// Whether `name`, used at `here`, is a local holding a list: of the current function, or
/// (in a closure or callback) of an enclosing function, when no parameter shadows it.
pub(super) fn holds_list(cx: &Cx<'_, '_>, here: Node<'_>, name: &str) -> bool {
    if bound_nearer(cx, here, name) {
        return false;
    }
    if cx.is_list_local(name) {
        return true;
    }
    // Only closures and callbacks see another function's locals.
    let current = enclosing_function(cx, here);
    if cx.lang.role(current) != Role::Function
        || cx.lang.role(enclosing_function(cx, current)) != Role::Function
    {
        return false;
    }
    scoped_assignment(cx, here, name)
        .filter(|a| enclosing_function(cx, *a).id() != current.id())
        .is_some_and(|a| {
            cx.lang.is_list_typed(a, cx.src)
                || assigned_value(cx, a).is_some_and(|v| cx.lang.is_list_like(v, cx.src))
        })
}

/// Whether `name` at `here` is a parameter of a closure or lambda around it, or the
/// variable of a loop around it, within the current function (`|pvs| pvs.contains(..)`).
fn bound_nearer(cx: &Cx<'_, '_>, here: Node<'_>, name: &str) -> bool {
    let d = cx.dialect;
    let binds = |t: &str| {
        t.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .any(|w| w == name)
    };
    let mut cur = here;
    while let Some(p) = cx.parent_of(cur) {
        if cx.lang.role(p) == Role::Function {
            return false;
        }
        if cx.lang.is_callable_literal(p)
            && let Some(params) = p
                .child_by_field_id(field!(d, "parameters"))
                .or_else(|| p.child_by_field_id(field!(d, "parameter")))
            && binds(cx.text(params))
        {
            return true;
        }
        if cx.lang.role(p) == Role::Loop
            && let Some(var) = loop_variable(
                cx,
                &Loop {
                    node: p,
                    iterable: None,
                    call: None,
                },
            )
            && binds(var)
            && p.child_by_field_id(field!(d, "body"))
                .is_some_and(|b| contains(b, here))
        {
            return true;
        }
        cur = p;
    }
    false
}

/// The assignment that last gave `name` its value before `here`: in the current function,
/// or else in the nearest enclosing function that assigns it (closures see their
/// enclosing functions' locals), unless a parameter on the way shadows it.
pub(super) fn scoped_assignment<'a>(
    cx: &'a Cx<'_, '_>,
    here: Node<'a>,
    name: &str,
) -> Option<Node<'a>> {
    if let Some(a) = last_assignment(cx, here, name) {
        return Some(a);
    }
    let shadows = |f: Node<'_>| {
        cx.lang
            .function(f, cx.src)
            .is_some_and(|d| d.params.iter().any(|p| p == name))
    };
    let mut at = enclosing_function(cx, here);
    loop {
        if cx.lang.role(at) != Role::Function || shadows(at) {
            return None;
        }
        let outer = enclosing_function(cx, at);
        if cx.lang.role(outer) != Role::Function {
            return None;
        }
        if let Some(assign) = last_assignment(cx, at, name) {
            return Some(assign);
        }
        at = outer;
    }
}

/// The value of an assignment node.
pub(super) fn assigned_value<'a>(cx: &'a Cx<'_, '_>, assign: Node<'a>) -> Option<Node<'a>> {
    cx.lang.assignment(assign, cx.src)?.value
}

/// The text of the function enclosing `node`.
pub(super) fn function_text<'t>(cx: &Cx<'_, 't>, node: Node<'_>) -> &'t str {
    cx.text(enclosing_function(cx, node))
}

/// A span from the start of `from` to the end of `to`.
pub(super) fn span_between(cx: &Cx<'_, '_>, from: Node<'_>, to: Node<'_>) -> Span {
    let a = span_of(from, cx.src);
    let b = span_of(to, cx.src);
    Span {
        start_line: a.start_line,
        start_col: a.start_col,
        end_line: b.end_line,
        end_col: b.end_col,
    }
}

/// The receiver of a call node's method (`xs` in `xs.map(f)`), as a node.
pub(super) fn receiver_node<'a>(cx: &Cx<'_, '_>, call: Node<'a>) -> Option<Node<'a>> {
    let d = cx.dialect;
    if d == Dialect::Java {
        return call.child_by_field_id(field!(d, "object"));
    }
    let f = call.child_by_field_id(field!(d, "function"))?;
    f.child_by_field_id(field!(d, "object"))
        .or_else(|| f.child_by_field_id(field!(d, "operand")))
        .or_else(|| f.child_by_field_id(field!(d, "value")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_names_into_words() {
        assert_eq!(words("dbConn"), ["db", "conn"]);
        assert_eq!(words("HTTPClient"), ["http", "client"]);
        assert_eq!(words("db_session"), ["db", "session"]);
        assert_eq!(words("userRepository"), ["user", "repository"]);
        assert_eq!(words("recur"), ["recur"]);
    }

    #[test]
    fn finds_first_and_last_names() {
        assert_eq!(last_name("self.conn.cursor()"), "cursor");
        assert_eq!(last_name("&mut *conn"), "conn");
        assert_eq!(last_name("this.userRepository"), "userRepository");
        // Non-ASCII separators (a capped callee starts with `…`) are whole characters.
        assert_eq!(last_name("…ter_map"), "ter_map");
        assert_eq!(last_name("x→résumé"), "résumé");
        assert_eq!(root_name("self.client.get(u)"), "client");
        assert_eq!(root_name("reqwest::Client::new().get(u)"), "reqwest");
        assert_eq!(root_name("&mut *tx"), "tx");
    }
}
