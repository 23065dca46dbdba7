//! Proposing calls: argument values from type hints, defaults, parameter names and the
//! literals each body compares against, constructors for instances, and short method
//! sequences that put an instance in an interesting state first.

use serde::Serialize;

use super::signature::{Binding, ClassSig, FunctionSig, ModuleSig, Param, ParamKind};

/// One call for the harness to make. Argument strings are Python expressions evaluated in the
/// module's namespace, and the same text goes into the test.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallSpec {
    pub id: u32,
    pub target: String,
    /// The receiver's constructor arguments, for instance methods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctor: Option<Args>,
    /// Methods called on the receiver before the target, to reach other states.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<SetupCall>,
    pub args: Vec<String>,
    #[serde(serialize_with = "as_map")]
    pub kwargs: Vec<(String, String)>,
    /// The target is a property: read, not called.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub property: bool,
    /// The target is a generator: its items are collected with `list(...)`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub consume: bool,
    /// `sys.argv` during the call, for code that reads the command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Args {
    pub args: Vec<String>,
    #[serde(serialize_with = "as_map")]
    pub kwargs: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SetupCall {
    pub method: String,
    pub args: Vec<String>,
}

fn as_map<S: serde::Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl CallSpec {
    /// A rough size, to prefer the shorter of two tests that cover the same thing.
    pub fn size(&self) -> usize {
        let args = |a: &[String], k: &[(String, String)]| {
            a.iter().map(String::len).sum::<usize>()
                + k.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        };
        args(&self.args, &self.kwargs)
            + self.ctor.as_ref().map_or(0, |c| args(&c.args, &c.kwargs))
            + self
                .setup
                .iter()
                .map(|s| 8 + s.args.iter().map(String::len).sum::<usize>())
                .sum::<usize>()
    }
}

const GENERIC: &[&str] = &[
    "0",
    "1",
    "-1",
    "0.5",
    "0.25",
    "\"\"",
    "\"abc\"",
    "[]",
    "[1, 2, 3]",
    "None",
    "True",
    "2.5",
    "{}",
    // Shapes and sizes code that takes anything dispatches on or truncates: a one-element
    // tuple, non-empty mappings and sets, and values past the usual size limits.
    "(1,)",
    "{\"a\": 1, \"b\": [2]}",
    "{1, 2}",
    "list(range(12))",
    "\"abcdefghij\" * 5",
    "10**45",
];

/// Candidate values for one parameter, most typical first.
pub fn pool(param: &Param, literals: &[String], module: &ModuleSig, depth: u8) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let hint = param.annotation.as_deref().map(normalise);
    let declared = hint
        .as_deref()
        .map(Kind::of)
        .or_else(|| param.default.as_deref().and_then(Kind::of_default));
    // A guess from the name alone (`s` for a string) leads, but plain values of other
    // kinds follow: `s` is a saturation in colorsys.
    let guessed = declared.is_none();
    let kind = declared.unwrap_or_else(|| Kind::of_name(&param.name));
    // A default is worth trying as an explicit argument when it is a plain value; `field(...)`,
    // `object()` and other calls are not.
    if let Some(default) = &param.default
        && !default.contains('(')
    {
        out.push(default.clone());
    }
    match &kind {
        Kind::Optional(inner) => {
            out.push("None".into());
            out.extend(values_of(inner, literals, module, depth));
        }
        other => out.extend(values_of(other, literals, module, depth)),
    }
    if guessed && kind != Kind::Any {
        out.extend(GENERIC.iter().map(|s| s.to_string()));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|v| seen.insert(v.clone()));
    out.truncate(24);
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Int,
    Float,
    Str,
    Bool,
    Bytes,
    List(Box<Kind>),
    Tuple,
    Set,
    Dict,
    Optional(Box<Kind>),
    Class(String),
    Any,
}

impl Kind {
    fn of(hint: &str) -> Kind {
        let hint = hint.trim();
        if let Some(inner) = hint
            .strip_prefix("Optional[")
            .and_then(|h| h.strip_suffix(']'))
        {
            return Kind::Optional(Box::new(Kind::of(inner)));
        }
        if let Some(rest) = hint
            .strip_suffix("| None")
            .or_else(|| hint.strip_prefix("None |"))
        {
            return Kind::Optional(Box::new(Kind::of(rest)));
        }
        let (head, inner) = match hint.split_once('[') {
            Some((h, i)) => (h, i.strip_suffix(']').unwrap_or(i)),
            None => (hint, ""),
        };
        match head {
            "int" => Kind::Int,
            "float" | "Real" | "Number" => Kind::Float,
            "str" => Kind::Str,
            "bool" => Kind::Bool,
            "bytes" | "bytearray" => Kind::Bytes,
            "list" | "List" | "Sequence" | "Iterable" | "Collection" | "MutableSequence"
            | "Iterator" => Kind::List(Box::new(if inner.is_empty() {
                Kind::Any
            } else {
                Kind::of(inner)
            })),
            "tuple" | "Tuple" => Kind::Tuple,
            "set" | "Set" | "frozenset" | "FrozenSet" | "AbstractSet" => Kind::Set,
            "dict" | "Dict" | "Mapping" | "MutableMapping" => Kind::Dict,
            "Union" => {
                let first = inner.split(',').next().unwrap_or("");
                if inner.contains("None") {
                    Kind::Optional(Box::new(Kind::of(first)))
                } else {
                    Kind::of(first)
                }
            }
            h if h.chars().next().is_some_and(char::is_uppercase)
                && inner.is_empty()
                && h != "Any" =>
            {
                Kind::Class(h.to_owned())
            }
            _ => Kind::Any,
        }
    }

    fn of_default(default: &str) -> Option<Kind> {
        let d = default.trim();
        Some(if d == "True" || d == "False" {
            Kind::Bool
        } else if d.parse::<i64>().is_ok() {
            Kind::Int
        } else if d.parse::<f64>().is_ok() {
            Kind::Float
        } else if d.starts_with(['"', '\'']) {
            Kind::Str
        } else if d.starts_with('[') {
            Kind::List(Box::new(Kind::Any))
        } else if d.starts_with('{') {
            Kind::Dict
        } else if d.starts_with('(') {
            Kind::Tuple
        } else {
            return None;
        })
    }

    /// Parameter names say a lot when there is no hint: `n`, `text`, `items`, `is_x`.
    fn of_name(name: &str) -> Kind {
        let n = name.to_lowercase();
        let ends = |s: &[&str]| s.iter().any(|x| n == *x || n.ends_with(&format!("_{x}")));
        if n.starts_with("is_")
            || n.starts_with("has_")
            || ends(&["flag", "strict", "enabled", "verbose"])
        {
            Kind::Bool
        } else if ends(&[
            "n", "i", "j", "k", "count", "size", "index", "idx", "num", "number", "length",
            "width", "height", "depth", "level", "limit", "start", "end", "pos", "offset", "year",
            "month", "day", "port", "x", "y",
        ]) {
            Kind::Int
        } else if ends(&[
            "s",
            "text",
            "name",
            "string",
            "word",
            "prefix",
            "suffix",
            "sep",
            "line",
            "path",
            "key",
            "char",
            "pattern",
            "value_str",
            "label",
            "title",
            "msg",
            "message",
            "fmt",
            "encoding",
            "template",
            "source",
            "src",
            "url",
            "query",
            "expr",
            "expression",
            "content",
            "input",
            "sval",
            "pat",
            "spec",
            "format_string",
            "field_name",
        ]) {
            Kind::Str
        } else if ends(&[
            "items", "values", "lst", "seq", "xs", "elements", "data", "args", "lines", "words",
            "list", "numbers",
        ]) {
            Kind::List(Box::new(Kind::Any))
        } else if ends(&[
            "mapping", "dict", "kwargs", "options", "config", "headers", "params",
        ]) {
            Kind::Dict
        } else if ends(&[
            "rate",
            "ratio",
            "factor",
            "weight",
            "amount",
            "price",
            "score",
            "alpha",
            "threshold",
        ]) {
            Kind::Float
        } else {
            Kind::Any
        }
    }
}

fn values_of(kind: &Kind, literals: &[String], module: &ModuleSig, depth: u8) -> Vec<String> {
    let ints = || {
        literals
            .iter()
            .filter(|l| l.parse::<i64>().is_ok())
            .cloned()
    };
    let floats = || {
        literals
            .iter()
            .filter(|l| l.contains('.') && l.parse::<f64>().is_ok())
            .cloned()
    };
    let strs = || {
        literals
            .iter()
            .filter(|l| l.starts_with(['"', '\'']))
            .cloned()
    };
    let mut v: Vec<String> = Vec::new();
    match kind {
        Kind::Int => {
            v.extend(["0", "1", "-1", "2"].map(String::from));
            v.extend(ints());
            v.extend(["10", "100"].map(String::from));
            // A float where an int belongs reaches the type checks (`isinstance(n, int)`).
            v.push("2.5".into());
        }
        Kind::Float => {
            v.extend(["0.0", "1.5", "-2.5"].map(String::from));
            v.extend(floats());
            v.extend(ints().map(|i| format!("{i}.0")));
            v.extend(["0.125", "3.14159", "1e-09"].map(String::from));
        }
        Kind::Str => {
            v.extend(["\"\"", "\"abc\""].map(String::from));
            v.extend(strs());
            v.extend(["\"Hello World\"", "\" \"", "\"a,b\"", "\"123\""].map(String::from));
            // Separators the body splits or joins on (`"/"`, `"."`): strings made of them.
            for sep in strs().filter(|l| l.chars().count() == 3) {
                let c = &sep[1..sep.len() - 1];
                if c != "\\" && c != "\"" && c != "'" {
                    v.push(format!("\"a{c}b{c}c\""));
                    v.push(format!("\"{c}x{c}y{c}\""));
                }
            }
        }
        Kind::Bool => v.extend(["True", "False"].map(String::from)),
        Kind::Bytes => v.extend(["b\"\"", "b\"abc\"", "b\"\\x00\\xff\""].map(String::from)),
        Kind::List(inner) => {
            v.push("[]".into());
            let items = match inner.as_ref() {
                Kind::Any => vec![
                    "[3, 1, 2]".into(),
                    "[\"b\", \"a\"]".into(),
                    "[0]".into(),
                    "[1, 1, 2]".into(),
                ],
                k => {
                    let vals = values_of(k, literals, module, depth + 1);
                    let picks: Vec<&String> = vals
                        .iter()
                        .filter(|x| x.as_str() != "None")
                        .take(3)
                        .collect();
                    let mut lists = Vec::new();
                    if let Some(first) = picks.first() {
                        lists.push(format!("[{first}]"));
                    }
                    if picks.len() >= 2 {
                        let rev: Vec<&str> = picks.iter().rev().map(|s| s.as_str()).collect();
                        lists.push(format!("[{}]", rev.join(", ")));
                    }
                    lists
                }
            };
            v.extend(items);
        }
        Kind::Tuple => v.extend(["()", "(1, 2)", "(\"a\", 1)"].map(String::from)),
        Kind::Set => v.extend(["set()", "{1, 2}"].map(String::from)),
        Kind::Dict => v.extend(["{}", "{\"a\": 1}", "{\"a\": 1, \"b\": 2}"].map(String::from)),
        Kind::Optional(inner) => {
            v.push("None".into());
            v.extend(values_of(inner, literals, module, depth));
        }
        Kind::Class(name) => match module.classes.get(name) {
            Some(class) if !class.members.is_empty() => v.extend(class.members.iter().cloned()),
            Some(class) if depth < 2 => v.extend(constructors(class, module, depth + 1)),
            Some(_) => {}
            // A type variable (`K`) or a class from elsewhere: plain values may fit it.
            None => v.extend(values_of(&Kind::Any, literals, module, depth)),
        },
        Kind::Any => {
            v.extend(GENERIC.iter().map(|s| s.to_string()));
            v.extend(literals.iter().take(8).cloned());
        }
    }
    v
}

pub fn normalise(hint: &str) -> String {
    hint.trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .replace("typing.", "")
        .replace("collections.abc.", "")
}

fn is_exception(class: &ClassSig) -> bool {
    class
        .bases
        .iter()
        .any(|b| b.ends_with("Exception") || b.ends_with("Error"))
}

fn is_abstract(class: &ClassSig) -> bool {
    class
        .bases
        .iter()
        .any(|b| b == "ABC" || b.contains("ABCMeta") || b == "Protocol")
}

/// Constructor calls for a class: required arguments at their typical values, then variants.
pub fn constructors(class: &ClassSig, module: &ModuleSig, depth: u8) -> Vec<String> {
    ctor_args(class, module, depth)
        .into_iter()
        .map(|a| {
            let mut parts = a.args.clone();
            parts.extend(a.kwargs.iter().map(|(k, v)| format!("{k}={v}")));
            format!("{}({})", class.name, parts.join(", "))
        })
        .collect()
}

pub fn ctor_args(class: &ClassSig, module: &ModuleSig, depth: u8) -> Vec<Args> {
    if is_exception(class) || is_abstract(class) || class.bases.iter().any(|b| b.contains("Enum")) {
        return Vec::new();
    }
    let required: Vec<&Param> = class
        .init
        .iter()
        .filter(|p| {
            p.default.is_none() && matches!(p.kind, ParamKind::Positional | ParamKind::KeywordOnly)
        })
        .collect();
    // Once an optional parameter is skipped, later ones must be passed by name.
    let first_skipped = class
        .init
        .iter()
        .position(|p| p.default.is_some())
        .unwrap_or(usize::MAX);
    let by_name = |p: &Param| {
        !p.positional_only
            && (p.kind == ParamKind::KeywordOnly
                || class
                    .init
                    .iter()
                    .position(|q| q.name == p.name)
                    .unwrap_or(0)
                    > first_skipped)
    };

    let pools: Vec<Vec<String>> = required
        .iter()
        .map(|p| pool(p, &class.literals, module, depth))
        .collect();
    let mut out = Vec::new();
    for variant in 0..3 {
        let mut args = Args::default();
        for (p, values) in required.iter().zip(&pools) {
            // Variant 0 takes the most typical value; the others a non-empty, non-zero one.
            let pick = values
                .iter()
                .filter(|v| {
                    variant == 0
                        || !matches!(v.as_str(), "0" | "\"\"" | "[]" | "{}" | "None" | "0.0")
                })
                .nth(variant.min(1) + variant / 2)
                .or(values.first());
            let Some(value) = pick else { return out };
            if by_name(p) {
                args.kwargs.push((p.name.clone(), value.clone()));
            } else {
                args.args.push(value.clone());
            }
        }
        if !out.contains(&args) {
            out.push(args);
        }
        if required.is_empty() {
            break;
        }
    }
    // One more with the optional parameters away from their defaults (`quantity=2`), so that
    // methods reading them see something other than the default.
    if let Some(base) = out.get(1).or(out.first()).cloned() {
        let mut args = base;
        for p in class.init.iter().filter(|p| {
            p.default.is_some() && matches!(p.kind, ParamKind::Positional | ParamKind::KeywordOnly)
        }) {
            let values = pool(p, &class.literals, module, depth);
            if let Some(v) = values.iter().find(|v| {
                Some(*v) != p.default.as_ref()
                    && !matches!(
                        v.as_str(),
                        "0" | "\"\"" | "[]" | "{}" | "None" | "0.0" | "1" | "False"
                    )
            }) {
                args.kwargs.push((p.name.clone(), v.clone()));
            }
        }
        if !out.contains(&args) {
            out.push(args);
        }
    }
    out
}

/// A small deterministic PRNG (xorshift): the same module gets the same tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Strings shaped like the input of a parser of this module: numbers followed by its short
/// words (`"2 days"`, `"1.5h"`) and numbers joined by its one-character separators
/// (`"1:24"`, `":22"`, `"1:02:03"`), as Python expressions.
fn shaped_strings(literals: &[String]) -> Vec<String> {
    let contents: Vec<&str> = literals
        .iter()
        .filter(|l| l.starts_with('"') && l.len() >= 3 && !l.contains('\\'))
        .map(|l| &l[1..l.len() - 1])
        .collect();
    let mut words: Vec<&str> = contents
        .iter()
        .copied()
        .filter(|c| c.len() <= 10 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
        .collect();
    words.sort();
    words.dedup();
    let mut seps: Vec<&str> = contents
        .iter()
        .copied()
        .filter(|c| c.len() == 1 && c.chars().all(|ch| ch.is_ascii_punctuation()))
        .collect();
    seps.sort();
    seps.dedup();
    let mut out = Vec::new();
    for (i, w) in words.iter().take(16).enumerate() {
        let n = ["1", "2", "1.5", "10"][i % 4];
        let sep = if i % 2 == 0 { "" } else { " " };
        out.push(format!("{n}{sep}{w}"));
    }
    // Brackets the module reads, around content built from its other tokens: "[abc]",
    // "[!a-c]", "(x)", "{0}".
    let tokens: Vec<&str> = contents
        .iter()
        .copied()
        .filter(|c| !c.is_empty() && c.chars().count() <= 2)
        .collect();
    for (open, close) in [("[", "]"), ("(", ")"), ("{", "}"), ("<", ">")] {
        if !(contents.contains(&open) && contents.contains(&close)) {
            continue;
        }
        out.push(format!("{open}{close}"));
        out.push(format!("{open}abc{close}"));
        out.push(format!("x{open}0{close}y"));
        for t in tokens
            .iter()
            .filter(|t| **t != open && **t != close)
            .take(8)
        {
            out.push(format!("{open}{t}a{close}"));
            out.push(format!("{open}a{t}c{close}"));
            out.push(format!("{open}{t}a{t}c{close}"));
        }
    }
    for p in seps.iter().take(5) {
        out.push(format!("1{p}24"));
        out.push(format!("{p}22"));
        out.push(format!("1{p}02{p}03"));
        out.push(format!("2{p}10{p}30{p}45"));
    }
    out.iter().map(|s| super::value::python_str(s)).collect()
}

/// One to five of the module's string tokens run together, as a Python string.
fn token_string(tokens: &[String], rng: &mut Rng) -> String {
    let n = 1 + rng.below(5);
    let text: String = (0..n)
        .map(|_| tokens[rng.below(tokens.len())].as_str())
        .collect();
    super::value::python_str(&text)
}

/// The contents of short, escape-free string literals, plus a few letters and digits.
fn string_tokens(literals: &[String]) -> Vec<String> {
    let mut out: Vec<String> = literals
        .iter()
        .filter(|l| l.starts_with('"') && !l.contains('\\') && l.len() >= 3)
        .map(|l| l[1..l.len() - 1].to_owned())
        .filter(|t| t.chars().count() <= 6)
        .collect();
    if out.is_empty() {
        return out;
    }
    out.extend(["a", "b", "Z", "0", "x"].map(String::from));
    out.sort();
    out.dedup();
    out
}

/// Values that gave a result without an exception, by (target, parameter name).
pub type Worked = std::collections::HashMap<(String, String), Vec<String>>;

/// What exploration learnt so far: the arguments that worked, and the strings and numbers
/// the module returned (as Python expressions), which later rounds try as inputs: a
/// parser's output fed to its formatter, a function's result fed to its inverse.
#[derive(Debug, Default)]
pub struct Memory {
    pub worked: Worked,
    pub returned: Vec<String>,
}

impl Memory {
    pub fn record_returned(&mut self, value: &super::value::Value) {
        use super::value::Value as V;
        let usable = match value {
            V::Str { v } => v.chars().count() <= 40,
            V::Int { v } => v.len() <= 12,
            V::Float { special, .. } => !special,
            _ => false,
        };
        if !usable || self.returned.len() >= 200 {
            return;
        }
        if let Some(e) = value.literal(&|_, _| false) {
            let text = e.inline();
            if !self.returned.contains(&text) {
                self.returned.push(text);
            }
        }
    }
}

/// A worked string changed a little: a character dropped, inserted, replaced or doubled, or
/// a module token appended (the neighbours of inputs that reached deep branches).
fn mutate_string(expr: &str, tokens: &[String], rng: &mut Rng) -> Option<String> {
    let inner = expr.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        return None;
    }
    let mut chars: Vec<char> = inner.chars().collect();
    let pick = |rng: &mut Rng| -> String {
        if tokens.is_empty() {
            "a".into()
        } else {
            tokens[rng.below(tokens.len())].clone()
        }
    };
    match rng.below(5) {
        0 if !chars.is_empty() => {
            chars.remove(rng.below(chars.len()));
        }
        1 => {
            let at = rng.below(chars.len() + 1);
            for (i, c) in pick(rng).chars().enumerate() {
                chars.insert(at + i, c);
            }
        }
        2 if !chars.is_empty() => {
            let at = rng.below(chars.len());
            let t: Vec<char> = pick(rng).chars().collect();
            chars.splice(at..at + 1, t);
        }
        3 if !chars.is_empty() => {
            let at = rng.below(chars.len());
            chars.insert(at, chars[at]);
        }
        _ => chars.extend(pick(rng).chars()),
    }
    let text: String = chars.into_iter().collect();
    Some(super::value::python_str(&text))
}

/// Records the arguments of a call that returned normally, and of its receiver's
/// constructor (under `Class.__init__`).
pub fn record_worked(worked: &mut Worked, spec: &CallSpec, f: &FunctionSig, module: &ModuleSig) {
    record_args(worked, &f.qualified, &f.params, &spec.args, &spec.kwargs);
    if let (Some(ctor), Some(class)) = (
        &spec.ctor,
        f.class.as_ref().and_then(|c| module.classes.get(c)),
    ) {
        let key = format!("{}.__init__", class.name);
        record_args(worked, &key, &class.init, &ctor.args, &ctor.kwargs);
    }
}

fn record_args(
    worked: &mut Worked,
    target: &str,
    params: &[Param],
    args: &[String],
    kwargs: &[(String, String)],
) {
    let positional = params.iter().filter(|p| p.kind == ParamKind::Positional);
    let named = positional
        .map(|p| &p.name)
        .zip(args)
        .chain(kwargs.iter().map(|(k, v)| (k, v)));
    for (name, value) in named {
        let entry = worked.entry((target.to_owned(), name.clone())).or_default();
        if !entry.contains(value) && entry.len() < 12 {
            entry.push(value.clone());
        }
    }
}

/// What [`random_ctor`] draws strings from, worked out once per class and round.
struct CtorStrings {
    literals: Vec<String>,
    tokens: Vec<String>,
    shaped: Vec<String>,
}

impl CtorStrings {
    fn of(class: &ClassSig, module: &ModuleSig) -> CtorStrings {
        let literals: Vec<String> = class
            .literals
            .iter()
            .chain(module.literals.iter().take(20))
            .cloned()
            .collect();
        CtorStrings {
            tokens: string_tokens(&literals),
            shaped: shaped_strings(&literals),
            literals,
        }
    }
}

/// A constructor call with every parameter drawn at random (an optional one half the time),
/// from the class's literals, strings shaped from them and arguments that worked before:
/// what a method does often depends on its receiver's state (`Template("$who")`,
/// `shlex("a 'b c'", posix=True)`), which the typical constructors never reach.
fn random_ctor(
    class: &ClassSig,
    module: &ModuleSig,
    strings: &CtorStrings,
    memory: &Memory,
    rng: &mut Rng,
) -> Args {
    let CtorStrings {
        literals,
        tokens,
        shaped,
    } = strings;
    let key = format!("{}.__init__", class.name);
    let mut args = Args::default();
    let mut by_name = false;
    for p in &class.init {
        if !matches!(p.kind, ParamKind::Positional | ParamKind::KeywordOnly) {
            continue;
        }
        if p.default.is_some() && rng.below(2) == 0 {
            by_name = true;
            continue;
        }
        let mut values = pool(p, literals, module, 1);
        if values.iter().any(|v| v.starts_with('"')) {
            values.extend(shaped.iter().cloned());
            if !tokens.is_empty() {
                values.extend((0..6).map(|_| token_string(tokens, rng)));
            }
        }
        if let Some(good) = memory.worked.get(&(key.clone(), p.name.clone())) {
            for g in good {
                values.push(g.clone());
                values.push(g.clone());
                if g.starts_with('"')
                    && let Some(m) = mutate_string(g, tokens, rng)
                {
                    values.push(m);
                }
            }
        }
        if values.is_empty() {
            by_name = true;
            continue;
        }
        let v = values[rng.below(values.len())].clone();
        if p.kind == ParamKind::KeywordOnly || (by_name && !p.positional_only) {
            args.kwargs.push((p.name.clone(), v));
        } else {
            args.args.push(v);
        }
    }
    args
}

/// The calls of one round. Round 0 varies one parameter at a time around a typical call (the
/// boundaries); later rounds draw every parameter at random.
pub fn propose(
    f: &FunctionSig,
    module: &ModuleSig,
    round: u32,
    rng: &mut Rng,
    next_id: &mut u32,
    per_round: usize,
    memory: &Memory,
) -> Vec<CallSpec> {
    let worked = &memory.worked;
    let params: Vec<&Param> = f.params.iter().collect();
    let literals: Vec<String> = f
        .literals
        .iter()
        .chain(
            f.class
                .as_ref()
                .and_then(|c| module.classes.get(c))
                .map(|c| &c.literals)
                .into_iter()
                .flatten(),
        )
        .chain(module.literals.iter().take(20))
        .cloned()
        .collect();
    let mut pools: Vec<Vec<String>> = params
        .iter()
        .map(|p| pool(p, &literals, module, 0))
        .collect();
    // Parsers read numbers with the module's words and separators: "2 days", "1:24".
    let shaped = shaped_strings(
        &literals
            .iter()
            .chain(&module.literals)
            .cloned()
            .collect::<Vec<_>>(),
    );
    for values in pools.iter_mut() {
        if values.iter().any(|v| v.starts_with('"')) {
            for s in &shaped {
                if !values.contains(s) {
                    values.push(s.clone());
                }
            }
        }
    }
    // Random rounds also try strings assembled from the short string literals the body uses
    // (`"["`, `"!"`, `"*"`, `"&"`, `";"`): patterns and escapes the parser under test reads.
    if round > 0 {
        let all: Vec<String> = literals.iter().chain(&module.literals).cloned().collect();
        let tokens = string_tokens(&all);
        if !tokens.is_empty() {
            for values in pools.iter_mut() {
                if values.iter().any(|v| v.starts_with('"')) {
                    let mut made: Vec<String> =
                        (0..8).map(|_| token_string(&tokens, rng)).collect();
                    made.append(values);
                    *values = made;
                }
            }
        }
    }
    // Random rounds favour values that worked (no exception) for that parameter before:
    // an untyped `h` that took 0.5 likely wants numbers, not strings. From the second,
    // worked strings are also varied a little, and values the module returned are tried
    // where values of their type are.
    if round > 0 {
        let all: Vec<String> = literals.iter().chain(&module.literals).cloned().collect();
        let tokens = string_tokens(&all);
        for (p, values) in params.iter().zip(pools.iter_mut()) {
            let takes_str = values.iter().any(|v| v.starts_with('"'));
            let takes_num = values.iter().any(|v| v.parse::<f64>().is_ok());
            let mut weighted: Vec<String> = Vec::new();
            if let Some(good) = worked.get(&(f.qualified.clone(), p.name.clone())) {
                weighted.extend(good.iter().chain(good.iter()).cloned());
                if round >= 2 && takes_str {
                    for _ in 0..6 {
                        let g = &good[rng.below(good.len())];
                        if let Some(m) = mutate_string(g, &tokens, rng) {
                            weighted.push(m);
                        }
                    }
                }
            }
            let returned: Vec<&String> = memory
                .returned
                .iter()
                .filter(|r| {
                    (takes_str && r.starts_with('"')) || (takes_num && r.parse::<f64>().is_ok())
                })
                .collect();
            for _ in 0..returned.len().min(4) {
                weighted.push(returned[rng.below(returned.len())].clone());
            }
            weighted.append(values);
            *values = weighted;
        }
    }
    let required_without_values = params.iter().zip(&pools).any(|(p, values)| {
        p.default.is_none()
            && matches!(p.kind, ParamKind::Positional | ParamKind::KeywordOnly)
            && values.is_empty()
    });
    if required_without_values {
        return Vec::new();
    }
    let class = f.class.as_ref().and_then(|c| module.classes.get(c));
    let ctors: Vec<Args> = match (f.binding, class) {
        (Binding::Method | Binding::Property, Some(class)) => {
            let c = ctor_args(class, module, 0);
            if c.is_empty() {
                return Vec::new();
            }
            c
        }
        (Binding::Method | Binding::Property, None) => return Vec::new(),
        _ => Vec::new(),
    };
    let setups = setup_calls(f, module);
    // Names for `**kwargs`: the identifiers among the body's strings (keys it looks up),
    // then `a` and `b` (what a mapping in the pools uses), never a named parameter's.
    let mut kw_names: Vec<String> = f
        .literals
        .iter()
        .filter_map(|l| l.strip_prefix('"')?.strip_suffix('"'))
        .filter(|t| {
            t.len() <= 12
                && t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !super::names::is_keyword(t)
        })
        .map(String::from)
        .chain(["a", "b"].map(String::from))
        .filter(|n| !params.iter().any(|p| p.name == *n))
        .collect();
    let mut seen = std::collections::HashSet::new();
    kw_names.retain(|n| seen.insert(n.clone()));
    // A `**kwargs` pool holds `key=value` pairs: every key with the first values, so the
    // key the body looks up is always tried.
    for (p, values) in params.iter().zip(pools.iter_mut()) {
        if p.kind == ParamKind::VarKeywords {
            *values = kw_names
                .iter()
                .flat_map(|k| values.iter().take(8).map(move |v| format!("{k}={v}")))
                .collect();
        }
    }

    let mut out = Vec::new();
    let push = |choice: &[Option<usize>],
                ctor: Option<Args>,
                setup: Vec<SetupCall>,
                out: &mut Vec<CallSpec>| {
        let mut spec = CallSpec {
            id: 0,
            target: f.qualified.clone(),
            ctor,
            setup,
            args: Vec::new(),
            kwargs: Vec::new(),
            property: f.binding == Binding::Property,
            consume: f.is_generator,
            argv: None,
        };
        let mut positional_ok = true;
        for ((p, values), pick) in params.iter().zip(&pools).zip(choice) {
            let value = match pick {
                Some(i) => values.get(*i).cloned(),
                None => None,
            };
            match (p.kind, value) {
                (ParamKind::VarKeywords, Some(pair)) => {
                    if let Some((k, v)) = pair.split_once('=') {
                        spec.kwargs.push((k.to_owned(), v.to_owned()));
                    }
                }
                (ParamKind::VarKeywords, None) => {}
                (ParamKind::VarArgs, Some(v)) => {
                    if positional_ok {
                        spec.args.push(v);
                    }
                }
                (ParamKind::VarArgs, None) => {}
                (ParamKind::Positional, Some(v)) if p.positional_only => {
                    if positional_ok {
                        spec.args.push(v);
                    }
                }
                (ParamKind::Positional, Some(v)) if positional_ok && p.default.is_none() => {
                    spec.args.push(v)
                }
                (ParamKind::Positional | ParamKind::KeywordOnly, Some(v)) => {
                    positional_ok = false;
                    spec.kwargs.push((p.name.clone(), v));
                }
                (_, None) => positional_ok = false,
            }
        }
        if !out.contains(&spec) {
            out.push(spec);
        }
    };

    // Required parameters always get a value; optional ones may be left to their default.
    let base: Vec<Option<usize>> = params
        .iter()
        .map(|p| {
            if p.default.is_none()
                && matches!(p.kind, ParamKind::Positional | ParamKind::KeywordOnly)
            {
                Some(0)
            } else {
                None
            }
        })
        .collect();
    let ctor_at = |i: usize| (!ctors.is_empty()).then(|| ctors[i % ctors.len()].clone());
    let ctor_strings = class
        .filter(|_| round > 0 && !ctors.is_empty())
        .map(|c| CtorStrings::of(c, module));
    if round == 0 {
        push(&base, ctor_at(0), Vec::new(), &mut out);
        for (i, values) in pools.iter().enumerate() {
            for v in 0..values.len() {
                let mut choice = base.clone();
                choice[i] = Some(v);
                push(&choice, ctor_at(0), Vec::new(), &mut out);
            }
        }
        for c in 1..ctors.len() {
            push(&base, ctor_at(c), Vec::new(), &mut out);
        }
        for setup in &setups {
            push(&base, ctor_at(0), setup.clone(), &mut out);
        }
    } else {
        for _ in 0..per_round * 3 {
            if out.len() >= per_round {
                break;
            }
            let choice: Vec<Option<usize>> = params
                .iter()
                .zip(&pools)
                .zip(&base)
                .map(|((_, values), b)| {
                    if b.is_none() && rng.below(3) == 0 {
                        None
                    } else {
                        Some(rng.below(values.len()))
                    }
                })
                .collect();
            let setup = if setups.is_empty() || rng.below(2) == 0 {
                Vec::new()
            } else {
                let a = setups[rng.below(setups.len())].clone();
                let mut s = a;
                if rng.below(2) == 0 {
                    s.extend(setups[rng.below(setups.len())].clone());
                }
                s
            };
            let ctor = match (class, &ctor_strings) {
                (Some(class), Some(strings)) if rng.below(2) == 0 => {
                    Some(random_ctor(class, module, strings, memory, rng))
                }
                _ => ctor_at(rng.below(ctors.len().max(1))),
            };
            push(&choice, ctor, setup, &mut out);
        }
    }
    out.truncate(per_round.max(1) * if round == 0 { 3 } else { 1 });
    if f.reads_argv {
        let lines = command_lines(module, memory, round, rng);
        let plain: Vec<CallSpec> = out.iter().take(3).cloned().collect();
        let mut with_argv: Vec<CallSpec> = Vec::new();
        for argv in lines {
            for spec in &plain {
                with_argv.push(CallSpec {
                    argv: Some(argv.clone()),
                    ..spec.clone()
                });
            }
        }
        with_argv.append(&mut out);
        out = with_argv;
    }
    for spec in &mut out {
        spec.id = *next_id;
        *next_id += 1;
    }
    out
}

/// Command lines for code that reads `sys.argv`: the module's option strings (`-r`,
/// `--reverse`) with words from its literals and from values it returned (`XII` from
/// `toRoman` fed to `roman -r`). Round 0 tries each word alone and after each option;
/// later rounds draw a few at random.
fn command_lines(
    module: &ModuleSig,
    memory: &Memory,
    round: u32,
    rng: &mut Rng,
) -> Vec<Vec<String>> {
    let contents = |l: &String| -> Option<String> {
        let inner = l.strip_prefix('"')?.strip_suffix('"')?;
        (!inner.is_empty() && inner.len() <= 16 && !inner.contains([' ', '\\', '%']))
            .then(|| inner.to_owned())
    };
    let options: Vec<String> = module
        .literals
        .iter()
        .filter_map(contents)
        .filter(|c| {
            c.starts_with('-')
                && c.len() >= 2
                && !c[1..].starts_with(|ch: char| ch.is_ascii_digit())
        })
        .take(6)
        .collect();
    let mut words: Vec<String> = ["1", "12", "abc"].map(String::from).to_vec();
    words.extend(
        memory
            .returned
            .iter()
            .filter_map(|r| contents(r).or_else(|| r.parse::<i64>().ok().map(|i| i.to_string())))
            .take(8),
    );
    words.extend(
        module
            .literals
            .iter()
            .filter_map(contents)
            .filter(|c| !c.starts_with('-'))
            .take(8),
    );
    words.dedup();
    let prog = "prog".to_owned();
    let mut out = vec![vec![prog.clone()]];
    if round == 0 {
        for w in words.iter().take(8) {
            out.push(vec![prog.clone(), w.clone()]);
            for o in &options {
                out.push(vec![prog.clone(), o.clone(), w.clone()]);
            }
        }
    } else {
        out.clear();
        for _ in 0..4 {
            let mut line = vec![prog.clone()];
            if !options.is_empty() && rng.below(2) == 0 {
                line.push(options[rng.below(options.len())].clone());
            }
            line.push(words[rng.below(words.len())].clone());
            out.push(line);
        }
    }
    out
}

/// One-call setups: each other mutating-looking method of the class with typical arguments.
fn setup_calls(f: &FunctionSig, module: &ModuleSig) -> Vec<Vec<SetupCall>> {
    let Some(class) = &f.class else {
        return Vec::new();
    };
    if !matches!(f.binding, Binding::Method | Binding::Property) {
        return Vec::new();
    }
    module
        .functions
        .iter()
        .filter(|g| g.class.as_ref() == Some(class) && g.binding == Binding::Method)
        .filter(|g| {
            let name = g.qualified.rsplit('.').next().unwrap_or("");
            !name.starts_with('_')
        })
        .take(6)
        .map(|g| {
            let args = g
                .params
                .iter()
                .filter(|p| p.default.is_none() && p.kind == ParamKind::Positional)
                .map(|p| {
                    let values = pool(p, &g.literals, module, 1);
                    values
                        .iter()
                        .find(|v| !matches!(v.as_str(), "None" | "\"\"" | "[]" | "{}"))
                        .or(values.first())
                        .cloned()
                        .unwrap_or_else(|| "None".into())
                })
                .collect();
            vec![SetupCall {
                method: g.qualified.rsplit('.').next().unwrap_or("").to_owned(),
                args,
            }]
        })
        .collect()
}
