//! Mutation operators on the tree-sitter tree of a Python module.

use tree_sitter::Node;

use super::{Mutant, Operator};
use crate::python::syntax::text;

/// Every mutant of `source` whose changed node starts on a line inside `lines` (inclusive
/// ranges; all lines when empty). Docstrings, decorators and type hints are left alone.
pub fn mutants(source: &str, lines: &[(u32, u32)]) -> Vec<Mutant> {
    let Some(tree) = crate::python::syntax::tree(source) else {
        return Vec::new();
    };
    let src = source.as_bytes();
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if matches!(node.kind(), "decorator" | "type" | "comment") || is_docstring(node) {
            continue;
        }
        let line = node.start_position().row as u32 + 1;
        let wanted = lines.is_empty() || lines.iter().any(|(a, b)| (*a..=*b).contains(&line));
        if wanted {
            mutate(node, src, &mut out);
        }
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    out.sort_by_key(|m| (m.start, m.end, m.replacement.clone()));
    out.dedup_by(|a, b| a.start == b.start && a.end == b.end && a.replacement == b.replacement);
    for (i, m) in out.iter_mut().enumerate() {
        m.id = i as u32;
    }
    out
}

fn mutate(node: Node, src: &[u8], out: &mut Vec<Mutant>) {
    let line = node.start_position().row as u32 + 1;
    let mut push = |n: Node, op: Operator, replacement: &str| {
        out.push(Mutant {
            id: 0,
            line: n.start_position().row as u32 + 1,
            operator: op,
            start: n.start_byte(),
            end: n.end_byte(),
            original: text(n, src).to_owned(),
            replacement: replacement.to_owned(),
        });
    };
    match node.kind() {
        "comparison_operator" => {
            // The operators are the unnamed children between operands; `not in` and `is not`
            // are two tokens.
            let mut cursor = node.walk();
            let children: Vec<Node> = node.children(&mut cursor).collect();
            for (i, op) in children.iter().enumerate() {
                if op.is_named() {
                    continue;
                }
                let t = text(*op, src);
                let swap = match t {
                    "<" => "<=",
                    "<=" => "<",
                    ">" => ">=",
                    ">=" => ">",
                    "==" => "!=",
                    "!=" => "==",
                    "in" if i > 0 && text(children[i - 1], src) == "not" => continue,
                    "in" => "not in",
                    "not in" => "in",
                    "is" if children.get(i + 1).is_some_and(|n| text(*n, src) == "not") => continue,
                    "is" => "is not",
                    "is not" => "is",
                    "not" => continue,
                    _ => continue,
                };
                push(*op, Operator::Comparison, swap);
            }
        }
        "binary_operator" => {
            if let Some(op) = node.child_by_field_name("operator") {
                let swap = match text(op, src) {
                    "+" => "-",
                    "-" => "+",
                    "*" => "/",
                    "/" => "*",
                    "//" => "/",
                    "%" => "/",
                    "**" => "*",
                    "<<" => ">>",
                    ">>" => "<<",
                    "&" => "|",
                    "|" => "&",
                    "^" => "&",
                    _ => return,
                };
                push(op, Operator::Arithmetic, swap);
            }
        }
        "augmented_assignment" => {
            if let Some(op) = node.child_by_field_name("operator") {
                let swap = match text(op, src) {
                    "+=" => "-=",
                    "-=" => "+=",
                    "*=" => "/=",
                    "/=" => "*=",
                    "//=" => "/=",
                    "|=" => "&=",
                    "&=" => "|=",
                    _ => return,
                };
                push(op, Operator::Arithmetic, swap);
            }
        }
        "boolean_operator" => {
            if let Some(op) = node.child_by_field_name("operator") {
                let swap = if text(op, src) == "and" { "or" } else { "and" };
                push(op, Operator::Boolean, swap);
            }
        }
        "not_operator" => {
            if let Some(arg) = node.child_by_field_name("argument") {
                push(node, Operator::Boolean, &format!("({})", text(arg, src)));
            }
        }
        "unary_operator" if text(node, src).starts_with('-') => {
            if let Some(arg) = node.child_by_field_name("argument")
                && !matches!(arg.kind(), "integer" | "float")
            {
                push(node, Operator::Arithmetic, &format!("({})", text(arg, src)));
            }
        }
        "integer" => {
            let t = text(node, src).replace('_', "");
            if let Ok(v) = t.parse::<i64>() {
                let negated = node.parent().is_some_and(|p| p.kind() == "unary_operator");
                let new = if negated { v - 1 } else { v + 1 };
                push(node, Operator::Constant, &new.to_string());
            }
        }
        "float" => {
            if let Ok(v) = text(node, src).parse::<f64>() {
                push(node, Operator::Constant, &format!("{:?}", v + 1.0));
            }
        }
        "true" => push(node, Operator::Constant, "False"),
        "false" => push(node, Operator::Constant, "True"),
        "string" => {
            let t = text(node, src);
            if !t.starts_with(['f', 'F', 'b', 'B', 'r', 'R', 'u', 'U'])
                && !t.starts_with("\"\"\"")
                && !t.starts_with("'''")
                && !in_subscript_key(node)
                && t.len() >= 2
            {
                let q = &t[..1];
                let body = &t[1..t.len() - 1];
                push(node, Operator::Constant, &format!("{q}XX{body}XX{q}"));
            }
        }
        "return_statement" => {
            if let Some(value) = node.named_child(0) {
                let t = text(value, src);
                if t != "None" {
                    push(value, Operator::Return, "None");
                }
            }
        }
        "expression_statement" => {
            if let Some(call) = node.named_child(0).filter(|n| n.kind() == "call")
                && node.named_child_count() == 1
            {
                push(call, Operator::RemovedCall, "None");
            }
        }
        _ => {}
    }
    let _ = line;
}

/// `d["key"]` lookups: changing the key only raises KeyError, which says little.
fn in_subscript_key(node: Node) -> bool {
    node.parent().is_some_and(|p| p.kind() == "subscript")
}

fn is_docstring(node: Node) -> bool {
    node.kind() == "expression_statement"
        && node.named_child_count() == 1
        && node.named_child(0).is_some_and(|c| c.kind() == "string")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operator_family_produces_valid_mutants() {
        let src = "def f(a, b):\n    \"\"\"Doc.\"\"\"\n    log(a)\n    if a < b and not a is None:\n        return a + 1\n    return \"x\"\n";
        let ms = mutants(src, &[]);
        let applied: Vec<String> = ms.iter().map(|m| m.apply(src)).collect();
        let has = |s: &str| applied.iter().any(|a| a.contains(s));
        assert!(has("if a <= b"));
        assert!(has("a < b or not"));
        assert!(has("return a - 1"));
        assert!(has("return a + 2"));
        assert!(has("return None"));
        assert!(has("    None\n    if"));
        assert!(has("\"XXxXX\""));
        assert!(has("a is not None"));
        assert!(!applied.iter().any(|a| a.contains("XXDoc")));
        // Restricted to a line range: only line 5.
        assert!(mutants(src, &[(5, 5)]).iter().all(|m| m.line == 5));
    }
}
