//! Cognitive complexity by SonarSource's definition (G. Ann Campbell, "Cognitive
//! Complexity", 2017-2023), for the brace languages. Python follows complexipy instead
//! (`lang/python.rs`).
//!
//! - +1, plus the current nesting level, for each `if`, ternary, `switch`/`match`, loop
//!   and `catch`; their bodies are one level deeper.
//! - +1 without a nesting bonus for `else if` and `else`.
//! - +1 for each sequence of like boolean operators (`a && b && c || d` is 2); parentheses
//!   do not break a sequence, negation does.
//! - +1 for each labelled `break`/`continue` and `goto`.
//! - Nested functions, lambdas and closures add nothing themselves but are one level
//!   deeper, and their structures count toward the enclosing function.

use tree_sitter::{Node, TreeCursor};

/// How a node takes part in cognitive complexity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CogKind {
    Other,
    /// `if`, ternary, `switch`, loop, `catch`: +1 + nesting; children except the
    /// condition one level deeper.
    Structure,
    /// `else if`: +1; children at the chain's level.
    ElseIf,
    /// `else`: +1; children at the chain's level.
    Else,
    /// A nested function or lambda: children one level deeper.
    Nest,
    /// A labelled jump: +1.
    Jump,
}

/// What the generic algorithm needs from a language.
pub(crate) trait SonarLanguage {
    /// Classifies `node` sitting in `parent` under field `field`.
    fn cog_kind(&self, node: Node<'_>, parent: Node<'_>, field: Option<u16>) -> CogKind;
    /// The operator token kind if `node` is a `&&`/`||`-style binary expression.
    fn logical_operator(&self, node: Node<'_>) -> Option<u16>;
    /// Whether `node` only wraps another expression in parentheses.
    fn is_parenthesized(&self, node: Node<'_>) -> bool;
    /// Whether children in this field are evaluated at the structure's own level.
    fn is_condition_field(&self, field: u16) -> bool;
}

/// Beyond any real code; keeps pathological input from exhausting the stack.
const MAX_DEPTH: u32 = 500;

/// Cognitive complexity of `func`'s subtree (parameters and body).
pub(crate) fn cognitive(lang: &dyn SonarLanguage, func: Node<'_>) -> u32 {
    let mut cursor = func.walk();
    if !cursor.goto_first_child() {
        return 0;
    }
    let mut total = 0;
    visit_siblings(lang, &mut cursor, func, 0, false, 0, &mut total);
    total
}

/// Visits the cursor's node and its following siblings (children of `parent`).
fn visit_siblings(
    lang: &dyn SonarLanguage,
    cursor: &mut TreeCursor<'_>,
    parent: Node<'_>,
    nest: u32,
    in_chain: bool,
    depth: u32,
    total: &mut u32,
) {
    if depth > MAX_DEPTH {
        return;
    }
    loop {
        let node = cursor.node();
        if node.is_named() && !node.is_extra() {
            let field = cursor.field_id().map(|f| f.get());
            visit(
                lang, cursor, node, parent, field, nest, in_chain, depth, total,
            );
        }
        if !cursor.goto_next_sibling() {
            return;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn visit(
    lang: &dyn SonarLanguage,
    cursor: &mut TreeCursor<'_>,
    node: Node<'_>,
    parent: Node<'_>,
    field: Option<u16>,
    nest: u32,
    in_chain: bool,
    depth: u32,
    total: &mut u32,
) {
    let logical = lang.logical_operator(node);
    let paren = lang.is_parenthesized(node);
    if logical.is_some() && !in_chain {
        *total += operator_runs(lang, node);
    }
    // Operands of a boolean operator continue its sequence, through parentheses.
    let child_chain = logical.is_some() || (paren && in_chain);
    let (own, child_nest, structure) = match lang.cog_kind(node, parent, field) {
        CogKind::Structure => (1 + nest, nest + 1, true),
        CogKind::ElseIf => (1, nest, true),
        CogKind::Else => (1, nest, false),
        CogKind::Nest => (0, nest + 1, false),
        CogKind::Jump => (1, nest, false),
        CogKind::Other => (0, nest, false),
    };
    *total += own;
    if !cursor.goto_first_child() {
        return;
    }
    if structure {
        // Conditions are at the structure's level; everything else one deeper.
        loop {
            let child = cursor.node();
            if child.is_named() && !child.is_extra() {
                let f = cursor.field_id().map(|f| f.get());
                let at = if f.is_some_and(|f| lang.is_condition_field(f)) {
                    nest
                } else {
                    child_nest
                };
                visit(lang, cursor, child, node, f, at, false, depth + 1, total);
            }
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    } else {
        visit_siblings(
            lang,
            cursor,
            node,
            child_nest,
            child_chain,
            depth + 1,
            total,
        );
    }
    cursor.goto_parent();
}

/// Counts runs of like operators in a flattened boolean expression: `a && b || c` has two.
fn operator_runs(lang: &dyn SonarLanguage, root: Node<'_>) -> u32 {
    let mut ops = Vec::new();
    flatten(lang, root, &mut ops, 0);
    let mut runs = 0;
    let mut prev = None;
    for op in ops {
        if prev != Some(op) {
            runs += 1;
        }
        prev = Some(op);
    }
    runs
}

fn flatten(lang: &dyn SonarLanguage, node: Node<'_>, ops: &mut Vec<u16>, depth: u32) {
    if depth > MAX_DEPTH {
        return;
    }
    if lang.is_parenthesized(node) {
        if let Some(inner) = node.named_child(0) {
            flatten(lang, inner, ops, depth + 1);
        }
        return;
    }
    let Some(op) = lang.logical_operator(node) else {
        return;
    };
    let mut cursor = node.walk();
    let kids: Vec<Node> = node
        .named_children(&mut cursor)
        .filter(|n| !n.is_extra())
        .collect();
    if let Some(left) = kids.first() {
        flatten(lang, *left, ops, depth + 1);
    }
    ops.push(op);
    if let Some(right) = kids.get(1) {
        flatten(lang, *right, ops, depth + 1);
    }
}
