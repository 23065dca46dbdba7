//! SEC020: strings built at run time marked as safe HTML (`mark_safe`, `Markup`,
//! `template.HTML`), bypassing template auto-escaping.

use qa_core::Language;

use crate::lang::{Call, Dialect};
use tree_sitter::Node;

use crate::rules::helpers::{is_built_string, is_dynamic, kind};
use crate::rules::security::common::{as_call, assignments_before, dynamic_parts, is_identifier};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC020",
    name: "unescaped-markup",
    family: Security,
    severity: High,
    languages: &[Language::Python, Language::Go],
    title: "String built at run time is marked as safe HTML, bypassing auto-escaping",
    applies_to_tests: false,
    docs: r#"## What it does
Finds values marked as trusted markup so that templates do not escape them:

- Python: Django `mark_safe(x)` / `SafeString(x)` and MarkupSafe/Jinja/Flask `Markup(x)`
  where `x` is a string built at run time (f-string, `%`, `.format()`, concatenation,
  `"".join(...)`), passed directly or through a local variable assigned just before, that
  pastes in a value not passed through an escaping function (`escape`,
  `conditional_escape`, `format_html`...);
- Go: `template.HTML(x)`, `template.JS(x)`, `template.URL(x)`, `template.HTMLAttr(x)`,
  `template.CSS(x)`, `template.JSStr(x)`, `template.Srcset(x)` (`html/template`) where `x`
  is not a literal.

`format_html(...)` and `Markup("...%s...") % value` are not reported: they escape the
values they insert.

## Why is this bad?
Auto-escaping is what keeps data from becoming markup. Marking a string that contains
data as safe switches it off for the whole string, so `<script>` or an `onerror=`
attribute in that data reaches the browser: cross-site scripting.

## How to fix
Let the template escape the values: pass them as context variables, or build the
markup with a function that escapes each value (`format_html` in Django,
`Markup("<b>{}</b>").format(value)` or `Markup(...) % value` in MarkupSafe,
`template.HTMLEscapeString` in Go). Only mark constant strings as safe.

## Example
```python
return mark_safe(f"<a href='{url}'>{title}</a>")
```
Use instead:
```python
return format_html("<a href='{}'>{}</a>", url, title)
```
"#,
}

pub(crate) struct UnescapedMarkup;

const PY_MARKERS: &[&str] = &[
    "mark_safe",
    "SafeString",
    "SafeText",
    "Markup",
    "markupsafe.Markup",
    "jinja2.Markup",
    "flask.Markup",
    "safestring.mark_safe",
    "django.utils.safestring.mark_safe",
];

const GO_MARKERS: &[&str] = &[
    "template.HTML",
    "template.JS",
    "template.URL",
    "template.HTMLAttr",
    "template.CSS",
    "template.JSStr",
    "template.Srcset",
];

impl Rule for UnescapedMarkup {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        match cx.dialect {
            Dialect::Python => {
                if !call.is(PY_MARKERS) {
                    return;
                }
                let Some(x) = call.positional(0) else { return };
                if is_unescaped(cx, x, true) {
                    cx.report(
                        x,
                        format!(
                            "`{}` turns off escaping for a string built from values; build it with format_html or Markup(...).format(...) so each value is escaped",
                            call.callee
                        ),
                    );
                }
            }
            Dialect::Go => {
                if !call.is(GO_MARKERS) || !cx.imports("html/template") {
                    return;
                }
                let Some(x) = call.positional(0).filter(|x| {
                    is_dynamic(cx, *x) && !is_go_constant(cx, *x) && !is_escaping_call(cx, *x)
                }) else {
                    return;
                };
                cx.report(
                    x,
                    format!(
                        "`{}` marks a value built at run time as trusted, so html/template will not escape it; pass the plain string and let the template escape it",
                        call.callee
                    ),
                );
            }
            _ => {}
        }
    }
}

/// A string built at run time that pastes in at least one value not known to be escaped,
/// directly or through a local variable assigned just before.
fn is_unescaped(cx: &Cx<'_, '_>, x: Node<'_>, follow: bool) -> bool {
    if is_built_string(cx, x) {
        return !is_escaped(cx, x, follow);
    }
    if follow && is_identifier(cx, x) {
        let assigns = assignments_before(cx, x, cx.text(x));
        if let Some(v) = assigns
            .iter()
            .rev()
            .find(|a| a.operator.is_none())
            .and_then(|a| a.value)
        {
            return is_unescaped(cx, v, false);
        }
    }
    false
}

/// Values that are escaped, already safe, or cannot hold markup; strings built only from
/// such values.
fn is_escaped(cx: &Cx<'_, '_>, part: Node<'_>, follow: bool) -> bool {
    if cx.value(part).is_literal() {
        return true;
    }
    let text = cx.text(part);
    const ESCAPING: &[&str] = &[
        "escape(",
        "format_html",
        "mark_safe(",
        "Markup(",
        "json_script(",
        "urlencode(",
        "quote(",
        "escapejs(",
        "linebreaks(",
        "html.escape",
    ];
    if ESCAPING.iter().any(|e| text.contains(e)) {
        return true;
    }
    if let Some(call) = as_call(cx, part) {
        if call.name == "join" {
            return join_is_escaped(cx, &call);
        }
        if is_built_string(cx, part) {
            return all_parts_escaped(cx, part, follow);
        }
        // Translations of literal messages (`_("Select all")`) come from translators.
        let translation = matches!(
            call.name,
            "_" | "gettext" | "gettext_lazy" | "ngettext" | "pgettext"
        ) && call.positional(0).is_some_and(|a| cx.value(a).is_literal());
        return translation
            || matches!(
                call.name,
                "int" | "float" | "len" | "round" | "intcomma" | "floatformat"
            );
    }
    if is_built_string(cx, part) {
        return all_parts_escaped(cx, part, follow);
    }
    let bare = text.rsplit('.').next().unwrap_or(text);
    if bare.len() > 1
        && bare
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return true;
    }
    if follow && is_identifier(cx, part) {
        let assigns = assignments_before(cx, part, text);
        if let Some(v) = assigns
            .iter()
            .rev()
            .find(|a| a.operator.is_none())
            .and_then(|a| a.value)
        {
            return is_escaped(cx, v, false);
        }
    }
    false
}

fn all_parts_escaped(cx: &Cx<'_, '_>, built: Node<'_>, follow: bool) -> bool {
    let mut parts = Vec::new();
    dynamic_parts(cx, built, &mut parts, 0);
    parts
        .into_iter()
        .all(|p| p != built && is_escaped(cx, p, follow))
}

/// `"".join(parts)`: joining rendered fragments is the usual way to assemble markup, so
/// only elements visibly built from unescaped values count
/// (`"".join(f"<li>{x}</li>" for x in items)`).
fn join_is_escaped(cx: &Cx<'_, '_>, join: &crate::lang::Call<'_>) -> bool {
    let Some(arg) = join.positional(0) else {
        return true;
    };
    let id = arg.kind_id();
    let elements: Vec<Node> = if id == kind!(cx.dialect, "generator_expression")
        || id == kind!(cx.dialect, "list_comprehension")
    {
        arg.child_by_field_name("body").into_iter().collect()
    } else if id == kind!(cx.dialect, "list") || id == kind!(cx.dialect, "tuple") {
        let mut cursor = arg.walk();
        arg.named_children(&mut cursor).collect()
    } else {
        return true;
    };
    elements
        .into_iter()
        .all(|e| !is_built_string(cx, e) || all_parts_escaped(cx, e, false))
}

/// A Go identifier declared as a constant with a literal value in the same file
/// (`const icon = "<svg>...</svg>"`).
fn is_go_constant(cx: &Cx<'_, '_>, x: Node<'_>) -> bool {
    if !is_identifier(cx, x) {
        return false;
    }
    let name = cx.text(x);
    let mut root = x;
    while let Some(p) = cx.parent_of(root) {
        root = p;
    }
    let mut stack = vec![root];
    let mut visited = 0;
    while let Some(n) = stack.pop() {
        visited += 1;
        if visited > 100_000 {
            return false;
        }
        if n.kind_id() == kind!(cx.dialect, "const_spec")
            && n.child_by_field_name("name")
                .is_some_and(|id| cx.text(id) == name)
        {
            return n
                .child_by_field_name("value")
                .is_some_and(|v| v.named_child(0).is_some_and(|first| !is_dynamic(cx, first)));
        }
        // Constants live at the top level or in function bodies; skip expressions.
        if n.kind_id() == kind!(cx.dialect, "call_expression") {
            continue;
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    false
}

/// `template.HTMLEscapeString(s)`, `bluemonday.UGCPolicy().Sanitize(s)`.
fn is_escaping_call(cx: &Cx<'_, '_>, x: Node<'_>) -> bool {
    as_call(cx, x).is_some_and(|c| {
        let n = c.name.to_ascii_lowercase();
        n.contains("escape") || n.contains("sanitize")
    })
}
