//! MNT011: a mutable object as a parameter's default value.

use qa_core::Language;
use tree_sitter::Node;

use super::common::linter_allows;
use crate::lang::{Dialect, python};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "MNT011",
    name: "mutable-default-argument",
    family: Maintainability,
    severity: High,
    languages: &[Language::Python],
    title: "Mutable default argument is shared between calls",
    applies_to_tests: true,
    docs: r#"## What it does
Finds parameters (of functions and lambdas) whose default value is a mutable object: a
list, dict or set display or comprehension, or a call to `list()`, `dict()`, `set()`,
`bytearray()`, `collections.defaultdict()`, `OrderedDict()`, `Counter()` or `deque()`.

Lines marked `# noqa: B006` are skipped.

## Why is this bad?
Python evaluates a default value once, when the `def` runs, and every call that omits the
argument gets that same object. Anything one call appends to it is still there in the
next call, which shows up as data leaking between requests or tests.

## How to fix
Default to `None` and create the object in the body.

## Example
```python
def add_tag(tag, tags=[]):
    tags.append(tag)
    return tags
```
Use instead:
```python
def add_tag(tag, tags=None):
    if tags is None:
        tags = []
    tags.append(tag)
    return tags
```
"#,
}

pub(crate) struct MutableDefaultArgument;

/// Constructors of mutable containers, by their last name segment.
const MUTABLE_CALLS: &[&str] = &[
    "list",
    "dict",
    "set",
    "bytearray",
    "defaultdict",
    "OrderedDict",
    "Counter",
    "deque",
];

impl Rule for MutableDefaultArgument {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::NODE
    }

    fn kinds(&self, dialect: Dialect) -> Vec<u16> {
        match dialect {
            Dialect::Python => {
                let k = &python::spec().k;
                vec![k.default_parameter, k.typed_default_parameter]
            }
            _ => Vec::new(),
        }
    }

    fn on_node(&self, node: Node<'_>, cx: &mut Cx<'_, '_>) {
        let k = &python::spec().k;
        let Some(value) = node.child_by_field_id(k.f.value) else {
            return;
        };
        let id = value.kind_id();
        let what = if id == k.list || id == k.list_comprehension {
            "list"
        } else if id == k.dictionary || id == k.dictionary_comprehension {
            "dict"
        } else if id == k.set || id == k.set_comprehension {
            "set"
        } else if id == k.call && is_mutable_call(value, cx) {
            "mutable object"
        } else {
            return;
        };
        if linter_allows(cx, value, "", &["B006"]) {
            return;
        }
        let name = node.child_by_field_id(k.f.name).map_or("", |n| cx.text(n));
        cx.report(
            value,
            format!("default value of `{name}` is a {what} created once and shared by every call; default to None and create the object in the body"),
        );
    }
}

fn is_mutable_call(call: Node<'_>, cx: &Cx<'_, '_>) -> bool {
    let Some(c) = cx.lang.call(call, cx.src) else {
        return false;
    };
    let receiver_ok = match c.receiver() {
        None => true,
        Some(r) => r == "collections" || r == "builtins",
    };
    receiver_ok && MUTABLE_CALLS.contains(&c.name)
}
