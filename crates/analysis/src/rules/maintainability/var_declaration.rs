//! MNT018: `var` in JavaScript/TypeScript that already uses ES2015+.

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
                kind_ids(dialect, &["variable_declaration"])
            }
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        // Legacy or generated code written with `var` throughout is not reported: a finding
        // per line would be noise, and the fix is a migration, not an edit
        // (`modern_js` requires `let`/`const` to outnumber `var`).
        if !cx.file.modern_js {
            return;
        }
        // `declare var x: T;` and `declare global { var x: T }`: ambient globals.
        let ambient = kind!(cx.dialect, "ambient_declaration");
        if cx.ancestors.iter().any(|p| p.kind_id() == ambient) {
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
