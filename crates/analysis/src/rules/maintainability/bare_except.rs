//! MNT008: `except:` without an exception type.

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::Dialect;
use crate::lang::python;
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT008",
    name: "bare-except",
    family: Maintainability,
    severity: Medium,
    languages: &[Language::Python],
    title: "`except:` without an exception type catches everything, even Ctrl-C",
    applies_to_tests: true,
    docs: r#"## What it does
Finds `except:` clauses that name no exception type.

## Why is this bad?
A bare `except:` also catches `KeyboardInterrupt` and `SystemExit`, so Ctrl-C and
`sys.exit()` stop working inside the `try`, and it hides programming errors such as
`NameError` behind whatever the handler does.

## How to fix
Catch the exceptions you expect (`except (OSError, ValueError):`). If you really mean
"anything", write `except Exception:` and log or re-raise it.

## Example
```python
try:
    config = load(path)
except:
    config = {}
```
Use instead:
```python
try:
    config = load(path)
except (OSError, ValueError):
    config = {}
```
"#,
}

pub(crate) struct BareExcept;

impl Rule for BareExcept {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python => vec![python::spec().k.except_clause],
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let k = &python::spec().k;
        // `except:` has only the keyword, the colon and the block.
        let typed = crate::lang::named_children(node)
            .iter()
            .any(|c| c.kind_id() != k.block && c.kind_id() != k.comment);
        if !typed {
            let first = node.child(0).unwrap_or(node);
            cx.report(first, "bare `except:` catches everything, including KeyboardInterrupt and SystemExit; name the exceptions you expect");
        }
    }
}
