//! Maximum nesting depth of control structures in a function body.

use tree_sitter::Node;

/// Depth of the deepest control structure under `body`, counting only nodes for which
/// `is_block(node, parent)` holds and not entering nested functions or classes
/// (`is_scope`), which have depths of their own. An `else if` continues its chain rather
/// than nesting: callers' `is_block` should return false for the `if` of an `else if`.
pub(crate) fn max_nesting(
    body: Option<Node<'_>>,
    is_block: impl Fn(Node<'_>, Node<'_>) -> bool,
    is_scope: impl Fn(Node<'_>) -> bool,
) -> u32 {
    let Some(body) = body else { return 0 };
    let mut max = 0;
    // (node, depth at which its children start)
    let mut stack = vec![(body, 0u32)];
    let mut cursor = body.walk();
    while let Some((node, depth)) = stack.pop() {
        for child in node.named_children(&mut cursor) {
            if is_scope(child) {
                continue;
            }
            let d = if is_block(child, node) { depth + 1 } else { depth };
            max = max.max(d);
            if child.named_child_count() > 0 {
                stack.push((child, d));
            }
        }
    }
    max
}
