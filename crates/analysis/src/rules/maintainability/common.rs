//! Helpers shared by the maintainability rules.

use qa_core::Span;
use tree_sitter::Node;

use crate::lang::Dialect;
use crate::model::FunctionInfo;
use crate::rules::Cx;

/// A span on the first non-blank character of `line` (1-based), for findings about a
/// whole class or file that have no node at hand.
pub(super) fn line_span(src: &str, line: u32) -> Span {
    let text = src
        .lines()
        .nth(line.saturating_sub(1) as usize)
        .unwrap_or("");
    let col = text.chars().take_while(|c| c.is_whitespace()).count() as u32 + 1;
    Span {
        start_line: line.max(1),
        start_col: col,
        end_line: line.max(1),
        end_col: col,
    }
}

/// Reports a function-level finding on the function's `def`/`fn` line.
pub(super) fn report_function(cx: &mut Cx<'_, '_>, node: Node<'_>, f: &FunctionInfo, msg: String) {
    let span = crate::rules::cx::span_at_line(node, f.start_line, cx.src);
    cx.report_span(span, msg);
}

/// Resolves node kind names in `dialect`'s grammar, dropping the ones it lacks.
pub(super) fn kind_ids(dialect: Dialect, names: &[&str]) -> Vec<u16> {
    let grammar = dialect.grammar();
    names
        .iter()
        .map(|n| grammar.id_for_node_kind(n, true))
        .filter(|id| *id != 0)
        .collect()
}

/// The first node under `root` (excluding `root`) matching `hit`, in source order, not
/// looking inside subtrees for which `prune` holds. Iterative, so deep trees are safe.
pub(super) fn find_in<'t>(
    root: Node<'t>,
    prune: impl Fn(Node<'t>) -> bool,
    mut hit: impl FnMut(Node<'t>) -> bool,
) -> Option<Node<'t>> {
    let mut stack: Vec<Node<'t>> = crate::lang::named_children(root);
    stack.reverse();
    while let Some(n) = stack.pop() {
        if hit(n) {
            return Some(n);
        }
        if prune(n) {
            continue;
        }
        let mut kids = crate::lang::named_children(n);
        kids.reverse();
        stack.extend(kids);
    }
    None
}

/// Whether `node` (or a node inside it) is a comment. Comments are extras, so they are
/// looked for among all children rather than the named ones the other helpers return.
pub(super) fn has_comment(node: Node<'_>, is_comment: impl Fn(Node<'_>) -> bool) -> bool {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if is_comment(n) {
            return true;
        }
        let mut cursor = n.walk();
        stack.extend(n.children(&mut cursor));
    }
    false
}

/// The node with parentheses around it removed (`((x))` → `x`).
pub(super) fn unparen<'t>(mut node: Node<'t>, paren_kind: u16) -> Node<'t> {
    while node.kind_id() == paren_kind {
        match crate::lang::named_children(node).into_iter().next() {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// The pairwise comparisons of a Python `comparison_operator` (`a < b < c` is `a < b` and
/// `b < c`): left operand, operator (`==`, `is not`, `not in`...) and its token, right operand.
pub(super) fn py_comparisons<'t>(
    node: Node<'t>,
    src: &str,
) -> Vec<(Node<'t>, String, Node<'t>, Node<'t>)> {
    let mut out = Vec::new();
    let mut left: Option<Node<'t>> = None;
    let mut op: Option<Node<'t>> = None;
    for c in crate::lang::children(node) {
        if c.is_extra() {
            continue;
        }
        if c.is_named() {
            if let (Some(l), Some(o)) = (left, op.take()) {
                let text = crate::lang::text(o, src)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                out.push((l, text, o, c));
            }
            left = Some(c);
        } else {
            op = Some(c);
        }
    }
    out
}

/// Whether a `{ ... }` block holds a comment between its braces. (A comment right after
/// the closing brace is sometimes attached to the block as its last child.)
pub(super) fn comment_in_braces(
    block: Node<'_>,
    src: &str,
    is_comment: impl Fn(Node<'_>) -> bool,
) -> bool {
    let close = crate::lang::children(block)
        .into_iter()
        .rfind(|c| !c.is_named() && crate::lang::text(*c, src) == "}")
        .map_or(block.end_byte(), |c| c.start_byte());
    has_comment(block, |n| is_comment(n) && n.start_byte() < close)
}

/// Whether ESLint is told to accept `rule` on 1-based `line`: `// eslint-disable-line rule`
/// on it, `// eslint-disable-next-line rule` just above, or inside a
/// `/* eslint-disable rule */` region. A directive without a rule list covers every rule.
/// A project that silenced its own linter there made the decision this rule would ask for.
pub(super) fn eslint_allows<'s>(
    lines: impl Iterator<Item = (u32, &'s str)>,
    line: u32,
    rule: &str,
) -> bool {
    let names = |rest: &str| -> bool {
        // `eslint-disable-line a, b -- why` / `eslint-disable a */`
        let list = rest.split("--").next().unwrap_or("");
        let list = list.split("*/").next().unwrap_or("");
        let mut any = false;
        for name in list.split([',', ' ', '\t']).filter(|n| !n.is_empty()) {
            any = true;
            if name == rule || name.rsplit('/').next() == Some(rule) {
                return true;
            }
        }
        !any
    };
    let mut disabled = false;
    for (n, text) in lines {
        let mut rest = text;
        while let Some(at) = rest.find("eslint-") {
            let directive = &rest[at + "eslint-".len()..];
            rest = directive;
            if let Some(r) = directive.strip_prefix("disable-next-line") {
                if n + 1 == line && names(r) {
                    return true;
                }
            } else if let Some(r) = directive.strip_prefix("disable-line") {
                if n == line && names(r) {
                    return true;
                }
            } else if let Some(r) = directive.strip_prefix("disable") {
                if r.starts_with([' ', '\t', '*']) || r.is_empty() {
                    disabled |= names(r);
                }
            } else if let Some(r) = directive.strip_prefix("enable")
                && (r.starts_with([' ', '\t', '*']) || r.is_empty())
                && names(r)
            {
                disabled = false;
            }
        }
    }
    disabled
}

/// Whether a flake8/ruff `# noqa` comment on 1-based `line` covers one of `codes` (a bare
/// `# noqa` covers everything).
pub(super) fn noqa_allows<'s>(
    mut lines: impl Iterator<Item = (u32, &'s str)>,
    line: u32,
    codes: &[&str],
) -> bool {
    let Some((_, text)) = lines.find(|(n, _)| *n == line) else {
        return false;
    };
    let lower = text.to_ascii_lowercase();
    let Some(at) = lower.find("# noqa") else {
        return false;
    };
    let rest = text[at + "# noqa".len()..].trim_start();
    let Some(list) = rest.strip_prefix(':') else {
        return true;
    };
    list.split([',', ' ', '\t'])
        .filter(|c| !c.is_empty())
        .any(|c| codes.iter().any(|code| c.eq_ignore_ascii_case(code)))
}

/// Whether the project's own linter was told to accept this finding at `node`'s line:
/// `eslint_rule` for JavaScript/TypeScript, `noqa` codes for Python.
pub(super) fn linter_allows(
    cx: &Cx<'_, '_>,
    node: Node<'_>,
    eslint_rule: &str,
    noqa: &[&str],
) -> bool {
    let line = node.start_position().row as u32 + 1;
    match cx.dialect {
        Dialect::Python => noqa_allows(cx.file.directive_lines_to(cx.src, line), line, noqa),
        Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
            eslint_allows(cx.file.directive_lines_to(cx.src, line), line, eslint_rule)
        }
        _ => false,
    }
}
