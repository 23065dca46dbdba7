//! MNT012: TODO, FIXME, XXX and HACK comments.

use std::sync::LazyLock;

use regex::Regex;
use tree_sitter::Node;

use crate::rules::{ALL_LANGUAGES, Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT012",
    name: "todo-comment",
    family: Maintainability,
    severity: Info,
    languages: ALL_LANGUAGES,
    title: "TODO/FIXME comment: known unfinished work",
    applies_to_tests: true,
    docs: r#"## What it does
Lists comments that mark unfinished or known-broken code: `TODO`, `FIXME`, `XXX` and
`HACK` (as whole words, in upper case, as these conventions write them).

## Why is this bad?
Each one is a known defect or a shortcut someone meant to revisit. Left in the code they
are easy to forget; listed with the other findings they can be tracked, prioritised or
turned into issues.

## How to fix
Do the work, or move it to the issue tracker and reference the issue in the comment so it
is not lost. Disable the rule (`[rules] disable = ["MNT012"]`) if your team tracks these
elsewhere.

## Example
```python
# TODO: handle timeouts
response = fetch(url)
```
Use instead:
```python
response = fetch(url, timeout=10)  # timeouts: see issue #123
```
"#,
}

pub(crate) struct TodoComment;

const MARKERS: &[&str] = &["TODO", "FIXME", "XXX", "HACK"];

impl Rule for TodoComment {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::COMMENT
    }

    fn on_comment(&self, node: Node<'_>, text: &str, cx: &mut Cx<'_, '_>) {
        // One scan of the comment for any marker before looking line by line.
        static ANY: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"TODO|FIXME|XXX|HACK").expect("valid pattern"));
        if !ANY.is_match(text) {
            return;
        }
        for (i, line) in text.lines().enumerate() {
            let Some(marker) = MARKERS.iter().find(|m| has_word(line, m)) else {
                continue;
            };
            let rest = line.split_once(marker).map_or("", |(_, rest)| rest);
            // `TODO(owner): note`
            let (owner, rest) = match rest.strip_prefix('(').and_then(|r| r.split_once(')')) {
                Some((owner, rest)) => (Some(owner.trim()), rest),
                None => (None, rest),
            };
            let note = rest
                .trim_start_matches([':', ' ', '-'])
                .trim_end_matches("*/")
                .trim();
            let marker = match owner {
                Some(o) if !o.is_empty() => format!("{marker} ({o})"),
                _ => marker.to_string(),
            };
            let mut span = crate::rules::cx::span_of(node, cx.src);
            span.start_line += i as u32;
            span.end_line = span.start_line;
            cx.report_span(
                span,
                if note.is_empty() {
                    format!("{marker} comment")
                } else {
                    format!("{marker}: {note}")
                },
            );
        }
    }
}

/// `word` appears in `line` with no letter, digit or underscore on either side.
fn has_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_');
        boundary(before) && boundary(after)
    })
}
