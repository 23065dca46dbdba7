//! Parsing with a per-thread parser per dialect and a time bound per file.

use std::{cell::RefCell, collections::HashMap, ops::ControlFlow, time::Duration, time::Instant};

use tree_sitter::{ParseOptions, Parser, Tree};

use crate::lang::Dialect;

thread_local! {
    // Parsers are cheap to reuse and costly to create; one per dialect per worker thread.
    static PARSERS: RefCell<HashMap<Dialect, Parser>> = RefCell::new(HashMap::new());
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("parsing took longer than {0:?} and was abandoned")]
    Timeout(Duration),
}

/// Parses `text`, giving up after `timeout` so one pathological file cannot stall a run.
pub fn parse(dialect: Dialect, text: &[u8], timeout: Duration) -> Result<Tree, ParseError> {
    parse_ranges(dialect, text, None, timeout)
}

/// Parses only `range` of `text` (byte offsets), keeping positions relative to the whole
/// text: used for code the grammar leaves unparsed, such as Rust item macros' bodies.
pub fn parse_ranges(
    dialect: Dialect,
    text: &[u8],
    range: Option<tree_sitter::Range>,
    timeout: Duration,
) -> Result<Tree, ParseError> {
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        let parser = parsers.entry(dialect).or_insert_with(|| {
            let mut p = Parser::new();
            p.set_language(&dialect.grammar())
                .expect("bundled grammars have a supported ABI (checked by a test)");
            p
        });
        let ranges = range.map_or_else(Vec::new, |r| vec![r]);
        if parser.set_included_ranges(&ranges).is_err() {
            // Ranges come from the tree of the same text, so they are valid; fall back to
            // the whole text rather than fail.
            let _ = parser.set_included_ranges(&[]);
        }
        let started = Instant::now();
        let mut timed_out = false;
        let mut progress = |_: &tree_sitter::ParseState| {
            if started.elapsed() > timeout {
                timed_out = true;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let len = text.len();
        let tree = parser.parse_with_options(
            &mut |i, _| if i < len { &text[i..] } else { &[] },
            None,
            Some(ParseOptions::new().progress_callback(&mut progress)),
        );
        // An abandoned parse leaves state behind; the next parse must start clean.
        if timed_out {
            parser.reset();
        }
        match tree {
            Some(tree) if !timed_out => Ok(tree),
            _ => Err(ParseError::Timeout(timeout)),
        }
    })
}
