//! Proposing calls for JavaScript functions: there are no type hints, so argument values
//! come from parameter names, the literals in the module (strings, numbers and their
//! neighbours in comparisons, numbers followed by unit-like words), the option names read off
//! each parameter (`options.long`), and values that worked before.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{Value, json};
use tree_sitter::Node;

use super::harness::{CallSpec, Export, SetupCall};
use crate::python::inputs::Rng;

/// What the module's text offers as inputs.
#[derive(Debug, Default, Clone)]
pub struct Literals {
    pub strings: Vec<String>,
    pub numbers: Vec<f64>,
    /// Properties read off each identifier: `options` → {`long`}.
    pub properties: BTreeMap<String, BTreeSet<String>>,
    /// Lines where a statement starts: the denominator of line coverage.
    pub statement_lines: BTreeSet<u32>,
    /// TypeScript: each parameter name's declared type (the first declaration wins).
    pub param_types: BTreeMap<String, String>,
}

pub fn literals(source: &str, typescript: bool) -> Option<Literals> {
    let dialect = if typescript {
        qa_analysis::Dialect::TypeScript
    } else {
        qa_analysis::Dialect::JavaScript
    };
    let tree = qa_analysis::parse_tree(dialect, source.as_bytes(), Duration::from_secs(5)).ok()?;
    let src = source.as_bytes();
    let mut out = Literals::default();
    let mut strings = BTreeSet::new();
    let mut numbers: Vec<f64> = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        let kind = node.kind();
        if (kind.ends_with("_statement") || kind.ends_with("_declaration"))
            && kind != "statement_block"
            && kind != "empty_statement"
        {
            out.statement_lines
                .insert(node.start_position().row as u32 + 1);
        }
        match kind {
            "string" => {
                let text = text(node, src);
                let inner = &text[1..text.len().saturating_sub(1).max(1)];
                if !inner.contains('\\') && inner.chars().count() <= 40 {
                    strings.insert(inner.to_owned());
                }
            }
            "number" => {
                if let Some(x) = parse_number(text(node, src)) {
                    numbers.push(x);
                }
            }
            "binary_expression" => {
                let op = node
                    .child_by_field_name("operator")
                    .map(|o| text(o, src))
                    .unwrap_or("");
                if matches!(op, "<" | "<=" | ">" | ">=" | "==" | "===" | "!=" | "!==") {
                    for side in ["left", "right"] {
                        if let Some(n) = node.child_by_field_name(side)
                            && n.kind() == "number"
                            && let Some(x) = parse_number(text(n, src))
                        {
                            numbers.extend([x - 1.0, x + 1.0]);
                        }
                    }
                }
            }
            "required_parameter" | "optional_parameter" => {
                if let (Some(pattern), Some(ty)) = (
                    node.child_by_field_name("pattern"),
                    node.child_by_field_name("type"),
                ) && pattern.kind() == "identifier"
                {
                    let ty = text(ty, src).trim_start_matches(':').trim().to_owned();
                    out.param_types
                        .entry(text(pattern, src).to_owned())
                        .or_insert(ty);
                }
            }
            "member_expression" => {
                if let (Some(object), Some(property)) = (
                    node.child_by_field_name("object"),
                    node.child_by_field_name("property"),
                ) && object.kind() == "identifier"
                    && property.kind() == "property_identifier"
                {
                    out.properties
                        .entry(text(object, src).to_owned())
                        .or_default()
                        .insert(text(property, src).to_owned());
                }
            }
            _ => {}
        }
    }
    // Products of the module's numbers: thresholds are often written `1024 * 1024`.
    let base: Vec<f64> = numbers
        .iter()
        .copied()
        .filter(|x| x.abs() > 1.0)
        .take(8)
        .collect();
    for (i, a) in base.iter().enumerate() {
        for b in &base[i..] {
            numbers.push(a * b);
        }
    }
    numbers.retain(|x| x.is_finite() && x.abs() < 1e15);
    numbers.sort_by(|a, b| a.total_cmp(b));
    numbers.dedup();
    out.numbers = numbers;
    out.strings = strings.into_iter().collect();
    Some(out)
}

fn text<'s>(node: Node, src: &'s [u8]) -> &'s str {
    std::str::from_utf8(&src[node.byte_range()]).unwrap_or("")
}

fn parse_number(t: &str) -> Option<f64> {
    let t = t.replace('_', "");
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok().map(|x| x as f64);
    }
    t.trim_end_matches('n').parse().ok()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Number,
    Flag,
    Options,
    List,
    Any,
}

fn kind_of(name: &str) -> Kind {
    let n = name.to_ascii_lowercase();
    let has = |words: &[&str]| {
        words
            .iter()
            .any(|w| n == *w || n.ends_with(w) && n.len() > w.len() + 1)
    };
    if n.starts_with("is")
        || n.starts_with("has")
        || n.starts_with("should")
        || has(&["flag", "enabled", "strict", "loose"])
    {
        Kind::Flag
    } else if has(&[
        "opts", "options", "option", "config", "settings", "params", "cfg",
    ]) {
        Kind::Options
    } else if has(&[
        "str",
        "string",
        "name",
        "text",
        "key",
        "path",
        "url",
        "pattern",
        "word",
        "prefix",
        "suffix",
        "char",
        "chars",
        "html",
        "src",
        "source",
        "format",
        "fmt",
        "msg",
        "message",
        "label",
        "title",
        "s",
        "sep",
        "separator",
        "delimiter",
        "input",
    ]) {
        Kind::Text
    } else if has(&[
        "n",
        "num",
        "number",
        "count",
        "size",
        "len",
        "length",
        "index",
        "idx",
        "i",
        "j",
        "k",
        "x",
        "y",
        "z",
        "ms",
        "amount",
        "min",
        "max",
        "start",
        "end",
        "limit",
        "width",
        "height",
        "depth",
        "level",
        "precision",
        "digits",
        "offset",
        "total",
        "age",
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "seconds",
        "radix",
        "base",
        "step",
        "times",
    ]) {
        Kind::Number
    } else if has(&[
        "arr", "array", "list", "items", "values", "xs", "elements", "rows", "entries", "nums",
        "numbers", "strings", "names",
    ]) {
        Kind::List
    } else {
        Kind::Any
    }
}

/// The kind of value a parameter takes: from its TypeScript type when declared, else from
/// its name.
fn kind_for(param: &str, lits: &Literals) -> Kind {
    let Some(ty) = lits.param_types.get(param) else {
        return kind_of(param);
    };
    let ty = ty.trim();
    match ty {
        "number" | "bigint" => Kind::Number,
        "string" => Kind::Text,
        "boolean" => Kind::Flag,
        _ if ty.ends_with("[]") || ty.starts_with("Array<") || ty.starts_with("ReadonlyArray<") => {
            Kind::List
        }
        _ if ty.starts_with('{') || ty.starts_with("Partial<") => Kind::Options,
        _ if ty.contains('|') && ty.split('|').all(|t| t.trim().starts_with(['"', '\''])) => {
            Kind::Text
        }
        _ => kind_of(param),
    }
}

/// Candidate values for one parameter, the likeliest first.
pub fn pool(param: &str, lits: &Literals) -> Vec<Value> {
    let texts = text_values(lits);
    let numbers = number_values(lits);
    let flags = vec![json!(true), json!(false)];
    let options = options_values(param, lits);
    let lists = vec![
        json!([]),
        json!([1, 2, 3]),
        json!(["a", "b"]),
        json!([3, 1, 2]),
        json!([0]),
    ];
    let rare = vec![json!(null), json!({"$u": 1}), json!({"$obj": {}})];
    let mut out: Vec<Value> = match kind_for(param, lits) {
        Kind::Text => [texts, numbers, rare].concat(),
        Kind::Number => [numbers, texts, rare].concat(),
        Kind::Flag => [flags, rare].concat(),
        Kind::Options => [options, rare].concat(),
        Kind::List => [lists, rare].concat(),
        Kind::Any => [texts, numbers, flags, lists, options, rare].concat(),
    };
    let mut seen = BTreeSet::new();
    out.retain(|v| seen.insert(v.to_string()));
    out
}

fn text_values(lits: &Literals) -> Vec<Value> {
    let mut out: Vec<Value> = ["abc", "", "Hello World", " a b ", "0", "-1.5", "x"]
        .iter()
        .map(|s| json!(s))
        .collect();
    out.extend(lits.strings.iter().map(|s| json!(s)));
    // Character codes the module compares (`case 34:` after `charCodeAt`) as the characters,
    // alone and together with text around them.
    let chars: String = lits
        .numbers
        .iter()
        .filter(|x| (32.0..=126.0).contains(*x) && x.fract() == 0.0)
        .filter_map(|x| char::from_u32(*x as u32))
        .filter(|c| c.is_ascii_punctuation())
        .collect();
    if !chars.is_empty() {
        out.push(json!(format!("a{chars}b")));
        out.extend(chars.chars().map(|c| json!(format!("x{c}y"))));
    }
    // Numbers followed by the module's short words ("2d", "1.5 hours"): the inputs of parsers.
    let words: Vec<&String> = lits
        .strings
        .iter()
        .filter(|s| !s.is_empty() && s.len() <= 12 && s.chars().all(|c| c.is_ascii_alphabetic()))
        .collect();
    for (i, w) in words.iter().enumerate() {
        let n = ["1", "2", "1.5", "-3", "100", ".5"][i % 6];
        let sep = if i % 3 == 2 { " " } else { "" };
        out.push(json!(format!("{n}{sep}{w}")));
    }
    out
}

fn number_values(lits: &Literals) -> Vec<Value> {
    let mut out: Vec<Value> = [0.0, 1.0, -1.0, 2.0, 10.0, 1.5, -2.5, 100.0]
        .iter()
        .map(|x| num(*x))
        .collect();
    out.extend(lits.numbers.iter().map(|x| num(*x)));
    out.extend([json!({"$num": "NaN"}), json!({"$num": "Infinity"})]);
    out
}

fn num(x: f64) -> Value {
    if x == x.trunc() && x.abs() < 9e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

fn options_values(param: &str, lits: &Literals) -> Vec<Value> {
    let mut keys: BTreeSet<&String> = lits.properties.get(param).into_iter().flatten().collect();
    if keys.is_empty() {
        for (object, props) in &lits.properties {
            if kind_of(object) == Kind::Options {
                keys.extend(props);
            }
        }
    }
    let mut out = vec![json!({"$obj": {}})];
    for k in keys.iter().take(12) {
        out.push(json!({"$obj": {k.as_str(): true}}));
        out.push(json!({"$obj": {k.as_str(): false}}));
    }
    for k in keys.iter().take(6) {
        out.push(json!({"$obj": {k.as_str(): 2}}));
        out.push(json!({"$obj": {k.as_str(): "abc"}}));
    }
    out
}

/// How unnatural a call looks to a reader: each missing argument counts 2, each value
/// whose type does not fit its parameter's name 1. Among calls that cover the same, the
/// more natural one becomes the test.
pub fn oddness(params: &[String], args: &[Value], lits: &Literals) -> usize {
    let missing = params.len().saturating_sub(args.len());
    let misfit = params
        .iter()
        .zip(args)
        .filter(|(p, v)| !fits(kind_for(p, lits), v))
        .count();
    missing * 2 + misfit
}

fn fits(kind: Kind, v: &Value) -> bool {
    let tagged = |tag: &str| v.as_object().is_some_and(|m| m.contains_key(tag));
    match kind {
        Kind::Text => v.is_string(),
        Kind::Number => v.is_number() || tagged("$num"),
        Kind::Flag => v.is_boolean(),
        Kind::Options => tagged("$obj"),
        Kind::List => v.is_array(),
        Kind::Any => !v.is_null() && !tagged("$u"),
    }
}

/// What exploration learnt so far: argument values that returned normally, by (target,
/// parameter position), and primitive values the module returned (later inputs).
#[derive(Debug, Default)]
pub struct Memory {
    pub worked: HashMap<(String, usize), Vec<Value>>,
    pub returned: Vec<Value>,
}

impl Memory {
    pub fn record(&mut self, spec: &CallSpec, returned_normally: bool, value: Option<&Value>) {
        if returned_normally {
            for (i, v) in spec.args.iter().enumerate() {
                let entry = self.worked.entry((spec.target(), i)).or_default();
                if !entry.contains(v) && entry.len() < 40 {
                    entry.push(v.clone());
                }
            }
        }
        if let Some(v) = value {
            let primitive = v.is_number() || v.as_str().is_some_and(|s| s.len() <= 40);
            if primitive && self.returned.len() < 200 && !self.returned.contains(v) {
                self.returned.push(v.clone());
            }
        }
    }
}

/// The arguments, constructor arguments and set-up calls of one planned call.
type Planned = (Vec<Value>, Option<Vec<Value>>, Vec<SetupCall>);

/// A callable to explore: a function, or a method with its class's constructor parameters.
#[derive(Debug, Clone)]
pub struct Target {
    pub path: Vec<String>,
    pub method: Option<String>,
    pub params: Vec<String>,
    pub ctor_params: Vec<String>,
    /// The class's methods (name, parameters), which may run first to set up state.
    pub siblings: Vec<(String, Vec<String>)>,
}

impl Target {
    pub fn name(&self) -> String {
        let mut t = self.path.join(".");
        if let Some(m) = &self.method {
            t = format!("{t}.{m}");
        }
        t
    }
}

pub fn targets(exports: &[Export]) -> Vec<Target> {
    let mut out = Vec::new();
    for e in exports {
        if e.is_class {
            let siblings: Vec<(String, Vec<String>)> = e
                .methods
                .iter()
                .map(|m| (m.name.clone(), m.params.clone()))
                .collect();
            for m in &e.methods {
                out.push(Target {
                    path: e.path.clone(),
                    method: Some(m.name.clone()),
                    params: m.params.clone(),
                    ctor_params: e.params.clone(),
                    siblings: siblings.clone(),
                });
            }
        } else {
            out.push(Target {
                path: e.path.clone(),
                method: None,
                params: e.params.clone(),
                ctor_params: Vec::new(),
                siblings: Vec::new(),
            });
        }
    }
    out
}

/// The calls of one exploration round for one target. Round 0 varies one argument at a time
/// from a base call (and tries fewer arguments); later rounds draw combinations, favouring
/// values that worked, and mutate strings that worked.
pub fn propose(
    target: &Target,
    lits: &Literals,
    round: u32,
    rng: &mut Rng,
    next_id: &mut u32,
    memory: &Memory,
    per_round: usize,
) -> Vec<CallSpec> {
    let (worked, returned) = (&memory.worked, memory.returned.as_slice());
    let pools: Vec<Vec<Value>> = target.params.iter().map(|p| pool(p, lits)).collect();
    let ctor_pools: Vec<Vec<Value>> = target.ctor_params.iter().map(|p| pool(p, lits)).collect();
    let name = target.name();
    let mut calls: Vec<Planned> = Vec::new();
    let base: Vec<Value> = pools.iter().map(|p| p[0].clone()).collect();
    let ctor_base: Option<Vec<Value>> = target
        .method
        .as_ref()
        .map(|_| ctor_pools.iter().map(|p| p[0].clone()).collect());
    if round == 0 {
        for k in 0..base.len() {
            calls.push((base[..k].to_vec(), ctor_base.clone(), Vec::new()));
        }
        for (i, p) in pools.iter().enumerate() {
            for v in p.iter().take(60) {
                let mut args = base.clone();
                args[i] = v.clone();
                calls.push((args, ctor_base.clone(), Vec::new()));
            }
        }
        if let Some(ctor) = &ctor_base {
            for (i, p) in ctor_pools.iter().enumerate() {
                for v in p.iter().take(12) {
                    let mut c = ctor.clone();
                    c[i] = v.clone();
                    calls.push((base.clone(), Some(c), Vec::new()));
                }
            }
        }
    } else {
        for _ in 0..per_round {
            let mut args = Vec::new();
            for (i, p) in pools.iter().enumerate() {
                let good = worked.get(&(name.clone(), i));
                let v = match good {
                    // Values the module returned are inputs it understands (a parser's
                    // output fed to its formatter).
                    _ if !returned.is_empty() && rng.below(5) == 0 => {
                        returned[rng.below(returned.len())].clone()
                    }
                    Some(g) if !g.is_empty() && rng.below(3) > 0 => {
                        let v = g[rng.below(g.len())].clone();
                        if round >= 2 && rng.below(3) == 0 {
                            mutate(&v, lits, rng)
                        } else {
                            v
                        }
                    }
                    _ => p[rng.below(p.len())].clone(),
                };
                args.push(v);
            }
            if !args.is_empty() && rng.below(5) == 0 {
                args.truncate(rng.below(args.len()) + 1);
            }
            let ctor = ctor_base.as_ref().map(|_| {
                ctor_pools
                    .iter()
                    .map(|p| p[rng.below(p.len().min(12))].clone())
                    .collect()
            });
            // Instances in other states: one or two method calls first.
            let mut setup = Vec::new();
            if ctor.is_some() && !target.siblings.is_empty() && rng.below(2) == 0 {
                for _ in 0..=rng.below(2) {
                    let (method, params) = &target.siblings[rng.below(target.siblings.len())];
                    let key = format!("{}.{method}", target.path.join("."));
                    let args = params
                        .iter()
                        .enumerate()
                        .map(|(i, p)| match worked.get(&(key.clone(), i)) {
                            Some(g) if !g.is_empty() => g[rng.below(g.len())].clone(),
                            _ => {
                                let pool = pool(p, lits);
                                pool[rng.below(pool.len().min(8))].clone()
                            }
                        })
                        .collect();
                    setup.push(SetupCall {
                        method: method.clone(),
                        args,
                    });
                }
            }
            calls.push((args, ctor, setup));
        }
    }
    calls
        .into_iter()
        .map(|(args, ctor, setup)| {
            *next_id += 1;
            CallSpec {
                id: *next_id,
                path: target.path.clone(),
                args,
                ctor,
                method: target.method.clone(),
                setup,
            }
        })
        .collect()
}

/// A small change to a value that worked: a string with a character inserted, dropped or
/// replaced, or a module word appended; a number nudged.
fn mutate(v: &Value, lits: &Literals, rng: &mut Rng) -> Value {
    match v {
        Value::String(s) => {
            let mut chars: Vec<char> = s.chars().collect();
            let alphabet: Vec<char> = "a Z0.-_/ 9".chars().collect();
            match rng.below(4) {
                0 if !chars.is_empty() => {
                    chars.remove(rng.below(chars.len()));
                }
                1 => {
                    let at = rng.below(chars.len() + 1);
                    chars.insert(at, alphabet[rng.below(alphabet.len())]);
                }
                2 if !chars.is_empty() => {
                    let at = rng.below(chars.len());
                    chars[at] = alphabet[rng.below(alphabet.len())];
                }
                _ if !lits.strings.is_empty() => {
                    let w = &lits.strings[rng.below(lits.strings.len())];
                    chars.extend(w.chars().take(12));
                }
                _ => chars.push('x'),
            }
            json!(chars.into_iter().collect::<String>())
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            num([x + 1.0, x - 1.0, x * 2.0, -x, x / 2.0][rng.below(5)])
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
var s = 1000;
module.exports = function (val, options) {
  options = options || {};
  if (val.length > 100) { return; }
  switch (val) { case 'days': return 1; case "hrs": return 2; }
  return options.long ? 'long' : 'short';
};
"#;

    #[test]
    fn literals_give_strings_numbers_neighbours_and_options() {
        let lits = literals(SOURCE, false).unwrap();
        assert!(lits.strings.contains(&"days".to_owned()));
        assert!(lits.numbers.contains(&101.0) && lits.numbers.contains(&1000.0));
        assert!(lits.properties["options"].contains("long"));
        assert!(lits.statement_lines.contains(&5));
        let options = pool("options", &lits);
        assert!(options.contains(&json!({"$obj": {"long": true}})));
        let val = pool("val", &lits);
        assert!(
            val.contains(&json!("1days"))
                || val.contains(&json!("2days"))
                || val
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| s.ends_with("hrs")))
        );
    }

    #[test]
    fn round_zero_varies_one_argument_at_a_time() {
        let lits = literals(SOURCE, false).unwrap();
        let target = Target {
            path: vec!["default".into()],
            method: None,
            params: vec!["val".into(), "options".into()],
            ctor_params: vec![],
            siblings: vec![],
        };
        let mut id = 0;
        let calls = propose(
            &target,
            &lits,
            0,
            &mut Rng::new(1),
            &mut id,
            &Memory::default(),
            10,
        );
        assert!(calls.iter().any(|c| c.args.is_empty()));
        assert!(calls.iter().all(|c| c.args.len() < 2
            || c.args[1] == json!({"$obj": {}})
            || c.args[0] == calls[1].args[0]));
    }
}
