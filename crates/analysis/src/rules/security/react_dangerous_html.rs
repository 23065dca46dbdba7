//! SEC019: React `dangerouslySetInnerHTML` given HTML built at run time.

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::{Assign, Dialect};
use crate::rules::helpers::kind;
use crate::rules::security::inner_html_assignment::is_safe_html;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC019",
    name: "react-dangerous-html",
    family: Security,
    severity: High,
    languages: &[Language::JavaScript, Language::TypeScript],
    title: "dangerouslySetInnerHTML is given HTML that is not a literal or sanitised",
    applies_to_tests: false,
    docs: r#"## What it does
Finds React's `dangerouslySetInnerHTML={{ __html: x }}` (as a JSX attribute, in
`createElement` props or in a props object built beforehand) where `x` is not a literal
string and not the result of a sanitiser (`DOMPurify.sanitize(...)`, `sanitize(...)`,
`sanitizeHtml(...)`, `xss(...)`).

## Why is this bad?
React escapes everything it renders except this prop, which inserts the string as raw
HTML. Markup in the data (a user's bio, a comment, a CMS field, a URL parameter) such as
`<img src=x onerror=...>` runs script in the page with the user's session: cross-site
scripting.

## How to fix
Render the data as children (`<div>{text}</div>`), which React escapes. If the content
really is HTML (rendered Markdown, CMS content), sanitise it right where it is inserted:
`{{ __html: DOMPurify.sanitize(html) }}`.

## Example
```jsx
<div dangerouslySetInnerHTML={{ __html: comment.body }} />
```
Use instead:
```jsx
<div dangerouslySetInnerHTML={{ __html: DOMPurify.sanitize(comment.body) }} />
```
"#,
}

pub(crate) struct ReactDangerousHtml;

const MESSAGE: &str = "`dangerouslySetInnerHTML` inserts this value as raw HTML; render it as text, or wrap it in DOMPurify.sanitize(...)";

impl Rule for ReactDangerousHtml {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::ASSIGN.and(Hooks::NODE)
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
                vec![
                    dialect
                        .grammar()
                        .id_for_node_kind("shorthand_property_identifier", true),
                ]
            }
            _ => Vec::new(),
        }
    }

    fn on_assign(&self, a: &Assign<'_>, cx: &mut Cx<'_, '_>) {
        if a.target_name != "__html" || a.node.kind_id() != kind!(cx.dialect, "pair") {
            return;
        }
        if let Some(v) = a.value.filter(|v| !is_safe_html(cx, *v)) {
            cx.report(v, MESSAGE);
        }
    }

    /// `{{ __html }}`: the shorthand names a variable.
    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        if cx.text(node) == "__html" {
            cx.report(node, MESSAGE);
        }
    }
}
