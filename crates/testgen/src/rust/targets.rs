//! What can be tested in a Rust file, from its tree-sitter tree: the public free
//! functions whose parameters and result have a literal form (numbers, `bool`, `char`,
//! strings, slices, `Vec`s and `Option`s of them, a `Result` of them), the literals in
//! their bodies to build boundary inputs from, and the mutants of their bodies.

use std::collections::BTreeSet;
use std::time::Duration;

use tree_sitter::Node;

use crate::mutation::{Mutant, Operator};

/// A type with a literal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    Int {
        name: String,
        signed: bool,
    },
    Float(String),
    Bool,
    Char,
    /// `&str`
    Str,
    String,
    Slice(Box<Ty>),
    Vec(Box<Ty>),
    Option(Box<Ty>),
    /// Results only: the error's Debug text is what the test compares.
    Result(Box<Ty>),
}

impl Ty {
    pub fn parse(text: &str, result_allowed: bool) -> Option<Ty> {
        let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let inner = |prefix: &str| {
            t.strip_prefix(prefix)
                .and_then(|r| r.strip_suffix('>'))
                .map(str::to_string)
        };
        Some(match t.as_str() {
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => Ty::Int {
                name: t.clone(),
                signed: true,
            },
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => Ty::Int {
                name: t.clone(),
                signed: false,
            },
            "f32" | "f64" => Ty::Float(t.clone()),
            "bool" => Ty::Bool,
            "char" => Ty::Char,
            "&str" | "&'staticstr" => Ty::Str,
            "String" => Ty::String,
            _ => {
                if let Some(e) = t.strip_prefix("&[").and_then(|r| r.strip_suffix(']')) {
                    Ty::Slice(Box::new(Ty::scalar(e)?))
                } else if let Some(e) = inner("Vec<") {
                    Ty::Vec(Box::new(Ty::scalar(&e)?))
                } else if let Some(e) = inner("Option<") {
                    Ty::Option(Box::new(Ty::scalar(&e)?))
                } else if let Some(e) = inner("Result<").filter(|_| result_allowed) {
                    // `Result<T, E>`: T before the last top-level comma.
                    let ok = split_top(&e).first()?.clone();
                    Ty::Result(Box::new(Ty::parse(&ok, false)?))
                } else {
                    return None;
                }
            }
        })
    }

    fn scalar(text: &str) -> Option<Ty> {
        Ty::parse(text, false).filter(|t| {
            matches!(
                t,
                Ty::Int { .. } | Ty::Float(_) | Ty::Bool | Ty::Char | Ty::Str | Ty::String
            )
        })
    }
}

fn split_top(s: &str) -> Vec<String> {
    let (mut depth, mut cur, mut out) = (0i32, String::new(), Vec::new());
    for c in s.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

/// A function to test.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub params: Vec<(String, Ty)>,
    pub returns: Ty,
}

/// The file's targets, and the functions left out with the reason.
pub struct Discovered {
    pub targets: Vec<Target>,
    pub skipped: Vec<(String, String)>,
    /// Literals of the file's function bodies, as Rust expressions by kind.
    pub ints: BTreeSet<i128>,
    pub floats: BTreeSet<String>,
    pub strings: BTreeSet<String>,
    pub chars: BTreeSet<String>,
}

/// The file's tree, parsed once and shared by the functions below.
pub fn parse(source: &str) -> Option<tree_sitter::Tree> {
    qa_analysis::parse_tree(
        qa_analysis::Dialect::Rust,
        source.as_bytes(),
        Duration::from_secs(5),
    )
    .ok()
}

pub fn discover(tree: &tree_sitter::Tree, source: &str) -> Discovered {
    let root = tree.root_node();
    let text = |n: Node| {
        n.utf8_text(source.as_bytes())
            .unwrap_or_default()
            .to_string()
    };
    let mut d = Discovered {
        targets: Vec::new(),
        skipped: Vec::new(),
        ints: BTreeSet::new(),
        floats: BTreeSet::new(),
        strings: BTreeSet::new(),
        chars: BTreeSet::new(),
    };
    // `pub type HammingResult = Result<usize, StrSimError>;`: resolved where used.
    let mut aliases = std::collections::HashMap::new();
    let mut cursor = root.walk();
    for item in root.named_children(&mut cursor) {
        if item.kind() == "type_item"
            && let (Some(n), Some(t)) = (
                item.child_by_field_name("name"),
                item.child_by_field_name("type"),
            )
        {
            aliases.insert(text(n), text(t));
        }
    }
    let resolve = |t: String| aliases.get(t.trim()).cloned().unwrap_or(t);
    let mut cursor = root.walk();
    for item in root.named_children(&mut cursor) {
        if item.kind() == "impl_item" {
            let ty = item
                .child_by_field_name("type")
                .map(text)
                .unwrap_or_default();
            d.skipped.push((
                format!("impl {ty}"),
                "methods are not generated for yet (free functions are)".into(),
            ));
            continue;
        }
        if item.kind() != "function_item" {
            continue;
        }
        let Some(name) = item.child_by_field_name("name").map(text) else {
            continue;
        };
        let vis = (0..item.named_child_count())
            .filter_map(|i| item.named_child(i as u32))
            .find(|c| c.kind() == "visibility_modifier")
            .map(text);
        if vis.as_deref() != Some("pub") {
            continue;
        }
        let modifiers = (0..item.child_count())
            .filter_map(|i| item.child(i))
            .find(|c| c.kind() == "function_modifiers")
            .map(text)
            .unwrap_or_default();
        let why = if item.child_by_field_name("type_parameters").is_some() {
            Some("generic: the types to call it with are not known".to_string())
        } else if modifiers.contains("async") {
            Some("async functions need a runtime".into())
        } else if modifiers.contains("unsafe") || modifiers.contains("extern") {
            Some("unsafe or extern".into())
        } else {
            None
        };
        if let Some(why) = why {
            d.skipped.push((name, why));
            continue;
        }
        let Some(returns) = item.child_by_field_name("return_type") else {
            d.skipped
                .push((name, "returns nothing to assert on".into()));
            continue;
        };
        let Some(returns) = Ty::parse(&resolve(text(returns)), true) else {
            d.skipped.push((
                name,
                format!(
                    "returns `{}`, which has no literal form to assert",
                    text(returns)
                ),
            ));
            continue;
        };
        let mut params = Vec::new();
        let mut bad = None;
        if let Some(ps) = item.child_by_field_name("parameters") {
            let mut c = ps.walk();
            for p in ps.named_children(&mut c) {
                if p.kind() != "parameter" {
                    bad = Some(format!("takes `{}`", text(p)));
                    break;
                }
                let pname = p
                    .child_by_field_name("pattern")
                    .map(text)
                    .unwrap_or_default();
                let ptype = resolve(p.child_by_field_name("type").map(text).unwrap_or_default());
                match Ty::parse(&ptype, false) {
                    Some(t) if !matches!(t, Ty::Result(_)) => params.push((pname, t)),
                    _ => {
                        bad = Some(format!("takes `{ptype}`, which qa-agent cannot build yet"));
                        break;
                    }
                }
            }
        }
        if let Some(why) = bad {
            d.skipped.push((name, why));
            continue;
        }
        let Some(body) = item.child_by_field_name("body") else {
            continue;
        };
        literals(body, source, &mut d);
        d.targets.push(Target {
            name,
            params,
            returns,
        });
    }
    d
}

/// An integer literal's value (`1_000`, `0xff`, `8u32`).
fn int_value(text: &str) -> Option<i128> {
    let digits: String = text
        .trim_end_matches(|c: char| c.is_ascii_alphabetic() && c != 'x')
        .replace('_', "");
    match digits.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16).ok(),
        None => digits.parse().ok(),
    }
}

/// A number the code compares or computes with: it and its neighbours, and when it may
/// be a bit count, the values that need that many bits.
fn add_int(d: &mut Discovered, v: i128) {
    if v.abs() >= 1 << 40 {
        return;
    }
    d.ints.extend([v - 1, v, v + 1]);
    if (1..=63).contains(&v) {
        d.ints.extend([(1i128 << v) - 1, 1i128 << v]);
    }
}

fn literals(node: Node, source: &str, d: &mut Discovered) {
    let text = node.utf8_text(source.as_bytes()).unwrap_or_default();
    match node.kind() {
        "integer_literal" => {
            if let Some(v) = int_value(text) {
                add_int(d, v);
            }
        }
        "float_literal" => {
            let t = text
                .trim_end_matches("f64")
                .trim_end_matches("f32")
                .replace('_', "");
            if t.parse::<f64>().is_ok() {
                d.floats.insert(if t.contains('.') || t.contains('e') {
                    t
                } else {
                    format!("{t}.0")
                });
            }
        }
        // `64 - 8`: the value the comparison really uses.
        "binary_expression" => {
            let lit = |n: Option<Node>| {
                n.filter(|n| n.kind() == "integer_literal")
                    .and_then(|n| n.utf8_text(source.as_bytes()).ok())
                    .and_then(int_value)
            };
            let op = node
                .child_by_field_name("operator")
                .and_then(|o| o.utf8_text(source.as_bytes()).ok());
            if let (Some(a), Some(b), Some(op)) = (
                lit(node.child_by_field_name("left")),
                lit(node.child_by_field_name("right")),
                op,
            ) {
                let folded = match op {
                    "+" => Some(a + b),
                    "-" => Some(a - b),
                    "*" => Some(a * b),
                    _ => None,
                };
                if let Some(v) = folded {
                    add_int(d, v);
                }
            }
        }
        "string_literal" if !text.starts_with('b') && text.len() < 40 => {
            d.strings.insert(text.to_string());
        }
        "char_literal" if !text.starts_with('b') => {
            d.chars.insert(text.to_string());
        }
        _ => {}
    }
    let mut c = node.walk();
    for child in node.children(&mut c) {
        literals(child, source, d);
    }
}

/// Argument expressions to try for a parameter of type `ty`.
pub fn pool(ty: &Ty, d: &Discovered) -> Vec<String> {
    match ty {
        Ty::Int { name, signed } => {
            let mut v: Vec<i128> = vec![0, 1, 2, 3, 7, 10, 100];
            if *signed {
                v.extend([-1, -5]);
            }
            v.extend(d.ints.iter().copied());
            let (min, max): (i128, i128) = match name.as_str() {
                "i8" => (i8::MIN.into(), i8::MAX.into()),
                "u8" => (0, u8::MAX.into()),
                "i16" => (i16::MIN.into(), i16::MAX.into()),
                "u16" => (0, u16::MAX.into()),
                "i32" => (i32::MIN.into(), i32::MAX.into()),
                "u32" => (0, u32::MAX.into()),
                _ if *signed => (i64::MIN.into(), i64::MAX.into()),
                _ => (0, u64::MAX.into()),
            };
            // Bit widths: a power of two and its neighbours, and the type's ends.
            for k in [8u32, 16, 31, 32, 63] {
                let p = 1i128 << k;
                v.extend([p - 1, p, p + 1]);
            }
            v.extend([min, max]);
            let mut seen = BTreeSet::new();
            v.into_iter()
                .filter(|x| (min..=max).contains(x) && seen.insert(*x))
                .map(|x| x.to_string())
                .collect()
        }
        Ty::Float(_) => {
            let mut v: Vec<String> = ["0.0", "1.0", "-1.5", "2.5", "100.0"]
                .map(String::from)
                .to_vec();
            v.extend(d.floats.iter().cloned());
            dedup(v)
        }
        Ty::Bool => vec!["true".into(), "false".into()],
        Ty::Char => {
            let mut v: Vec<String> = ["'a'", "'Z'", "'0'", "' '", "'é'"]
                .map(String::from)
                .to_vec();
            v.extend(d.chars.iter().cloned());
            dedup(v)
        }
        Ty::Str | Ty::String => {
            let mut v: Vec<String> = [
                "\"\"",
                "\"a\"",
                "\"abc\"",
                "\"hello\"",
                "\"world\"",
                "\"Hello, World\"",
                "\"12\"",
                "\"ab cd\"",
                // Characters escaping and parsing code treats apart.
                "\"<a href=\\\"x\\\">&</a>\"",
                "\"it's\"",
                "\"a\\nb\\t\"",
                "\"ü€\"",
                "\"09azAZ\"",
            ]
            .map(String::from)
            .to_vec();
            v.extend(d.strings.iter().cloned());
            let v = dedup(v);
            if *ty == Ty::String {
                v.into_iter().map(|s| format!("{s}.to_string()")).collect()
            } else {
                v
            }
        }
        Ty::Slice(e) | Ty::Vec(e) => {
            let items = pool(e, d);
            let pick = |idx: &[usize]| {
                idx.iter()
                    .filter_map(|i| items.get(*i).cloned())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let lists = [
                pick(&[]),
                pick(&[1]),
                pick(&[1, 2, 3]),
                pick(&[3, 1, 2]),
                pick(&[2, 2]),
            ];
            lists
                .into_iter()
                .map(|l| {
                    if matches!(ty, Ty::Slice(_)) {
                        format!("&[{l}]")
                    } else {
                        format!("vec![{l}]")
                    }
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        }
        Ty::Option(e) => {
            let mut v = vec!["None".to_string()];
            v.extend(pool(e, d).into_iter().take(4).map(|x| format!("Some({x})")));
            v
        }
        Ty::Result(_) => Vec::new(),
    }
}

/// Small edits of a word: two neighbours swapped, a letter dropped, replaced or added,
/// the same prefix with a different end, itself.
pub fn edits(word: &str) -> Vec<String> {
    let c: Vec<char> = word.chars().collect();
    let n = c.len();
    let mid = n / 2;
    let mut out = vec![word.to_string()];
    if n >= 2 {
        let mut swapped = c.clone();
        swapped.swap(mid - 1, mid);
        out.push(swapped.into_iter().collect());
        out.push(
            c.iter()
                .enumerate()
                .filter(|(i, _)| *i != mid)
                .map(|(_, x)| x)
                .collect(),
        );
        let mut replaced = c.clone();
        replaced[mid] = if c[mid] == 'x' { 'y' } else { 'x' };
        out.push(replaced.into_iter().collect());
        out.push(c[..mid].iter().chain(['q', 'z'].iter()).collect());
    }
    out.push(format!("{word}s"));
    out.push(c.iter().rev().collect());
    out
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.into_iter().filter(|x| seen.insert(x.clone())).collect()
}

/// Mutants of the file's top-level function bodies (the targets and what they call):
/// comparison, arithmetic and boolean operators swapped, integer and boolean constants
/// changed, `!` removed.
pub fn mutants(tree: &tree_sitter::Tree, source: &str, only: &BTreeSet<String>) -> Vec<Mutant> {
    let mut out = Vec::new();
    let root = tree.root_node();
    let mut cursor = root.walk();
    for item in root.named_children(&mut cursor) {
        let name = item
            .child_by_field_name("name")
            .and_then(|n| n.utf8_text(source.as_bytes()).ok())
            .unwrap_or_default();
        if item.kind() == "function_item"
            && only.contains(name)
            && let Some(body) = item.child_by_field_name("body")
        {
            collect(body, source, &mut out);
        }
    }
    for (i, m) in out.iter_mut().enumerate() {
        m.id = i as u32;
    }
    out
}

/// The targets and the file's top-level functions they call, directly or through each
/// other (an identifier with the function's name in a reachable body).
pub fn reachable(tree: &tree_sitter::Tree, source: &str, targets: &[Target]) -> BTreeSet<String> {
    let root = tree.root_node();
    let mut cursor = root.walk();
    let bodies: Vec<(String, BTreeSet<String>)> = root
        .named_children(&mut cursor)
        .filter(|n| n.kind() == "function_item")
        .filter_map(|n| {
            let name = n
                .child_by_field_name("name")?
                .utf8_text(source.as_bytes())
                .ok()?;
            let mut ids = BTreeSet::new();
            identifiers(n.child_by_field_name("body")?, source, &mut ids);
            Some((name.to_string(), ids))
        })
        .collect();
    let mut out: BTreeSet<String> = targets.iter().map(|t| t.name.clone()).collect();
    loop {
        let before = out.len();
        for (name, ids) in &bodies {
            if out.contains(name) {
                let called: Vec<String> = bodies
                    .iter()
                    .filter(|(other, _)| ids.contains(other))
                    .map(|(other, _)| other.clone())
                    .collect();
                out.extend(called);
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

fn identifiers(node: Node, source: &str, out: &mut BTreeSet<String>) {
    if node.kind() == "identifier" {
        out.insert(
            node.utf8_text(source.as_bytes())
                .unwrap_or_default()
                .to_string(),
        );
    }
    let mut c = node.walk();
    for child in node.children(&mut c) {
        identifiers(child, source, out);
    }
}

/// `(name, first line, last line)` of the file's top-level functions.
pub fn functions(tree: &tree_sitter::Tree, source: &str) -> Vec<(String, u32, u32)> {
    let root = tree.root_node();
    let mut cursor = root.walk();
    root.named_children(&mut cursor)
        .filter(|n| n.kind() == "function_item")
        .filter_map(|n| {
            let name = n
                .child_by_field_name("name")?
                .utf8_text(source.as_bytes())
                .ok()?;
            Some((
                name.to_string(),
                n.start_position().row as u32 + 1,
                n.end_position().row as u32 + 1,
            ))
        })
        .collect()
}

fn collect(node: Node, source: &str, out: &mut Vec<Mutant>) {
    let text = |n: Node| {
        n.utf8_text(source.as_bytes())
            .unwrap_or_default()
            .to_string()
    };
    let mut push = |n: Node, operator: Operator, replacement: &str| {
        out.push(Mutant {
            id: 0,
            line: n.start_position().row as u32 + 1,
            operator,
            start: n.start_byte(),
            end: n.end_byte(),
            original: text(n),
            replacement: replacement.to_string(),
        });
    };
    match node.kind() {
        "binary_expression" => {
            if let Some(op) = node.child_by_field_name("operator") {
                let swap = match text(op).as_str() {
                    "==" => Some(("!=", Operator::Comparison)),
                    "!=" => Some(("==", Operator::Comparison)),
                    "<" => Some(("<=", Operator::Comparison)),
                    "<=" => Some(("<", Operator::Comparison)),
                    ">" => Some((">=", Operator::Comparison)),
                    ">=" => Some((">", Operator::Comparison)),
                    "+" => Some(("-", Operator::Arithmetic)),
                    "-" => Some(("+", Operator::Arithmetic)),
                    "*" => Some(("/", Operator::Arithmetic)),
                    "/" => Some(("*", Operator::Arithmetic)),
                    "%" => Some(("*", Operator::Arithmetic)),
                    "&&" => Some(("||", Operator::Boolean)),
                    "||" => Some(("&&", Operator::Boolean)),
                    _ => None,
                };
                if let Some((r, kind)) = swap {
                    push(op, kind, r);
                }
            }
        }
        "integer_literal" => {
            let t = text(node);
            if let Ok(v) = t.parse::<u64>() {
                push(node, Operator::Constant, &(v + 1).to_string());
                if v > 0 {
                    push(node, Operator::Constant, &(v - 1).to_string());
                }
            }
        }
        "boolean_literal" => {
            let flip = if text(node) == "true" {
                "false"
            } else {
                "true"
            };
            push(node, Operator::Constant, flip);
        }
        "unary_expression" if text(node).starts_with('!') => {
            if let Some(operand) = node.named_child(0) {
                push(node, Operator::Boolean, &text(operand));
            }
        }
        // Code in macros is token trees: left alone.
        "macro_invocation" => return,
        _ => {}
    }
    let mut c = node.walk();
    for child in node.children(&mut c) {
        collect(child, source, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"
pub fn clamp_score(x: i32, limit: i32) -> i32 { if x > limit { limit } else { x + 1 } }
pub fn names(v: &[&str]) -> Vec<String> { v.iter().map(|s| s.to_string()).collect() }
pub fn parse(s: &str) -> Result<u8, std::num::ParseIntError> { s.parse() }
fn private(x: i32) -> i32 { x }
pub fn generic<T: Clone>(x: T) -> T { x }
pub fn unit(x: i32) { let _ = x; }
pub struct S;
impl S { pub fn m(&self) -> i32 { 1 } }
"#;

    #[test]
    fn public_functions_with_literal_types_are_targets_and_the_rest_say_why() {
        let tree = parse(SRC).unwrap();
        let d = discover(&tree, SRC);
        let names: Vec<&str> = d.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["clamp_score", "names", "parse"]);
        assert_eq!(
            d.targets[2].returns,
            Ty::Result(Box::new(Ty::Int {
                name: "u8".into(),
                signed: false
            }))
        );
        let skipped: Vec<&str> = d.skipped.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            skipped.contains(&"generic")
                && skipped.contains(&"unit")
                && skipped.contains(&"impl S")
        );
        assert!(!skipped.contains(&"private"));
    }

    #[test]
    fn mutants_come_from_the_bodies_of_targets() {
        let tree = parse(SRC).unwrap();
        let d = discover(&tree, SRC);
        let m = mutants(&tree, SRC, &reachable(&tree, SRC, &d.targets));
        let kinds: Vec<(&str, &str)> = m
            .iter()
            .map(|m| (m.original.as_str(), m.replacement.as_str()))
            .collect();
        assert!(
            kinds.contains(&(">", ">="))
                && kinds.contains(&("+", "-"))
                && kinds.contains(&("1", "2"))
        );
        assert!(
            pool(
                &Ty::Int {
                    name: "u8".into(),
                    signed: false
                },
                &d
            )
            .iter()
            .all(|v| !v.starts_with('-'))
        );
    }
}
