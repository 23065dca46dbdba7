//! MNT018: `var` in JavaScript/TypeScript that already uses ES2015+.

use std::cell::Cell;

use qa_core::Language;
use tree_sitter::Node;

use super::common::{kind_ids, linter_allows};
use crate::lang::Dialect;
use crate::rules::helpers::kind;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT018",
    name: "var-declaration",
    family: Maintainability,
    severity: Low,
    languages: &[Language::JavaScript, Language::TypeScript],
    title: "`var` declaration in ES2015+ code; use `let` or `const`",
    applies_to_tests: true,
    docs: r#"## What it does
Finds `var` declarations in files that already declare variables with `let` or
`const`. Files written in ES5, where `var` is the only choice, are left alone, and so are
files where `var` declarations outnumber `let`/`const` ones: legacy or generated code
written in that style throughout, where the fix is a migration rather than an edit.
TypeScript ambient declarations (`declare var x: T`, `declare global { var x: T }`)
are not reported either: there `var` is how a global is declared.

Lines where ESLint's `no-var` is disabled are skipped.

## Why is this bad?
`var` is function-scoped and hoisted: a `var` inside a block or loop is visible (and
shared) across the whole function, so closures created in a loop all see its last value,
and a name used before its declaration is silently `undefined` instead of an error.

## How to fix
Use `const` for bindings that are never reassigned and `let` for the others.

## Example
```javascript
for (var i = 0; i < buttons.length; i++) {
  buttons[i].onclick = () => select(i);
}
```
Use instead:
```javascript
for (let i = 0; i < buttons.length; i++) {
  buttons[i].onclick = () => select(i);
}
```
"#,
}

pub(crate) struct VarDeclaration;

/// Declaration counts of the file being walked, taken when the walk enters its root.
#[derive(Clone, Copy, Default)]
struct FileStyle {
    root: usize,
    var: u32,
    lexical: u32,
}

thread_local! {
    // The walker visits a file's root before any of its nodes, on one thread, so this
    // always describes the file whose `var` declarations are being checked.
    static STYLE: Cell<FileStyle> = Cell::new(FileStyle::default());
}

fn count_declarations(root: Node<'_>, dialect: Dialect) -> FileStyle {
    let (var, lexical) = (
        kind!(dialect, "variable_declaration"),
        kind!(dialect, "lexical_declaration"),
    );
    let mut style = FileStyle {
        root: root.id(),
        ..FileStyle::default()
    };
    let mut cursor = root.walk();
    loop {
        let id = cursor.node().kind_id();
        if id == var {
            style.var += 1;
        } else if id == lexical {
            style.lexical += 1;
        }
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return style;
            }
        }
    }
}

impl Rule for VarDeclaration {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx => {
                kind_ids(dialect, &["variable_declaration", "program"])
            }
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let d = cx.dialect;
        if node.kind_id() == kind!(d, "program") {
            STYLE.set(count_declarations(node, d));
            return;
        }
        if !cx.file.modern_js {
            return;
        }
        // `declare var x: T;` and `declare global { var x: T }`: ambient globals.
        let ambient = kind!(d, "ambient_declaration");
        let mut root = node;
        while let Some(p) = root.parent() {
            if p.kind_id() == ambient {
                return;
            }
            root = p;
        }
        let mut style = STYLE.get();
        if style.root != root.id() {
            style = count_declarations(root, d);
            STYLE.set(style);
        }
        // Legacy or generated code written with `var` throughout: a finding per line
        // would be noise, and the fix is a migration, not an edit.
        if style.lexical == 0 || style.var > style.lexical {
            return;
        }
        let at = node.child(0).unwrap_or(node);
        if linter_allows(cx, at, "no-var", &[]) {
            return;
        }
        cx.report(
            at,
            "`var` is function-scoped and hoisted; use `const` (or `let` if it is reassigned)",
        );
    }
}
