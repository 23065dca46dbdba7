//! MNT016: `from m import *` and Java `import a.b.*;`.

use std::sync::LazyLock;

use qa_core::Language;
use regex::Regex;
use tree_sitter::Node;

use super::common::linter_allows;
use crate::lang::{Dialect, named_children, python};
use crate::rules::helpers::kind;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT016",
    name: "wildcard-import",
    family: Maintainability,
    severity: Low,
    languages: &[Language::Python, Language::Java],
    title: "Wildcard import hides where names come from",
    applies_to_tests: false,
    docs: r#"## What it does
Finds `from module import *` in Python and on-demand imports (`import java.util.*;`,
`import static org.example.Util.*;`) in Java. Python `__init__.py` files are skipped:
re-exporting submodules is what a package's `__init__` is for. So are Python modules
that define no functions or classes of their own: such a module is a facade that
re-exports another (a compatibility shim, a renamed module), where the star import is
the point.

Lines marked `# noqa: F403` (or `F401`) are skipped.

## Why is this bad?
A reader (and tools) can no longer tell where a name is defined. The set of imported
names changes whenever the other module changes, so a new name there can silently shadow
a local one, or a Java class added to a package can make a simple name ambiguous and
break the build.

## How to fix
Import the names you use explicitly (most editors can expand a wildcard for you).

## Example
```python
from os.path import *

print(join(base, name))
```
Use instead:
```python
from os.path import join

print(join(base, name))
```
"#,
}

pub(crate) struct WildcardImport;

// The walker does not descend into import statements (their names are not uses), so
// node hooks never see them: the rule subscribes to the file's root and looks for the
// imports itself. Python allows `import *` only at module level (possibly under `if` or
// `try`), Java imports only at the top of the file.
impl Rule for WildcardImport {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python => vec![python::spec().k.module],
            Dialect::Java => vec![kind!(dialect, "program")],
            _ => Vec::new(),
        }
    }

    fn on_node(&self, root: Node<'_>, cx: &mut Cx<'_, '_>) {
        match cx.dialect {
            Dialect::Python => {
                static STAR: LazyLock<Regex> =
                    LazyLock::new(|| Regex::new(r"(?-u)\bimport\s*\*").expect("valid pattern"));
                if cx.file.file_name == "__init__.py"
                    || cx.file.file_name == "__init__.pyi"
                    || !STAR.is_match(cx.src)
                {
                    return;
                }
                let k = &python::spec().k;
                let top = named_children(root);
                let defines_code = top.iter().any(|s| {
                    let id = s.kind_id();
                    id == k.function_definition
                        || id == k.class_definition
                        || id == k.decorated_definition
                });
                if !defines_code {
                    return;
                }
                let mut stack = top;
                while let Some(n) = stack.pop() {
                    let id = n.kind_id();
                    if id == k.import_from_statement {
                        check_python(n, cx);
                    } else if id == k.if_statement
                        || id == k.elif_clause
                        || id == k.else_clause
                        || id == k.try_statement
                        || id == k.except_clause
                        || id == k.finally_clause
                        || id == k.with_statement
                        || id == k.block
                    {
                        stack.extend(named_children(n));
                    }
                }
            }
            Dialect::Java => {
                for n in named_children(root) {
                    if n.kind_id() == kind!(cx.dialect, "import_declaration") {
                        check_java(n, cx);
                    }
                }
            }
            _ => {}
        }
    }
}

fn check_python(stmt: Node<'_>, cx: &mut Cx<'_, '_>) {
    let k = &python::spec().k;
    if !named_children(stmt)
        .iter()
        .any(|n| n.kind_id() == k.wildcard_import)
    {
        return;
    }
    if linter_allows(cx, stmt, "", &["F403", "F401"]) {
        return;
    }
    let module = stmt
        .child_by_field_id(k.f.module_name)
        .map_or("", |m| cx.text(m));
    cx.report(
        stmt,
        format!("`from {module} import *` hides where names come from and may shadow local ones; import the names you use"),
    );
}

fn check_java(import: Node<'_>, cx: &mut Cx<'_, '_>) {
    let d = cx.dialect;
    let kids = named_children(import);
    if !kids.iter().any(|n| n.kind_id() == kind!(d, "asterisk")) {
        return;
    }
    let package = kids
        .iter()
        .find(|n| n.kind_id() != kind!(d, "asterisk"))
        .map_or("", |n| cx.text(*n));
    cx.report(
        import,
        format!("wildcard import `{package}.*` hides where names come from and can make names ambiguous; import the classes you use"),
    );
}
