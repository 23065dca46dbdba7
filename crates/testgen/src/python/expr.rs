//! Python expressions as the generated tests write them, laid out the way black does: on one
//! line when it fits in 88 columns, otherwise split at the right-most bracket, call arguments on
//! one indented line when they fit, collections one item per line with a trailing comma.

pub const LINE: usize = 88;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Atom(String),
    Call(String, Vec<Expr>),
    /// `name=value` inside a call.
    Keyword(String, Box<Expr>),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Set(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
}

impl Expr {
    pub fn atom(text: impl Into<String>) -> Expr {
        Expr::Atom(text.into())
    }

    pub fn call(func: impl Into<String>, args: Vec<Expr>) -> Expr {
        Expr::Call(func.into(), args)
    }

    pub fn inline(&self) -> String {
        match self {
            Expr::Atom(a) => a.clone(),
            Expr::Call(f, args) => format!("{f}({})", join(args)),
            Expr::Keyword(k, v) => format!("{k}={}", v.inline()),
            Expr::List(items) => format!("[{}]", join(items)),
            Expr::Tuple(items) if items.len() == 1 => format!("({},)", items[0].inline()),
            Expr::Tuple(items) => format!("({})", join(items)),
            Expr::Set(items) => format!("{{{}}}", join(items)),
            Expr::Dict(items) => format!(
                "{{{}}}",
                items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.inline(), v.inline()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The lines of `prefix + self + suffix` at `indent` spaces.
    pub fn lines(&self, indent: usize, prefix: &str, suffix: &str) -> Vec<String> {
        let pad = " ".repeat(indent);
        let one = format!("{pad}{prefix}{}{suffix}", self.inline());
        if one.chars().count() <= LINE {
            return vec![one];
        }
        let (open, close, items, collection): (String, &str, Vec<Item>, bool) = match self {
            Expr::Call(f, args) if !args.is_empty() => (
                format!("{f}("),
                ")",
                args.iter().map(Item::Plain).collect(),
                false,
            ),
            Expr::List(items) if !items.is_empty() => (
                "[".into(),
                "]",
                items.iter().map(Item::Plain).collect(),
                true,
            ),
            Expr::Tuple(items) if !items.is_empty() => (
                "(".into(),
                ")",
                items.iter().map(Item::Plain).collect(),
                true,
            ),
            Expr::Set(items) if !items.is_empty() => (
                "{".into(),
                "}",
                items.iter().map(Item::Plain).collect(),
                true,
            ),
            Expr::Dict(items) if !items.is_empty() => (
                "{".into(),
                "}",
                items.iter().map(|(k, v)| Item::Pair(k, v)).collect(),
                true,
            ),
            Expr::Keyword(k, v) => return v.lines(indent, &format!("{prefix}{k}="), suffix),
            // An atom cannot be split (black leaves long strings too).
            _ => return vec![one],
        };
        let inner = indent + 4;
        let mut out = vec![format!("{pad}{prefix}{open}")];
        let body: Vec<String> = items.iter().map(Item::inline).collect();
        let joined = format!("{}{}", " ".repeat(inner), body.join(", "));
        if !collection && joined.chars().count() <= LINE {
            out.push(joined);
        } else {
            for item in &items {
                out.extend(item.lines(inner));
            }
        }
        out.push(format!("{pad}{close}{suffix}"));
        out
    }
}

enum Item<'a> {
    Plain(&'a Expr),
    Pair(&'a Expr, &'a Expr),
}

impl Item<'_> {
    fn inline(&self) -> String {
        match self {
            Item::Plain(e) => e.inline(),
            Item::Pair(k, v) => format!("{}: {}", k.inline(), v.inline()),
        }
    }

    fn lines(&self, indent: usize) -> Vec<String> {
        match self {
            Item::Plain(e) => e.lines(indent, "", ","),
            Item::Pair(k, v) => v.lines(indent, &format!("{}: ", k.inline()), ","),
        }
    }
}

fn join(items: &[Expr]) -> String {
    items
        .iter()
        .map(Expr::inline)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_expressions_stay_on_one_line() {
        let e = Expr::call(
            "f",
            vec![Expr::atom("1"), Expr::List(vec![Expr::atom("2")])],
        );
        assert_eq!(
            e.lines(4, "assert ", " == 3"),
            vec!["    assert f(1, [2]) == 3"]
        );
        assert_eq!(Expr::Tuple(vec![Expr::atom("1")]).inline(), "(1,)");
    }

    #[test]
    fn long_collections_get_one_item_per_line() {
        let items = (0..30).map(|i| Expr::atom(format!("{i}"))).collect();
        let lines = Expr::List(items).lines(4, "assert result == ", "");
        assert_eq!(lines[0], "    assert result == [");
        assert_eq!(lines[1], "        0,");
        assert_eq!(lines.last().unwrap(), "    ]");
    }
}
