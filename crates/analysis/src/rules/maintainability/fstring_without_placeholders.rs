//! MNT026: an f-string with nothing to interpolate.

use qa_core::Language;
use tree_sitter::Node;

use super::common::linter_allows;
use crate::lang::{children, named_children, python};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT026",
    name: "fstring-without-placeholders",
    family: Maintainability,
    severity: Low,
    languages: &[Language::Python],
    title: "f-string has no placeholders",
    applies_to_tests: true,
    docs: r#"## What it does
Finds f-strings (`f"..."`, `rf"..."`, `F'...'`) without any `{...}` placeholder, as
pyflakes' F541 does. In an implicit concatenation (`f"a" "b{x}"`) the f-prefixed parts
are reported only when no part of the whole string has a placeholder: with a prefix on
every line, long messages keep a uniform look.

Lines marked `# noqa: F541` are skipped.

## Why is this bad?
The `f` prefix promises interpolation. Without placeholders it is usually a mistake: the
variable that was meant to be interpolated was forgotten (`f"user not found: id"`), or
the braces ended up in a different string than the prefix.

## How to fix
Add the missing placeholder, or remove the `f` prefix.

## Example
```python
raise KeyError(f"missing key")
```
Use instead:
```python
raise KeyError(f"missing key: {key!r}")
```
"#,
}

pub(crate) struct FstringWithoutPlaceholders;

impl Rule for FstringWithoutPlaceholders {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::STRING
    }

    fn on_string(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let k = &python::spec().k;
        if node.kind_id() != k.string || !is_fstring(node, cx) || has_placeholder(node) {
            return;
        }
        if let Some(parent) = cx.parent().filter(|p| p.kind_id() == k.concatenated_string)
            && named_children(parent).into_iter().any(has_placeholder)
        {
            return;
        }
        if linter_allows(cx, node, "", &["F541"]) {
            return;
        }
        cx.report(
            node,
            "f-string without placeholders; add the missing `{...}` or remove the `f` prefix",
        );
    }
}

/// Whether the string's prefix (`f`, `rf`, `Fr`...) makes it an f-string.
fn is_fstring(node: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    // The node's text starts with its prefix: no need to fetch the `string_start` child.
    cx.text(node)
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .any(|c| c == 'f' || c == 'F')
}

fn has_placeholder(node: Node<'_>) -> bool {
    let k = &python::spec().k;
    children(node)
        .iter()
        .any(|c| c.kind_id() == k.interpolation)
}
