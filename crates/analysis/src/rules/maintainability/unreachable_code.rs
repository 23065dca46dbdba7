//! MNT019: statements after a `return`, `raise`/`throw`, `break` or `continue`.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{kind_ids, linter_allows};
use crate::lang::{Dialect, named_children};
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT019",
    name: "unreachable-code",
    family: Maintainability,
    severity: Medium,
    languages: &[
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Go,
    ],
    title: "Code after `return`, `raise`/`throw`, `break` or `continue` never runs",
    applies_to_tests: true,
    docs: r#"## What it does
Finds the first statement that follows a `return`, `raise` (`throw` in JavaScript),
`break`, `continue` (or Go `goto`) in the same block: it can never run. Only the first
unreachable statement of a block is reported.

Declarations that do not run in sequence are not reported: function and class
declarations (JavaScript hoists function declarations, so helpers placed after the
`return` are a common style), TypeScript type declarations, `var` declarations without
an initialiser, Python `pass`, a bare `yield` after `return`/`raise` (the idiom that
makes a function a generator), and a `break` after a `return` or `throw` in a `case` (a
harmless defensive habit). Neither are Go labels, which `goto` can jump to.

Lines where ESLint's `no-unreachable` is disabled are skipped.

## Why is this bad?
Unreachable code is either dead weight that misleads readers into thinking it runs, or
a bug: the jump was not meant to be unconditional, or a statement was added in the wrong
place (a cleanup after the `return` that never happens).

## How to fix
Delete the dead code, or move the jump so that the code runs (often the `return` or
`break` belongs inside an `if`).

## Example
```python
def close(self):
    return self.conn.close()
    self.conn = None
```
Use instead:
```python
def close(self):
    self.conn.close()
    self.conn = None
```
"#,
}

pub(crate) struct UnreachableCode;

impl Rule for UnreachableCode {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        // Triggered by the jumps (rare) rather than by every block (common).
        match dialect {
            Dialect::Python => kind_ids(
                dialect,
                &[
                    "return_statement",
                    "raise_statement",
                    "break_statement",
                    "continue_statement",
                ],
            ),
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => kind_ids(
                dialect,
                &[
                    "return_statement",
                    "throw_statement",
                    "break_statement",
                    "continue_statement",
                ],
            ),
            Dialect::Go => kind_ids(
                dialect,
                &[
                    "return_statement",
                    "goto_statement",
                    "break_statement",
                    "continue_statement",
                ],
            ),
            _ => Vec::new(),
        }
    }

    fn on_node(&self, jump_node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let Some(node) = cx.parent() else { return };
        // Only a jump followed by something in its block can make code unreachable. Most
        // jumps end their block, which the source between them and the block's end shows
        // without `next_named_sibling` (which walks down from the root); anything else
        // there, such as a comment, is settled by the tree.
        let rest = cx
            .src
            .get(jump_node.end_byte()..node.end_byte())
            .unwrap_or("")
            .trim_matches(|c: char| c.is_whitespace() || c == ';' || c == '}');
        if rest.is_empty()
            || jump_node
                .next_named_sibling()
                .is_none_or(|n| n.is_extra() && n.next_named_sibling().is_none())
        {
            return;
        }
        let d = cx.dialect;
        let is_block = match d {
            Dialect::Python => {
                node.kind_id() == kind!(d, "block") || node.kind_id() == kind!(d, "module")
            }
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
                node.kind_id() == kind!(d, "statement_block")
                    || node.kind_id() == kind!(d, "program")
                    || node.kind_id() == kind!(d, "switch_case")
                    || node.kind_id() == kind!(d, "switch_default")
            }
            Dialect::Go => node.kind_id() == kind!(d, "statement_list"),
            _ => false,
        };
        if !is_block || node.has_error() {
            return;
        }
        // A `case` label's expression is not a statement of its body.
        let label = node.child_by_field_id(field!(d, "value"));
        let statements: Vec<Node<'_>> = named_children(node)
            .into_iter()
            .filter(|s| Some(*s) != label)
            .collect();
        let Some(jump_at) = statements.iter().position(|s| is_jump(*s, cx)) else {
            return;
        };
        let jump = statements[jump_at];
        for s in &statements[jump_at + 1..] {
            if is_reachable_target(*s, cx) {
                return;
            }
            // `return x; break;` in a `case`: a defensive habit, harmless.
            if is_declaration(*s, cx) || s.kind_id() == kind!(d, "break_statement") {
                continue;
            }
            if linter_allows(cx, *s, "no-unreachable", &[]) {
                return;
            }
            let what = jump.child(0).map_or("", |t| cx.text(t));
            cx.report(
                *s,
                format!("unreachable code: this statement follows a `{what}` and never runs; remove it or fix the control flow"),
            );
            return;
        }
    }
}

fn is_jump(n: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let d = cx.dialect;
    let id = n.kind_id();
    id == kind!(d, "return_statement")
        || id == kind!(d, "break_statement")
        || id == kind!(d, "continue_statement")
        || id == kind!(d, "raise_statement")
        || id == kind!(d, "throw_statement")
        || id == kind!(d, "goto_statement")
}

/// A Go label: `goto` may jump to it, so the code from there on can run.
fn is_reachable_target(n: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    cx.dialect == Dialect::Go && n.kind_id() == kind!(cx.dialect, "labeled_statement")
}

/// Statements that declare rather than run, or do nothing.
fn is_declaration(n: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let d = cx.dialect;
    let id = n.kind_id();
    match d {
        Dialect::Python => {
            if id == kind!(d, "function_definition")
                || id == kind!(d, "class_definition")
                || id == kind!(d, "decorated_definition")
                || id == kind!(d, "pass_statement")
            {
                return true;
            }
            // `return` / `raise NotImplementedError` then `yield`: makes a generator.
            id == kind!(d, "expression_statement")
                && named_children(n)
                    .first()
                    .is_some_and(|e| e.kind_id() == kind!(d, "yield"))
        }
        Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
            if id == kind!(d, "function_declaration")
                || id == kind!(d, "generator_function_declaration")
                || id == kind!(d, "class_declaration")
                || id == kind!(d, "abstract_class_declaration")
                || id == kind!(d, "interface_declaration")
                || id == kind!(d, "type_alias_declaration")
                || id == kind!(d, "ambient_declaration")
                || id == kind!(d, "function_signature")
                || id == kind!(d, "empty_statement")
            {
                return true;
            }
            // `var x;` is hoisted; only an initialiser would run here.
            id == kind!(d, "variable_declaration")
                && named_children(n).iter().all(|v| {
                    v.kind_id() == kind!(d, "variable_declarator")
                        && v.child_by_field_id(field!(d, "value")).is_none()
                })
        }
        _ => id == kind!(d, "empty_statement"),
    }
}
