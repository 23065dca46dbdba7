//! PERF010: removing from or inserting at the front of an array-backed list in a loop.

use qa_core::Language;

use super::common::{
    assigned_value, holds_list, loop_header, loops, mentions, repeats, scoped_assignment,
};
use crate::lang::{Call, Dialect};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "PERF010",
    name: "front-removal-in-loop",
    family: Performance,
    severity: Low,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Java, Language::Rust],
    title: "Element removed from or inserted at the front of a list inside a loop",
    applies_to_tests: false,
    docs: r#"## What it does
Finds removals from and insertions at the front of an array-backed list inside a loop:
`x.pop(0)` and `x.insert(0, v)` (Python), `x.shift()` and `x.unshift(v)` (JavaScript,
TypeScript), `x.remove(0)` and `x.add(0, v)` on a local `List` (Java), `v.remove(0)` and
`v.insert(0, x)` on a local `Vec` (Rust). Typical in breadth-first searches and work
queues.

Deques (`collections.deque`, `ArrayDeque`, `LinkedList`, `VecDeque`) are not reported,
nor is `pop()` without an argument.

## Why is this bad?
Lists, arrays and vectors store their elements contiguously: removing or inserting the
first element moves every other element by one place, which costs O(n). Done once per
iteration over a queue of `n` elements, the loop is O(n²).

## How to fix
Use a double-ended queue, which adds and removes at both ends in O(1):
`collections.deque` with `popleft()`/`appendleft()` in Python, `ArrayDeque` with
`pollFirst()`/`addFirst()` in Java, `VecDeque` with `pop_front()`/`push_front()` in Rust.
In JavaScript, read the array with a moving index (`queue[head++]`) instead of
`shift()`, or build it with `push` and reverse it once instead of `unshift`.

## Example
```python
queue = [root]
while queue:
    node = queue.pop(0)
    queue.extend(node.children)
```
Use instead:
```python
from collections import deque

queue = deque([root])
while queue:
    node = queue.popleft()
    queue.extend(node.children)
```
"#,
}

pub(crate) struct FrontRemovalInLoop;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Remove,
    Insert,
}

impl Rule for FrontRemovalInLoop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let Some(receiver) = call.receiver() else {
            return;
        };
        let first_is_zero = call.positional(0).is_some_and(|a| cx.text(a) == "0");
        let n = call.args.len();
        let op = match (cx.dialect, call.name) {
            (Dialect::Python, "pop") if n == 1 && first_is_zero => Op::Remove,
            (Dialect::Python, "insert") if n == 2 && first_is_zero => Op::Insert,
            (Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx, "shift") if n == 0 => {
                Op::Remove
            }
            (Dialect::JavaScript | Dialect::TypeScript | Dialect::Tsx, "unshift") if n >= 1 => {
                Op::Insert
            }
            (Dialect::Java | Dialect::Rust, "remove") if n == 1 && first_is_zero => Op::Remove,
            (Dialect::Java, "add") | (Dialect::Rust, "insert") if n == 2 && first_is_zero => {
                Op::Insert
            }
            _ => return,
        };
        let lower = receiver.to_ascii_lowercase();
        // A plain local or attribute: `self.blocks[name]` is a different list each time.
        let plain = receiver
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.');
        if !plain || lower.contains("deque") || receiver == "sys.path" {
            return;
        }
        // Java and Rust: only locals known to hold an array-backed list.
        if matches!(cx.dialect, Dialect::Java | Dialect::Rust)
            && !holds_list(cx, call.node, receiver)
        {
            return;
        }
        if is_deque_or_map(cx, call, receiver) {
            return;
        }
        let loops = loops(cx, call.node);
        if !repeats(cx, &loops) {
            return;
        }
        // Removing is quadratic when the loop drains the list (`while queue:`) or keeps
        // feeding it (`queue.extend(children)`), not when it takes a few items off a list
        // it does not otherwise walk.
        if op == Op::Remove
            && !loops.iter().any(|l| {
                let header = loop_header(cx, l.node);
                let body = cx.text(l.node);
                mentions(header, receiver)
                    || [
                        ".append(",
                        ".extend(",
                        ".push(",
                        ".add(",
                        ".addAll(",
                        ".push_back(",
                        ".concat(",
                    ]
                    .iter()
                    .any(|m| body.contains(&format!("{receiver}{m}")))
            })
        {
            return;
        }
        let fix = match (cx.dialect, op) {
            (Dialect::Python, Op::Remove) => "use a `collections.deque` and `popleft()`",
            (Dialect::Python, Op::Insert) => "use a `collections.deque` and `appendleft()`",
            (Dialect::Java, Op::Remove) => "use an `ArrayDeque` and `pollFirst()`",
            (Dialect::Java, Op::Insert) => "use an `ArrayDeque` and `addFirst()`",
            (Dialect::Rust, Op::Remove) => "use a `VecDeque` and `pop_front()`",
            (Dialect::Rust, Op::Insert) => "use a `VecDeque` and `push_front()`",
            (_, Op::Remove) => "read the array with a moving index (`queue[head++]`) instead",
            (_, Op::Insert) => "`push` and reverse once after the loop instead",
        };
        let what = if op == Op::Remove {
            "removing"
        } else {
            "inserting"
        };
        cx.report(
            call.node,
            format!("`{}` moves every element of `{receiver}` on each call ({what} at the front is O(n)), so the loop is quadratic; {fix}", call_text(cx, call)),
        );
    }
}

fn call_text(cx: &Cx<'_, '_>, call: &Call<'_>) -> String {
    let args: Vec<&str> = call.args.iter().map(|a| cx.text(a.value)).collect();
    let args = args.join(", ");
    if args.len() > 20 {
        format!("{}(...)", call.callee)
    } else {
        format!("{}({args})", call.callee)
    }
}

/// Whether the receiver, a local, was last given a deque, a linked list or a mapping
/// (whose `pop(0)`/`remove(0)` is a key lookup).
fn is_deque_or_map(cx: &Cx<'_, '_>, call: &Call<'_>, receiver: &str) -> bool {
    let Some(assign) = scoped_assignment(cx, call.node, receiver) else {
        return false;
    };
    // Java: `LinkedList<T> q = ...` declares the type on the declaration's parent.
    let declared = cx.parent_of(assign).map_or("", |p| cx.text(p));
    let value = assigned_value(cx, assign).map_or("", |v| cx.text(v));
    let code = if cx.dialect == Dialect::Java {
        declared
    } else {
        value
    };
    ["deque", "Deque", "LinkedList", "VecDeque", "Queue"]
        .iter()
        .any(|w| code.contains(w))
        || (cx.dialect == Dialect::Python
            && (value.starts_with('{')
                || value.starts_with("dict(")
                || value.contains("OrderedDict(")))
}
