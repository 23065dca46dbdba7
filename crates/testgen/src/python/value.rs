//! Values observed by the harness (its typed JSON tree) and their Python source form.

use serde::Deserialize;

use super::expr::Expr;

/// One observed value, as `harness.py`'s `enc()` writes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Value {
    None,
    Bool {
        v: bool,
    },
    Int {
        v: String,
    },
    Float {
        v: String,
        #[serde(default)]
        special: bool,
    },
    Str {
        v: String,
    },
    Bytes {
        v: Vec<u8>,
    },
    List {
        items: Vec<Value>,
    },
    Tuple {
        items: Vec<Value>,
    },
    Set {
        items: Vec<Value>,
    },
    Frozenset {
        items: Vec<Value>,
    },
    Dict {
        items: Vec<(Value, Value)>,
    },
    Enum {
        cls: String,
        module: String,
        name: String,
    },
    Object {
        cls: String,
        module: String,
        attrs: std::collections::BTreeMap<String, Value>,
    },
    /// A value whose repr is source building an equal one: `datetime.date(2024, 1, 1)`.
    Repr {
        v: String,
        cls: String,
        module: String,
    },
    Opaque {
        cls: String,
        #[serde(default)]
        module: Option<String>,
        #[serde(default)]
        len: Option<u64>,
    },
}

/// What a repr-written value needs imported.
#[derive(Debug, Clone, PartialEq)]
pub enum Import {
    /// `import datetime`
    Module(String),
    /// `from fractions import Fraction` (or the name, from the module under test).
    Name(String, String),
}

/// How a value can be asserted in a test.
pub enum Check {
    /// `== literal`.
    Equal(Expr),
    /// `== pytest.approx(literal)`: a float, or a flat collection holding floats.
    Approx(Expr),
    /// `is None`, `is True`, `is False`.
    Is(&'static str),
    /// `math.isnan(...)`.
    IsNan,
}

impl Value {
    /// The exact assertion for this value, if one is deterministic and readable. `enum_ok` says
    /// whether an enum class is importable from the module under test.
    pub fn check(&self, importable: &dyn Fn(&str, &str) -> bool) -> Option<Check> {
        match self {
            Value::None => Some(Check::Is("None")),
            Value::Bool { v: true } => Some(Check::Is("True")),
            Value::Bool { v: false } => Some(Check::Is("False")),
            Value::Float { v, .. } if v == "nan" => Some(Check::IsNan),
            Value::Float { .. } => Some(Check::Approx(self.literal(importable)?)),
            Value::List { items } | Value::Tuple { items } if items.iter().any(Value::is_float) => {
                // pytest.approx compares flat sequences of numbers only.
                items
                    .iter()
                    .all(|i| matches!(i, Value::Int { .. } | Value::Float { .. }))
                    .then(|| self.literal(importable).map(Check::Approx))?
            }
            _ if self.contains_float() => None,
            _ => self.literal(importable).map(Check::Equal),
        }
    }

    fn is_float(&self) -> bool {
        matches!(self, Value::Float { .. })
    }

    fn contains_float(&self) -> bool {
        match self {
            Value::Float { .. } => true,
            Value::List { items }
            | Value::Tuple { items }
            | Value::Set { items }
            | Value::Frozenset { items } => items.iter().any(Value::contains_float),
            Value::Dict { items } => items
                .iter()
                .any(|(k, v)| k.contains_float() || v.contains_float()),
            _ => false,
        }
    }

    /// The Python literal, or `None` when the value has none (objects, opaque values, strings
    /// that look like memory addresses).
    pub fn literal(&self, importable: &dyn Fn(&str, &str) -> bool) -> Option<Expr> {
        Some(match self {
            Value::None => Expr::atom("None"),
            Value::Bool { v } => Expr::atom(if *v { "True" } else { "False" }),
            Value::Int { v } => Expr::atom(v.clone()),
            Value::Float { v, special } => {
                if *special {
                    Expr::atom(format!("float(\"{v}\")"))
                } else {
                    Expr::atom(v.clone())
                }
            }
            Value::Str { v } => {
                if looks_like_address(v) {
                    return None;
                }
                Expr::atom(python_str(v))
            }
            Value::Bytes { v } => Expr::atom(python_bytes(v)),
            Value::List { items } => Expr::List(lits(items, importable)?),
            Value::Tuple { items } => Expr::Tuple(lits(items, importable)?),
            Value::Set { items } if items.is_empty() => Expr::atom("set()"),
            Value::Set { items } => Expr::Set(lits(items, importable)?),
            Value::Frozenset { items } if items.is_empty() => Expr::atom("frozenset()"),
            Value::Frozenset { items } => {
                Expr::call("frozenset", vec![Expr::Set(lits(items, importable)?)])
            }
            Value::Dict { items } => Expr::Dict(
                items
                    .iter()
                    .map(|(k, v)| Some((k.literal(importable)?, v.literal(importable)?)))
                    .collect::<Option<Vec<_>>>()?,
            ),
            Value::Enum { cls, module, name } if importable(module, cls) => {
                Expr::atom(format!("{cls}.{name}"))
            }
            Value::Repr { v, .. } if !looks_like_address(v) => Expr::atom(black_repr(v)?),
            Value::Enum { .. }
            | Value::Object { .. }
            | Value::Opaque { .. }
            | Value::Repr { .. } => {
                return None;
            }
        })
    }

    /// The import a written value needs, for each repr-written value in it: `import
    /// datetime` for `datetime.date(…)`, else the class from its module.
    pub fn repr_imports(&self, out: &mut Vec<(String, Import)>) {
        match self {
            Value::Repr { v, cls, module } => {
                let top = module.split('.').next().unwrap_or(module);
                let import = if v.starts_with(&format!("{top}.")) {
                    Import::Module(top.to_owned())
                } else {
                    Import::Name(module.clone(), cls.clone())
                };
                out.push((black_repr(v).unwrap_or_else(|| v.clone()), import));
            }
            Value::List { items }
            | Value::Tuple { items }
            | Value::Set { items }
            | Value::Frozenset { items } => items.iter().for_each(|i| i.repr_imports(out)),
            Value::Dict { items } => items.iter().for_each(|(k, v)| {
                k.repr_imports(out);
                v.repr_imports(out);
            }),
            Value::Object { attrs, .. } => attrs.values().for_each(|a| a.repr_imports(out)),
            _ => {}
        }
    }

    /// A few words for a test name: `returns_3`, `returns_empty_list`, ...
    pub fn describe(&self) -> String {
        match self {
            Value::None => "none".into(),
            Value::Bool { v } => if *v { "true" } else { "false" }.into(),
            Value::Int { v } if v.len() <= 6 => v.replace('-', "minus_"),
            Value::Int { .. } => "large_int".into(),
            Value::Float { .. } => "float".into(),
            Value::Str { v } if v.is_empty() => "empty_string".into(),
            Value::Str { v } if v.len() <= 16 && is_word(v) => {
                format!("{}_string", v.to_lowercase())
            }
            Value::Str { .. } => "string".into(),
            Value::Bytes { .. } => "bytes".into(),
            Value::List { items } if items.is_empty() => "empty_list".into(),
            Value::List { items } => format!("list_of_{}", items.len()),
            Value::Tuple { items } => format!("tuple_of_{}", items.len()),
            Value::Set { items } | Value::Frozenset { items } if items.is_empty() => {
                "empty_set".into()
            }
            Value::Set { items } | Value::Frozenset { items } => format!("set_of_{}", items.len()),
            Value::Dict { items } if items.is_empty() => "empty_dict".into(),
            Value::Dict { items } => format!("dict_of_{}", items.len()),
            Value::Enum { name, .. } => crate::python::names::snake(name),
            Value::Object { cls, .. } | Value::Opaque { cls, .. } | Value::Repr { cls, .. } => {
                crate::python::names::snake(cls.rsplit('.').next().unwrap_or(cls))
            }
        }
    }
}

/// A repr as black writes it (double-quoted strings), or `None` when it is too long for
/// one line of an assertion or holds escapes: the atom is never split.
fn black_repr(repr: &str) -> Option<String> {
    let mut out = String::with_capacity(repr.len());
    let mut chars = repr.chars();
    while let Some(c) = chars.next() {
        match c {
            // A string literal without escapes, rewritten with the quotes black prefers.
            q @ ('\'' | '"') => {
                let mut body = String::new();
                loop {
                    match chars.next()? {
                        ch if ch == q => break,
                        '\\' => return None,
                        ch => body.push(ch),
                    }
                }
                out.push_str(&python_str(&body));
            }
            ch => out.push(ch),
        }
    }
    (out.chars().count() <= 60).then_some(out)
}

fn lits(items: &[Value], importable: &dyn Fn(&str, &str) -> bool) -> Option<Vec<Expr>> {
    items.iter().map(|i| i.literal(importable)).collect()
}

fn is_word(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Values that carry `0x7f3a…` addresses change from run to run.
pub fn looks_like_address(s: &str) -> bool {
    s.match_indices("0x").any(|(i, _)| {
        s[i + 2..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .count()
            >= 6
    })
}

/// A Python string literal as black writes it: double quotes unless that needs more escapes.
pub fn python_str(s: &str) -> String {
    let quote = if s.contains('"') && !s.contains('\'') {
        '\''
    } else {
        '"'
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_unprintable(c) => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Characters Python's `repr` escapes: controls, surrogates, separators and formats.
fn is_unprintable(c: char) -> bool {
    let n = c as u32;
    (0x80..0xa0).contains(&n)
        || n == 0xad
        || (0x2028..=0x202f).contains(&n)
        || (0x200b..=0x200f).contains(&n)
        || n == 0xfeff
        || (0xe000..=0xf8ff).contains(&n)
        || n >= 0xf0000
}

pub fn python_bytes(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'"') && !bytes.contains(&b'\'') {
        b'\''
    } else {
        b'"'
    };
    let mut out = String::from("b");
    out.push(quote as char);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b == quote => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote as char);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_black_and_python_read_them() {
        assert_eq!(python_str("plain"), "\"plain\"");
        assert_eq!(python_str("say \"hi\""), "'say \"hi\"'");
        assert_eq!(python_str("it's \"x\""), "\"it's \\\"x\\\"\"");
        assert_eq!(python_str("a\nb\\c\u{1}"), "\"a\\nb\\\\c\\x01\"");
        assert_eq!(python_bytes(b"a\x00\xff"), "b\"a\\x00\\xff\"");
    }

    #[test]
    fn memory_addresses_are_never_asserted() {
        assert!(looks_like_address("<Foo object at 0x7f3a2b1c4d50>"));
        assert!(!looks_like_address("0x10"));
        let v = Value::Str {
            v: "<Foo at 0x7f3a2b1c4d50>".into(),
        };
        assert!(v.literal(&|_, _| true).is_none());
    }

    #[test]
    fn reprs_are_written_with_black_quotes_or_not_at_all() {
        assert_eq!(
            black_repr("Item(name='ab', price=0)").as_deref(),
            Some("Item(name=\"ab\", price=0)")
        );
        assert_eq!(
            black_repr("Quote('say \"hi\"')").as_deref(),
            Some("Quote('say \"hi\"')")
        );
        assert_eq!(black_repr(r"Path('a\\b')"), None);
        assert_eq!(black_repr(&format!("Long('{}')", "x".repeat(80))), None);
    }
}
