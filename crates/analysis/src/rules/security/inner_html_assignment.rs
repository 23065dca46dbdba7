//! SEC018: HTML built at run time written into the DOM (`innerHTML`, `outerHTML`,
//! `document.write`, `insertAdjacentHTML`).

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::{Assign, Call};
use crate::rules::helpers::{is_dynamic, kind};
use crate::rules::security::common::{as_call, is_sanitizer_call};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC018",
    name: "inner-html-assignment",
    family: Security,
    severity: High,
    languages: &[Language::JavaScript, Language::TypeScript],
    title: "HTML built at run time is written into the page (innerHTML, document.write)",
    applies_to_tests: false,
    docs: r#"## What it does
Finds values that are not fixed in the source written into the DOM as HTML:
assignments (`=` or `+=`) to `innerHTML` or `outerHTML`, `document.write(x)` /
`document.writeln(x)`, and `element.insertAdjacentHTML(position, x)`. Literal strings and
values passed through a sanitiser (`DOMPurify.sanitize(x)`, `sanitizeHtml(x)`,
`escapeHtml(x)`) are not reported.

## Why is this bad?
The browser parses the string as HTML, so any markup in the data becomes part of the
page: `<img src=x onerror=...>` in a user name, comment or URL parameter runs the
attacker's script with the user's session (cross-site scripting).

## How to fix
Insert text as text: `element.textContent = value`, `document.createTextNode(value)`,
or build elements with `document.createElement` and set attributes with
`setAttribute`. When you must insert HTML from data, sanitise it with DOMPurify first.

## Example
```javascript
message.innerHTML = `Hello ${user.name}`;
```
Use instead:
```javascript
message.textContent = `Hello ${user.name}`;
```
"#,
}

pub(crate) struct InnerHtmlAssignment;

/// Whether a value is fixed in the source or passed through a sanitiser.
pub(crate) fn is_safe_html(cx: &Cx<'_, '_>, value: Node<'_>) -> bool {
    if !is_dynamic(cx, value) {
        return true;
    }
    let mut v = value;
    // `x as string`, `x!`.
    while v.kind_id() == kind!(cx.dialect, "as_expression")
        || v.kind_id() == kind!(cx.dialect, "non_null_expression")
        || v.kind_id() == kind!(cx.dialect, "parenthesized_expression")
    {
        match v.named_child(0) {
            Some(inner) => v = inner,
            None => break,
        }
    }
    // `TEMPLATE`, `ICON_SVG`: constants written in the source.
    let t = cx.text(v);
    let constant = t.len() > 1
        && t.chars().any(|c| c.is_ascii_uppercase())
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    constant || as_call(cx, v).is_some_and(|c| is_sanitizer_call(&c))
}

impl Rule for InnerHtmlAssignment {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL.and(Hooks::ASSIGN)
    }

    fn on_assign(&self, a: &Assign<'_>, cx: &mut Cx<'_, '_>) {
        if !matches!(a.target_name, "innerHTML" | "outerHTML") {
            return;
        }
        let id = a.node.kind_id();
        if id != kind!(cx.dialect, "assignment_expression")
            && id != kind!(cx.dialect, "augmented_assignment_expression")
        {
            return;
        }
        if a.operator.is_some_and(|o| o != "+=") {
            return;
        }
        if a.value.is_none_or(|v| is_safe_html(cx, v)) {
            return;
        }
        cx.report(
            a.node,
            format!(
                "`{}` is set from a value that is not a constant, which the browser parses as HTML; use textContent or sanitise with DOMPurify",
                a.target_name
            ),
        );
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let html = if call.is(&[
            "document.write",
            "document.writeln",
            "window.document.write",
            "window.document.writeln",
        ]) {
            call.positional(0)
        } else if call.name == "insertAdjacentHTML" {
            call.positional(1)
        } else {
            return;
        };
        if let Some(v) = html.filter(|v| !is_safe_html(cx, *v)) {
            cx.report(
                v,
                format!(
                    "`{}` parses a value that is not a constant as HTML; insert text with textContent/createTextNode or sanitise with DOMPurify",
                    call.name
                ),
            );
        }
    }
}
