//! The Python syntax tree, through the analysis engine's parser (per-thread parsers, a time
//! bound per file), and the text of a node.

use std::time::Duration;

use tree_sitter::{Node, Tree};

/// How long one module may take to parse before it is treated as unparsable.
const PARSE_TIMEOUT: Duration = Duration::from_secs(5);

pub fn tree(source: &str) -> Option<Tree> {
    qa_analysis::parse_tree(
        qa_analysis::Dialect::Python,
        source.as_bytes(),
        PARSE_TIMEOUT,
    )
    .ok()
}

pub fn text<'s>(node: Node, src: &'s [u8]) -> &'s str {
    std::str::from_utf8(&src[node.byte_range()]).unwrap_or("")
}
