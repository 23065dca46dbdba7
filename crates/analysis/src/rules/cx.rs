//! What a rule sees while it checks a node, and where it reports.

use qa_core::Span;
use tree_sitter::Node;

use crate::config::Thresholds;
use crate::lang::{Dialect, LanguageSpec, ValueKind};

/// A finding before suppression and fingerprinting.
#[derive(Debug, Clone)]
pub(crate) struct RawFinding {
    pub rule: &'static super::RuleMeta,
    pub message: String,
    pub span: Span,
    pub function: Option<String>,
}

/// The function enclosing the node being checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FnCtx<'a> {
    pub qualified_name: &'a str,
    pub is_async: bool,
}

/// A loop enclosing the node being checked, within the current function.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopCtx<'t> {
    pub node: Node<'t>,
    /// The part evaluated once (`items` in `for x in items`), if any.
    pub once: Option<Node<'t>>,
    /// The loop variable's text, when the language has one.
    pub iterable_text: Option<&'t str>,
}

pub(crate) struct Cx<'a, 't> {
    pub src: &'t str,
    pub dialect: Dialect,
    pub lang: &'static dyn LanguageSpec,
    pub path: &'a str,
    pub is_test_code: bool,
    pub function: Option<FnCtx<'a>>,
    /// Loops of the current function that contain the current node in their repeated part.
    pub loops: &'a [LoopCtx<'t>],
    pub thresholds: &'a Thresholds,
    pub(crate) rule: &'static super::RuleMeta,
    pub(crate) out: &'a mut Vec<RawFinding>,
}

impl<'a, 't> Cx<'a, 't> {
    pub fn text(&self, node: Node<'_>) -> &'t str {
        crate::lang::text(node, self.src)
    }

    pub fn value(&self, node: Node<'_>) -> ValueKind {
        self.lang.value_kind(node, self.src)
    }

    pub fn in_loop(&self) -> bool {
        !self.loops.is_empty()
    }

    pub fn in_async_function(&self) -> bool {
        self.function.is_some_and(|f| f.is_async)
    }

    /// Reports a finding spanning `node`.
    pub fn report(&mut self, node: Node<'_>, message: impl Into<String>) {
        let span = span_of(node, self.src);
        self.report_span(span, message);
    }

    pub fn report_span(&mut self, span: Span, message: impl Into<String>) {
        self.out.push(RawFinding {
            rule: self.rule,
            message: message.into(),
            span,
            function: self.function.map(|f| f.qualified_name.to_string()),
        });
    }
}

/// 1-based lines and character columns of a node.
pub(crate) fn span_of(node: Node<'_>, src: &str) -> Span {
    let (s, e) = (node.start_position(), node.end_position());
    let col = |byte: usize, row_col: usize| {
        // Columns in characters, counting from the line start.
        let line_start = byte - row_col;
        src.get(line_start..byte).map_or(row_col, |t| t.chars().count()) as u32 + 1
    };
    Span {
        start_line: s.row as u32 + 1,
        start_col: col(node.start_byte(), s.column),
        end_line: e.row as u32 + 1,
        end_col: col(node.end_byte(), e.column),
    }
}
