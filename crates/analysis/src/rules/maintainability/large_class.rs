//! MNT007: a class with too many methods.

use qa_core::Language;

use super::common::line_span;
use crate::model::ClassInfo;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT007",
    name: "large-class",
    family: Maintainability,
    severity: Low,
    languages: &[
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Java,
        Language::Rust,
    ],
    title: "Class defines too many methods",
    applies_to_tests: false,
    docs: r#"## What it does
Reports classes (Rust `impl` blocks and traits, Java interfaces and enums too) that
define more methods than `thresholds.class_methods` in `qa-agent.toml` (default 30).
Methods of nested classes count for the nested class only.

## Why is this bad?
A class with that many methods usually has more than one responsibility (a "god class").
It is hard to understand as a whole, every change risks unrelated behaviour, and its
tests have to set up state for all of its concerns.

## How to fix
Find the groups of methods that work on the same subset of fields and extract each group
into its own class, which the original can hold and delegate to.

## Example
```python
class Shop:
    def add_item(self): ...
    def remove_item(self): ...
    def charge_card(self): ...
    def refund(self): ...
    def send_receipt(self): ...
    # ...30 more
```
Use instead:
```python
class Shop:
    def __init__(self):
        self.cart = Cart()          # add_item, remove_item
        self.payments = Payments()  # charge_card, refund
        self.mailer = Mailer()      # send_receipt
```
"#,
}

pub(crate) struct LargeClass;

/// The line that declares the class (`class Foo`, `impl Foo`), below any annotations,
/// decorators or attributes that start the node.
fn header_line(src: &str, c: &ClassInfo) -> u32 {
    let is_word = |b: Option<char>| b.is_some_and(|b| b.is_alphanumeric() || b == '_');
    src.lines()
        .enumerate()
        .skip(c.start_line.saturating_sub(1) as usize)
        .take((c.end_line.saturating_sub(c.start_line) + 1).min(50) as usize)
        .find(|(_, line)| {
            let t = line.trim_start();
            !t.starts_with('@')
                && !t.starts_with("#[")
                && !t.starts_with("//")
                && !t.starts_with('*')
                && line.match_indices(c.name.as_str()).any(|(at, _)| {
                    !is_word(line[..at].chars().next_back())
                        && !is_word(line[at + c.name.len()..].chars().next())
                })
        })
        .map_or(c.start_line, |(i, _)| i as u32 + 1)
}

impl Rule for LargeClass {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CLASS
    }

    fn on_class(&self, c: &ClassInfo, cx: &mut Cx<'_, '_>) {
        let limit = cx.thresholds.class_methods as usize;
        let n = c.methods.len();
        if n > limit {
            let span = line_span(cx.src, header_line(cx.src, c));
            cx.report_span(
                span,
                format!(
                    "`{}` defines {n} methods (limit {limit}); split it into classes with one responsibility each",
                    c.qualified_name
                ),
            );
        }
    }
}
