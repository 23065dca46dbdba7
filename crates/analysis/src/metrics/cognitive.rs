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
//!
//! The walker (`walk.rs`) applies these rules node by node as it goes; a nested function
//! is scored on its own and added to its enclosing function one level deeper than where it
//! sits. Languages classify their nodes through [`SonarLanguage`].

use tree_sitter::Node;

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

/// Counts runs of like operators in a flattened boolean expression: `a && b || c` has two.
pub(crate) fn operator_runs(lang: &dyn SonarLanguage, root: Node<'_>) -> u32 {
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
