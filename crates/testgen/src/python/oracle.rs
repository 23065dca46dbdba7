//! Does a test check anything? A test has an oracle when it asserts on a value or state the
//! code under test produced, or expects an exception from it with `pytest.raises`. Asserting a
//! module constant, or calling the code and discarding the result, does not count.

use std::collections::{BTreeMap, BTreeSet};

use tree_sitter::Node;

use super::syntax::text;

/// For each test function in `source`: whether it has an oracle. `under_test` are the names
/// imported from the module under test.
pub fn oracles(source: &str, under_test: &BTreeSet<String>) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let Some(tree) = super::syntax::tree(source) else {
        return out;
    };
    let src = source.as_bytes();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.kind() == "function_definition" {
            let name = node
                .child_by_field_name("name")
                .map(|n| text(n, src))
                .unwrap_or("");
            if name.starts_with("test")
                && let Some(body) = node.child_by_field_name("body")
            {
                out.insert(name.to_owned(), has_oracle(body, src, under_test));
            }
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    out
}

fn has_oracle(body: Node, src: &[u8], under_test: &BTreeSet<String>) -> bool {
    // Variables holding something the code under test produced.
    let mut produced: BTreeSet<String> = BTreeSet::new();
    let mut found = false;
    visit(body, src, under_test, &mut produced, &mut found);
    found
}

fn visit(
    node: Node,
    src: &[u8],
    under_test: &BTreeSet<String>,
    produced: &mut BTreeSet<String>,
    found: &mut bool,
) {
    match node.kind() {
        "assignment" => {
            if let (Some(left), Some(right)) = (
                node.child_by_field_name("left"),
                node.child_by_field_name("right"),
            ) && calls_code(right, src, under_test, produced)
            {
                for id in identifiers(left, src) {
                    produced.insert(id);
                }
            }
        }
        "expression_statement" => {
            // `items.sort()` on a produced object, or `f(items)` that changes `items`: the
            // arguments of a call to the code become produced state.
            if let Some(call) = node.named_child(0).filter(|n| n.kind() == "call")
                && calls_code(call, src, under_test, produced)
                && let Some(args) = call.child_by_field_name("arguments")
            {
                let mut cursor = args.walk();
                for a in args.named_children(&mut cursor) {
                    if a.kind() == "identifier" {
                        produced.insert(text(a, src).to_owned());
                    }
                }
            }
        }
        "assert_statement" => {
            let mut cursor = node.walk();
            for expr in node.named_children(&mut cursor) {
                if calls_code(expr, src, under_test, produced) || uses_produced(expr, src, produced)
                {
                    *found = true;
                }
            }
            return;
        }
        "with_statement" => {
            let raises =
                text(node, src).contains("raises(") || text(node, src).contains("pytest.warns(");
            if raises
                && let Some(body) = node.child_by_field_name("body")
                && calls_code(body, src, under_test, produced)
            {
                *found = true;
            }
        }
        "call" => {
            // `pytest.raises(E, f, x)`.
            if let Some(func) = node.child_by_field_name("function")
                && text(func, src).ends_with("raises")
                && let Some(args) = node.child_by_field_name("arguments")
                && args.named_child_count() >= 2
                && let Some(target) = args.named_child(1)
                && roots(target, src)
                    .iter()
                    .any(|r| under_test.contains(r) || produced.contains(r))
            {
                *found = true;
            }
        }
        _ => {}
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        visit(child, src, under_test, produced, found);
    }
}

/// Whether `node` contains a call into the code under test (a function or class imported from
/// it, or a method of something it produced).
fn calls_code(
    node: Node,
    src: &[u8],
    under_test: &BTreeSet<String>,
    produced: &BTreeSet<String>,
) -> bool {
    if node.kind() == "call"
        && let Some(func) = node.child_by_field_name("function")
        && roots(func, src)
            .iter()
            .any(|r| under_test.contains(r) || produced.contains(r))
    {
        return true;
    }
    if node.kind() == "attribute"
        && let Some(object) = node.child_by_field_name("object")
        && roots(object, src).iter().any(|r| produced.contains(r))
    {
        return true;
    }
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .any(|c| calls_code(c, src, under_test, produced))
}

fn uses_produced(node: Node, src: &[u8], produced: &BTreeSet<String>) -> bool {
    identifiers(node, src).iter().any(|i| produced.contains(i))
}

/// The leftmost identifier of `a.b.c` or `a[0].b`.
fn roots(node: Node, src: &[u8]) -> Vec<String> {
    let mut n = node;
    loop {
        match n.kind() {
            "identifier" => return vec![text(n, src).to_owned()],
            "attribute" => {
                n = match n.child_by_field_name("object") {
                    Some(o) => o,
                    None => return vec![],
                }
            }
            "subscript" => {
                n = match n.child_by_field_name("value") {
                    Some(o) => o,
                    None => return vec![],
                }
            }
            "call" => {
                n = match n.child_by_field_name("function") {
                    Some(o) => o,
                    None => return vec![],
                }
            }
            _ => return vec![],
        }
    }
}

fn identifiers(node: Node, src: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == "identifier" {
            out.push(text(n, src).to_owned());
        } else if n.kind() == "attribute" {
            // Only the object: `result.total` uses `result`, not `total`.
            if let Some(o) = n.child_by_field_name("object") {
                stack.push(o);
            }
            continue;
        } else if n.kind() != "string" {
            let mut cursor = n.walk();
            stack.extend(n.named_children(&mut cursor));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertions_on_produced_values_count_and_constants_do_not() {
        let src = r#"
import pytest
from shop.tax import MAX_RATE, Cart, total

def test_value():
    assert total([1, 2]) == 3

def test_variable():
    result = total([1])
    assert result == 1

def test_state():
    cart = Cart()
    cart.add(2)
    assert cart.items == [2]

def test_raises():
    with pytest.raises(ValueError):
        total(None)

def test_constant_only():
    total([1])
    assert MAX_RATE == 0.2

def test_discarded():
    total([1, 2])

def test_tautology():
    x = 3
    assert x == 3
"#;
        let under: BTreeSet<String> = ["MAX_RATE", "Cart", "total"].map(String::from).into();
        let got = oracles(src, &under);
        assert!(got["test_value"]);
        assert!(got["test_variable"]);
        assert!(got["test_state"]);
        assert!(got["test_raises"]);
        assert!(!got["test_constant_only"]);
        assert!(!got["test_discarded"]);
        assert!(!got["test_tautology"]);
    }
}
