//! What the generator needs to know about a Python module beyond the analysis engine's
//! function list: parameters with their hints and defaults, the literals each body compares
//! against, and how to construct each class.

use std::collections::BTreeMap;

use tree_sitter::Node;

use super::syntax::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Positional,
    KeywordOnly,
    VarArgs,
    VarKeywords,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub annotation: Option<String>,
    pub default: Option<String>,
    pub kind: ParamKind,
    /// Before a `/`: passed by position only, never by name.
    pub positional_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Function,
    Method,
    Static,
    Class,
    Property,
}

#[derive(Debug, Clone)]
pub struct FunctionSig {
    /// `f` or `Class.method`.
    pub qualified: String,
    pub class: Option<String>,
    pub binding: Binding,
    pub is_async: bool,
    pub is_generator: bool,
    /// Without `self`/`cls`.
    pub params: Vec<Param>,
    /// Literals in the body: compared against, returned, used as arguments.
    pub literals: Vec<String>,
    /// Exception names the body raises itself (`raise ValueError(...)`).
    pub raises: Vec<String>,
    /// Reads the command line: `sys.argv`, `parse_args()` without arguments, or a call to a
    /// function of the module that does (`main` → `parse_args`).
    pub reads_argv: bool,
    /// Names the body calls directly (`f(...)`).
    pub calls: Vec<String>,
    pub start_line: u32,
    pub end_line: u32,
}

#[derive(Debug, Clone, Default)]
pub struct ClassSig {
    pub name: String,
    pub bases: Vec<String>,
    /// `__init__`'s parameters (without `self`), or a dataclass's fields.
    pub init: Vec<Param>,
    pub has_init: bool,
    pub is_dataclass: bool,
    pub literals: Vec<String>,
    /// `Color.RED`, ... for Enum classes.
    pub members: Vec<String>,
}

#[derive(Debug, Default)]
pub struct ModuleSig {
    pub functions: Vec<FunctionSig>,
    pub classes: BTreeMap<String, ClassSig>,
    /// Names bound at module level (functions, classes, imports, assignments).
    pub names: Vec<String>,
    /// Literals anywhere in the module, the pool of last resort.
    pub literals: Vec<String>,
}

pub fn parse(source: &str) -> Option<ModuleSig> {
    let tree = super::syntax::tree(source)?;
    let root = tree.root_node();
    let src = source.as_bytes();
    let mut module = ModuleSig::default();
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        let (node, decorators) = undecorate(child, src);
        match node.kind() {
            "function_definition" => {
                if let Some(f) = function(node, &decorators, None, src) {
                    module.names.push(f.qualified.clone());
                    module.functions.push(f);
                }
            }
            "class_definition" => {
                if let Some(class) = class(node, &decorators, src, &mut module.functions) {
                    module.names.push(class.name.clone());
                    module.classes.insert(class.name.clone(), class);
                }
            }
            "import_statement" | "import_from_statement" => {
                collect_import_names(node, src, &mut module.names)
            }
            "expression_statement" => {
                if let Some(assign) = node.named_child(0).filter(|n| n.kind() == "assignment")
                    && let Some(left) = assign.child_by_field_name("left")
                    && left.kind() == "identifier"
                {
                    module.names.push(text(left, src).to_owned());
                }
            }
            _ => {}
        }
    }
    literals(root, src, &mut module.literals);
    // `main()` reads the command line when the `parse_args()` it calls does.
    for _ in 0..3 {
        let readers: Vec<String> = module
            .functions
            .iter()
            .filter(|f| f.reads_argv && f.class.is_none())
            .map(|f| f.qualified.clone())
            .collect();
        for f in module.functions.iter_mut() {
            if !f.reads_argv && f.calls.iter().any(|c| readers.contains(c)) {
                f.reads_argv = true;
            }
        }
    }
    Some(module)
}

/// The plain names called in a body (`helper(x)`, not `obj.method(x)`).
fn called_names(body: Node, src: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        if n.kind() == "call"
            && let Some(f) = n.child_by_field_name("function")
            && f.kind() == "identifier"
        {
            out.push(text(f, src).to_owned());
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor));
    }
    out.sort();
    out.dedup();
    out
}

fn undecorate<'t>(node: Node<'t>, src: &[u8]) -> (Node<'t>, Vec<String>) {
    if node.kind() != "decorated_definition" {
        return (node, Vec::new());
    }
    let mut decorators = Vec::new();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        if child.kind() == "decorator" {
            decorators.push(text(child, src).trim_start_matches('@').trim().to_owned());
        }
    }
    let definition = node.child_by_field_name("definition").unwrap_or(node);
    (definition, decorators)
}

fn function(
    node: Node,
    decorators: &[String],
    class: Option<&str>,
    src: &[u8],
) -> Option<FunctionSig> {
    let name = text(node.child_by_field_name("name")?, src).to_owned();
    let binding = match class {
        None => Binding::Function,
        Some(_) if decorators.iter().any(|d| d == "staticmethod") => Binding::Static,
        Some(_) if decorators.iter().any(|d| d == "classmethod") => Binding::Class,
        Some(_)
            if decorators
                .iter()
                .any(|d| d == "property" || d.ends_with("cached_property")) =>
        {
            Binding::Property
        }
        Some(_) => Binding::Method,
    };
    let mut params = node
        .child_by_field_name("parameters")
        .map(|p| parameters(p, src))
        .unwrap_or_default();
    if matches!(
        binding,
        Binding::Method | Binding::Class | Binding::Property
    ) && !params.is_empty()
    {
        params.remove(0);
    }
    let body = node.child_by_field_name("body")?;
    let mut lits = Vec::new();
    literals(body, src, &mut lits);
    let raises = text(body, src)
        .match_indices("raise ")
        .filter_map(|(i, _)| {
            let rest = &text(body, src)[i + 6..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            (!name.is_empty()).then(|| name.rsplit('.').next().unwrap_or(&name).to_owned())
        })
        .collect();
    let body_text = text(body, src);
    let reads_argv = body_text.contains("sys.argv") || body_text.contains(".parse_args()");
    Some(FunctionSig {
        reads_argv,
        calls: called_names(body, src),
        qualified: match class {
            Some(c) => format!("{c}.{name}"),
            None => name,
        },
        class: class.map(str::to_owned),
        binding,
        is_async: text(node, src).starts_with("async"),
        is_generator: contains_yield(body),
        params,
        literals: lits,
        raises,
        start_line: node.start_position().row as u32 + 1,
        end_line: node.end_position().row as u32 + 1,
    })
}

fn contains_yield(node: Node) -> bool {
    if node.kind() == "yield" {
        return true;
    }
    if matches!(
        node.kind(),
        "function_definition" | "lambda" | "class_definition"
    ) {
        return false;
    }
    let mut cursor = node.walk();
    node.named_children(&mut cursor).any(contains_yield)
}

fn class(
    node: Node,
    decorators: &[String],
    src: &[u8],
    functions: &mut Vec<FunctionSig>,
) -> Option<ClassSig> {
    let name = text(node.child_by_field_name("name")?, src).to_owned();
    let bases = node
        .child_by_field_name("superclasses")
        .map(|s| {
            let mut cursor = s.walk();
            s.named_children(&mut cursor)
                .map(|b| text(b, src).to_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut sig = ClassSig {
        name: name.clone(),
        bases,
        is_dataclass: decorators.iter().any(|d| d.contains("dataclass")),
        ..ClassSig::default()
    };
    let body = node.child_by_field_name("body")?;
    literals(body, src, &mut sig.literals);
    let mut new_params = None;
    let mut cursor = body.walk();
    for child in body.named_children(&mut cursor) {
        let (item, decorators) = undecorate(child, src);
        match item.kind() {
            "function_definition" => {
                let Some(f) = function(item, &decorators, Some(&name), src) else {
                    continue;
                };
                if f.qualified == format!("{name}.__init__") {
                    sig.init = f.params.clone();
                    sig.has_init = true;
                } else if f.qualified == format!("{name}.__new__") {
                    new_params = Some(f.params.clone());
                }
                functions.push(f);
            }
            // Enum members: `RED = 1`.
            "expression_statement"
                if sig
                    .bases
                    .iter()
                    .any(|b| b.contains("Enum") || b.contains("Flag")) =>
            {
                if let Some(assign) = item.named_child(0).filter(|n| n.kind() == "assignment")
                    && let Some(left) = assign.child_by_field_name("left")
                    && left.kind() == "identifier"
                    && assign.child_by_field_name("type").is_none()
                {
                    let member = text(left, src);
                    if !member.starts_with('_') {
                        sig.members.push(format!("{name}.{member}"));
                    }
                }
            }
            // Dataclass fields: `x: int = 0`.
            "expression_statement" if sig.is_dataclass && !sig.has_init => {
                if let Some(assign) = item.named_child(0).filter(|n| n.kind() == "assignment")
                    && let Some(left) = assign.child_by_field_name("left")
                    && left.kind() == "identifier"
                    && let Some(ty) = assign.child_by_field_name("type")
                {
                    let ty = text(ty, src);
                    if !ty.contains("ClassVar") {
                        sig.init.push(Param {
                            name: text(left, src).to_owned(),
                            annotation: Some(ty.to_owned()),
                            default: assign
                                .child_by_field_name("right")
                                .map(|r| text(r, src).to_owned()),
                            kind: ParamKind::Positional,
                            positional_only: false,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    // Immutable types (`Fraction`, namedtuple subclasses) take their arguments in `__new__`.
    if !sig.has_init
        && let Some(params) = new_params
    {
        sig.init = params;
    }
    // An optional `_private` parameter is an implementation detail, never a test input.
    sig.init
        .retain(|p| !(p.name.starts_with('_') && p.default.is_some()));
    Some(sig)
}

fn parameters(node: Node, src: &[u8]) -> Vec<Param> {
    let mut out: Vec<Param> = Vec::new();
    let mut keyword_only = false;
    let mut cursor = node.walk();
    for p in node.named_children(&mut cursor) {
        let (name, annotation, default, kind) = match p.kind() {
            "identifier" => (text(p, src), None, None, ParamKind::Positional),
            "typed_parameter" => {
                let inner = p.named_child(0);
                let kind = match inner.map(|i| i.kind()) {
                    Some("list_splat_pattern") => ParamKind::VarArgs,
                    Some("dictionary_splat_pattern") => ParamKind::VarKeywords,
                    _ => ParamKind::Positional,
                };
                let name = inner
                    .map(|i| text(i, src).trim_start_matches('*'))
                    .unwrap_or("");
                (name, p.child_by_field_name("type"), None, kind)
            }
            "default_parameter" | "typed_default_parameter" => (
                p.child_by_field_name("name")
                    .map(|n| text(n, src))
                    .unwrap_or(""),
                p.child_by_field_name("type"),
                p.child_by_field_name("value"),
                ParamKind::Positional,
            ),
            "list_splat_pattern" => (
                text(p, src).trim_start_matches('*'),
                None,
                None,
                ParamKind::VarArgs,
            ),
            "dictionary_splat_pattern" => (
                text(p, src).trim_start_matches('*'),
                None,
                None,
                ParamKind::VarKeywords,
            ),
            "keyword_separator" => {
                keyword_only = true;
                continue;
            }
            "positional_separator" => {
                for p in out.iter_mut() {
                    p.positional_only = true;
                }
                continue;
            }
            _ => continue,
        };
        if kind == ParamKind::VarArgs {
            keyword_only = true;
        }
        let kind = if kind == ParamKind::Positional && keyword_only {
            ParamKind::KeywordOnly
        } else {
            kind
        };
        out.push(Param {
            name: name.to_owned(),
            annotation: annotation.map(|a| text(a, src).to_owned()),
            default: default.map(|d| text(d, src).to_owned()),
            kind,
            positional_only: false,
        });
    }
    out
}

fn collect_import_names(node: Node, src: &[u8], names: &mut Vec<String>) {
    // `from collections.abc import Mapping` binds `Mapping`, not `abc`.
    let from = node.child_by_field_name("module_name").map(|m| m.id());
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        if Some(child.id()) == from {
            continue;
        }
        match child.kind() {
            "dotted_name" if node.kind() == "import_statement" => {
                names.push(text(child, src).split('.').next().unwrap_or("").to_owned())
            }
            "dotted_name" => {
                names.push(text(child, src).rsplit('.').next().unwrap_or("").to_owned())
            }
            "aliased_import" => {
                if let Some(alias) = child.child_by_field_name("alias") {
                    names.push(text(alias, src).to_owned());
                }
            }
            _ => {}
        }
    }
}

/// Numbers and short strings, with the neighbours of numbers compared against (boundaries).
fn literals(node: Node, src: &[u8], out: &mut Vec<String>) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "integer" | "float" => {
                let t = text(n, src).replace('_', "");
                let negative = n
                    .parent()
                    .filter(|p| p.kind() == "unary_operator")
                    .is_some_and(|p| text(p, src).starts_with('-'));
                let t = if negative { format!("-{t}") } else { t };
                if n.kind() == "integer"
                    && let Ok(v) = t.parse::<i64>()
                {
                    out.push(v.to_string());
                    if in_comparison(n) {
                        out.push((v - 1).to_string());
                        out.push((v + 1).to_string());
                    }
                } else if n.kind() == "float" && t.parse::<f64>().is_ok() {
                    out.push(t);
                }
            }
            "string" => {
                let t = text(n, src);
                let plain = !t.starts_with(['f', 'F', 'b', 'B', 'r', 'R'])
                    && !t.starts_with("\"\"\"")
                    && !t.starts_with("'''");
                if plain && t.len() <= 40 && !t.contains('\n') && !is_docstring(n) {
                    out.push(black_quotes(t));
                }
            }
            _ => {
                let mut cursor = n.walk();
                stack.extend(n.named_children(&mut cursor));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|l| seen.insert(l.clone()));
}

/// A plain string literal in the quotes black would write (`'a'` → `"a"`); literals with
/// escapes are kept as written.
fn black_quotes(literal: &str) -> String {
    let body = &literal[1..literal.len().saturating_sub(1).max(1)];
    if literal.len() < 2 || body.contains('\\') {
        return literal.to_owned();
    }
    super::value::python_str(body)
}

fn in_comparison(node: Node) -> bool {
    let mut n = node;
    for _ in 0..2 {
        match n.parent() {
            Some(p) if p.kind() == "comparison_operator" => return true,
            Some(p) => n = p,
            None => return false,
        }
    }
    false
}

fn is_docstring(node: Node) -> bool {
    node.parent()
        .is_some_and(|p| p.kind() == "expression_statement" && p.named_child_count() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_bind_their_names_and_new_takes_the_arguments_without_init() {
        let src = r#"
from collections.abc import Mapping, Sequence
import os.path
import json as j
from typing import NamedTuple

class Week(tuple):
    def __new__(cls, year, week, *, _check=True):
        return super().__new__(cls, (year, week))
"#;
        let m = parse(src).unwrap();
        for name in ["Mapping", "Sequence", "os", "j", "NamedTuple", "Week"] {
            assert!(m.names.contains(&name.to_owned()), "{name}: {:?}", m.names);
        }
        assert!(!m.names.contains(&"abc".to_owned()), "{:?}", m.names);
        let week = &m.classes["Week"];
        let init: Vec<&str> = week.init.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(init, ["year", "week"]);
    }

    #[test]
    fn parameters_hints_defaults_and_boundaries_are_read() {
        let src = r#"
from dataclasses import dataclass

@dataclass
class Point:
    x: int
    y: int = 0

class Stack:
    def __init__(self, limit: int = 10):
        self.items = []

    def push(self, item, *, force: bool = False) -> None:
        if len(self.items) >= 3:
            raise OverflowError("full")

    @staticmethod
    def make(*args, **kw):
        return Stack()

def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    """Doc."""
    if value > 100:
        return "big"
    return max(low, min(value, high))
"#;
        let m = parse(src).unwrap();
        let clamp = m.functions.iter().find(|f| f.qualified == "clamp").unwrap();
        assert_eq!(clamp.params.len(), 3);
        assert_eq!(clamp.params[1].default.as_deref(), Some("0.0"));
        assert_eq!(clamp.params[0].annotation.as_deref(), Some("float"));
        assert!(clamp.literals.contains(&"101".to_owned()));
        assert!(clamp.literals.contains(&"\"big\"".to_owned()));
        assert!(!clamp.literals.iter().any(|l| l.contains("Doc")));
        let push = m
            .functions
            .iter()
            .find(|f| f.qualified == "Stack.push")
            .unwrap();
        assert_eq!(push.binding, Binding::Method);
        assert_eq!(push.params[1].kind, ParamKind::KeywordOnly);
        let make = m
            .functions
            .iter()
            .find(|f| f.qualified == "Stack.make")
            .unwrap();
        assert_eq!(make.binding, Binding::Static);
        assert_eq!(make.params[0].kind, ParamKind::VarArgs);
        let point = &m.classes["Point"];
        assert!(point.is_dataclass);
        assert_eq!(point.init.len(), 2);
        assert_eq!(m.classes["Stack"].init[0].name, "limit");
        assert!(m.names.contains(&"dataclass".to_owned()));
    }
}
