//! MNT021: a variable or attribute assigned to itself.

use qa_core::Language;
use tree_sitter::Node;

use super::common::{kind_ids, linter_allows};
use crate::lang::{Dialect, squash};
use crate::rules::helpers::{field, kind};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT021",
    name: "self-assignment",
    family: Maintainability,
    severity: Medium,
    languages: &[
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Java,
        Language::Go,
    ],
    title: "Variable is assigned to itself",
    applies_to_tests: true,
    docs: r#"## What it does
Finds plain assignments whose two sides are the same expression: `x = x`,
`this.x = this.x`, `a.b[i] = a.b[i]`. Compound assignments (`x += x`), declarations
(`v := v` in Go, which shadows a variable on purpose), destructuring, and targets that
contain calls (which may differ on each evaluation) are not reported.

In Python, where assignments can have effects, only the certain no-ops are reported:
names and `self.x = self.x` inside functions. `name = name` at module or class level
creates a global or class attribute from a builtin or outer name (`str = str` in a
compatibility module), and `obj.attr = obj.attr` may call a property setter on purpose.

Lines where ESLint's `no-self-assign` is disabled, or marked `# noqa: PLW0127`, are skipped (`err.stack = err.stack` can be deliberate: it materialises a lazy getter).

## Why is this bad?
A self-assignment does nothing, so it almost always stands for a different assignment
that was meant: a constructor writing `x = x` instead of `this.x = x` (the parameter
shadows the field, which stays unset), or a copy from the wrong object.

## How to fix
Assign what was meant (usually qualify one side: `this.x = x`, `self.x = other.x`), or
delete the line.

## Example
```java
class Point {
    private int x;

    Point(int x) {
        x = x;
    }
}
```
Use instead:
```java
class Point {
    private int x;

    Point(int x) {
        this.x = x;
    }
}
```
"#,
}

pub(crate) struct SelfAssignment;

impl Rule for SelfAssignment {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python => kind_ids(dialect, &["assignment"]),
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx | Dialect::Java => {
                kind_ids(dialect, &["assignment_expression"])
            }
            Dialect::Go => kind_ids(dialect, &["assignment_statement"]),
            Dialect::Rust => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        // Cheap test on the text before looking at fields: both sides of the first `=`
        // must read the same, ignoring whitespace.
        let Some((l, r)) = cx.text(node).split_once('=') else {
            return;
        };
        if l.trim() != r.trim()
            && !l
                .chars()
                .filter(|c| !c.is_whitespace())
                .eq(r.chars().filter(|c| !c.is_whitespace()))
        {
            return;
        }
        let d = cx.dialect;
        let (Some(left), Some(right)) = (
            node.child_by_field_id(field!(d, "left")),
            node.child_by_field_id(field!(d, "right")),
        ) else {
            return;
        };
        // Java and Go put `+=` in the same node kind as `=`.
        if let Some(op) = node.child_by_field_id(field!(d, "operator"))
            && cx.text(op) != "="
        {
            return;
        }
        let lid = left.kind_id();
        // Destructuring; and in Go `m[k] = m[k]` stores a zero value for a missing key.
        if lid == kind!(d, "array_pattern")
            || lid == kind!(d, "object_pattern")
            || (d == Dialect::Go && cx.text(left).contains('['))
        {
            return;
        }
        // Different texts without whitespace cannot squash to the same: skip the copies.
        let (lt, rt) = (cx.text(left), cx.text(right));
        if lt != rt && !lt.contains(char::is_whitespace) && !rt.contains(char::is_whitespace) {
            return;
        }
        let target = squash(lt);
        if target.is_empty() || target.contains('(') || target != squash(rt) {
            return;
        }
        if d == Dialect::Python && !python_no_op(left, node, cx) {
            return;
        }
        if linter_allows(cx, node, "no-self-assign", &["PLW0127"]) {
            return;
        }
        cx.report(
            node,
            format!("`{}` is assigned to itself, which does nothing; assign the intended value or remove the line", cx.text(left)),
        );
    }
}

/// Which Python self-assignments certainly do nothing. `name = name` at module or class
/// level creates a global or class attribute from a builtin or outer name (`str = str` in
/// a compatibility module); `obj.attr = obj.attr` may run a property setter on purpose.
/// Inside a function, names and `self.x`/`cls.x` are left.
fn python_no_op(left: Node<'_>, assign: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let d = cx.dialect;
    let id = left.kind_id();
    if id == kind!(d, "identifier")
        || id == kind!(d, "pattern_list")
        || id == kind!(d, "tuple_pattern")
    {
        return cx.function.is_some() && !at_class_level(assign, cx);
    }
    if id == kind!(d, "attribute") {
        let object = left.child_by_field_id(field!(d, "object"));
        return object.is_some_and(|o| {
            o.kind_id() == kind!(d, "identifier") && matches!(cx.text(o), "self" | "cls")
        });
    }
    false
}

/// `x = x` (the node being checked) directly in a class body: copies the enclosing scope's
/// `x` into the class.
fn at_class_level(_assign: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let d = cx.dialect;
    match cx.ancestors {
        [.., class, block, stmt] => {
            stmt.kind_id() == kind!(d, "expression_statement")
                && block.kind_id() == kind!(d, "block")
                && class.kind_id() == kind!(d, "class_definition")
        }
        _ => false,
    }
}
