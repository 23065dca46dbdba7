//! Writing pytest files: one behaviour per test, real imports, exact assertions.

use std::collections::BTreeSet;

use super::expr::Expr;
use super::harness::Observed;
use super::inputs::CallSpec;
use super::names::{is_keyword, slug, snake};
use super::project::ModuleLocation;
use super::signature::{Binding, FunctionSig, ModuleSig, ParamKind};
use super::value::{Check, Import, Value, looks_like_address, python_str};

/// One generated test.
#[derive(Debug, Clone)]
pub struct TestCase {
    pub name: String,
    pub call_id: u32,
    pub target: String,
    /// The function's lines, without the `def`.
    pub body: Vec<String>,
    /// Names imported from the module under test.
    pub imports: BTreeSet<String>,
    /// Other imports: `pytest`, `math`, `from x import E`.
    pub extra_imports: BTreeSet<String>,
    /// Words for each argument (`minus_1`, `quantity_10`), to tell apart tests of the same
    /// outcome.
    pub hints: Vec<String>,
    /// pytest fixtures the test takes (`monkeypatch`, `capsys`).
    pub fixtures: Vec<String>,
}

impl TestCase {
    pub fn source(&self) -> String {
        let mut out = format!("def {}({}):\n", self.name, self.fixtures.join(", "));
        for line in &self.body {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

pub struct Renderer<'a> {
    pub location: &'a ModuleLocation,
    pub module: &'a ModuleSig,
}

/// Exceptions that say the test called the code wrongly, not how the code behaves: a test is
/// written for one only when the function raises it itself.
const MISUSE: &[&str] = &[
    "TypeError",
    "AttributeError",
    "NameError",
    "UnboundLocalError",
    "RecursionError",
];

impl<'a> Renderer<'a> {
    pub fn new(location: &'a ModuleLocation, module: &'a ModuleSig) -> Renderer<'a> {
        Renderer { location, module }
    }

    /// The test for one observed call, or `None` when nothing about it can be asserted exactly.
    pub fn case(&self, spec: &CallSpec, seen: &Observed, sig: &FunctionSig) -> Option<TestCase> {
        if seen.timeout || seen.setup_error.is_some() {
            return None;
        }
        let mut imports = BTreeSet::new();
        let mut extra = BTreeSet::new();
        let mut body = Vec::new();
        let mut fixtures = Vec::new();
        // The command line the code reads, set for this test only.
        if let Some(argv) = &spec.argv {
            fixtures.push("monkeypatch".to_owned());
            extra.insert("import sys".to_owned());
            let words: Vec<Expr> = argv.iter().map(|w| Expr::atom(python_str(w))).collect();
            body.extend(
                Expr::call(
                    "monkeypatch.setattr",
                    vec![Expr::atom("sys"), Expr::atom("\"argv\""), Expr::List(words)],
                )
                .lines(4, "", ""),
            );
        }
        let names = self.module.names.clone();
        let (loc_module, classes): (String, BTreeSet<String>) = (
            self.location.module.clone(),
            self.module.classes.keys().cloned().collect(),
        );
        let importable =
            move |module: &str, cls: &str| module == loc_module && classes.contains(cls);
        let names_in = |exprs: &[&String], imports: &mut BTreeSet<String>| {
            for e in exprs {
                for name in &names {
                    if mentions(e, name) {
                        imports.insert(name.clone());
                    }
                }
            }
        };

        // The receiver.
        let method = spec
            .target
            .rsplit('.')
            .next()
            .unwrap_or(&spec.target)
            .to_owned();
        let callee = match (&sig.class, sig.binding) {
            (Some(class), Binding::Method | Binding::Property) => {
                let ctor = spec.ctor.as_ref()?;
                imports.insert(class.clone());
                let all: Vec<&String> = ctor
                    .args
                    .iter()
                    .chain(ctor.kwargs.iter().map(|(_, v)| v))
                    .collect();
                names_in(&all, &mut imports);
                // The receiver must not shadow a name the test imports: `shlex = shlex()`
                // makes `shlex` a local before it is bound.
                let mut var = snake(class);
                if var.is_empty()
                    || sig.params.iter().any(|p| p.name == var)
                    || is_keyword(&var)
                    || var == "result"
                    || self.module.names.contains(&var)
                {
                    var = ["obj", "instance", "subject_"]
                        .into_iter()
                        .find(|n| !self.module.names.iter().any(|m| m == n))
                        .unwrap_or("subject_")
                        .into();
                }
                let mut args: Vec<Expr> = ctor.args.iter().map(Expr::atom).collect();
                args.extend(
                    ctor.kwargs
                        .iter()
                        .map(|(k, v)| Expr::Keyword(k.clone(), Box::new(Expr::atom(v)))),
                );
                body.extend(Expr::call(class.clone(), args).lines(4, &format!("{var} = "), ""));
                for step in &spec.setup {
                    let refs: Vec<&String> = step.args.iter().collect();
                    names_in(&refs, &mut imports);
                    body.extend(
                        Expr::call(
                            format!("{var}.{}", step.method),
                            step.args.iter().map(Expr::atom).collect(),
                        )
                        .lines(4, "", ""),
                    );
                }
                format!("{var}.{method}")
            }
            (Some(class), _) => {
                imports.insert(class.clone());
                format!("{class}.{method}")
            }
            (None, _) => {
                imports.insert(spec.target.clone());
                spec.target.clone()
            }
        };

        // Arguments the call changed in place are bound to names first.
        let mut args: Vec<Expr> = Vec::new();
        let mut state_checks: Vec<(String, &Value)> = Vec::new();
        let positional: Vec<&str> = sig
            .params
            .iter()
            .filter(|p| matches!(p.kind, ParamKind::Positional | ParamKind::VarArgs))
            .map(|p| p.name.as_str())
            .collect();
        let refs: Vec<&String> = spec
            .args
            .iter()
            .chain(spec.kwargs.iter().map(|(_, v)| v))
            .collect();
        names_in(&refs, &mut imports);
        for (i, a) in spec.args.iter().enumerate() {
            if let Some(after) = seen.args_after.as_ref().and_then(|m| m.get(&i.to_string())) {
                let mut name = positional
                    .get(i)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| format!("arg{i}"));
                if is_keyword(&name)
                    || ["pytest", "result"].contains(&name.as_str())
                    || imports.contains(&name)
                {
                    name = format!("{name}_arg");
                }
                body.extend(Expr::atom(a.clone()).lines(4, &format!("{name} = "), ""));
                args.push(Expr::atom(name.clone()));
                state_checks.push((name, after));
            } else {
                args.push(Expr::atom(a.clone()));
            }
        }
        args.extend(
            spec.kwargs
                .iter()
                .map(|(k, v)| Expr::Keyword(k.clone(), Box::new(Expr::atom(v)))),
        );
        let call = if spec.property {
            Expr::atom(callee.clone())
        } else {
            Expr::call(callee.clone(), args)
        };
        let call = if spec.consume {
            Expr::call("list", vec![call])
        } else {
            call
        };

        // The instance's attributes the call changed (all of them when nothing was recorded
        // before the call).
        if let Some(state) = &seen.state
            && sig.class.is_some()
        {
            let var = callee.split('.').next().unwrap_or("obj").to_owned();
            let before = seen.state_before.as_ref();
            let changed = state
                .iter()
                .filter(|(attr, value)| before.is_none_or(|b| b.get(*attr) != Some(*value)))
                .take(4);
            for (attr, value) in changed {
                state_checks.push((format!("{var}.{attr}"), value));
            }
        }
        let state_lines: Vec<Vec<String>> = state_checks
            .iter()
            .filter_map(|(target, value)| assertion(target, value, &importable, &mut extra))
            .collect();

        let outcome;
        if let Some(exc) = &seen.exc {
            if MISUSE.contains(&exc.kind.as_str()) && !sig.raises.contains(&exc.kind) {
                return None;
            }
            let class = if exc.module == "builtins" {
                exc.kind.clone()
            } else if exc.module == self.location.module
                && self.module.classes.contains_key(&exc.kind)
            {
                imports.insert(exc.kind.clone());
                exc.kind.clone()
            } else if !exc.kind.contains('.')
                && !exc.module.starts_with('_')
                && !exc.module.is_empty()
            {
                extra.insert(format!("from {} import {}", exc.module, exc.kind));
                exc.kind.clone()
            } else {
                return None;
            };
            extra.insert("import pytest".into());
            let mut raises = vec![Expr::atom(class)];
            if let Some(m) = stable_message(&exc.msg) {
                // Anchored: `match` searches, and a changed message must not still match.
                let pattern = format!("^{}$", regex_escape(m));
                raises.push(Expr::Keyword(
                    "match".into(),
                    Box::new(Expr::atom(python_str(&pattern))),
                ));
            }
            body.extend(Expr::call("pytest.raises", raises).lines(4, "with ", ":"));
            body.extend(call.lines(8, "", ""));
            outcome = format!("raises_{}", snake(&exc.kind));
        } else {
            let value = seen.value.as_ref()?;
            let check = value.check(&importable);
            match check {
                Some(Check::Is("None")) if !state_lines.is_empty() => {
                    body.extend(call.lines(4, "", ""));
                    outcome = if spec.setup.is_empty() && seen.args_after.is_none() {
                        "sets_state".to_owned()
                    } else {
                        "updates_state".to_owned()
                    };
                }
                Some(check) => {
                    body.extend(check_lines(&call, check, &mut extra));
                    outcome = format!("returns_{}", value.describe());
                }
                // No exact literal: an object's attributes, or at least its type.
                None => match value {
                    Value::Object { cls, module, attrs } if module == &self.location.module => {
                        let usable: Vec<Vec<String>> = attrs
                            .iter()
                            .take(5)
                            .filter_map(|(k, v)| {
                                assertion(&format!("result.{k}"), v, &importable, &mut extra)
                            })
                            .collect();
                        if usable.is_empty() && !self.module.classes.contains_key(cls) {
                            return None;
                        }
                        body.extend(call.lines(4, "result = ", ""));
                        if self.module.classes.contains_key(cls) {
                            imports.insert(cls.clone());
                            body.push(format!("    assert isinstance(result, {cls})"));
                        }
                        body.extend(usable.into_iter().flatten());
                        outcome = format!("returns_{}", value.describe());
                    }
                    _ => return None,
                },
            }
        }
        // What the call printed, exactly (a CLI's output is its result).
        if let Some(text) = seen.printed()
            && !looks_like_address(text)
        {
            fixtures.push("capsys".to_owned());
            body.push(format!(
                "    assert capsys.readouterr().out == {}",
                python_str(text)
            ));
        }
        body.extend(state_lines.into_iter().flatten());
        // Imports for values written as their repr, where the test uses them.
        let mut reprs = Vec::new();
        for v in seen
            .value
            .iter()
            .chain(seen.state.iter().flat_map(|s| s.values()))
            .chain(seen.args_after.iter().flat_map(|s| s.values()))
        {
            v.repr_imports(&mut reprs);
        }
        for (written, import) in reprs {
            if !body.iter().any(|l| l.contains(&written)) {
                continue;
            }
            match import {
                Import::Module(m) => {
                    extra.insert(format!("import {m}"));
                }
                Import::Name(m, c) if m == self.location.module => {
                    imports.insert(c);
                }
                Import::Name(m, c) => {
                    extra.insert(format!("from {m} import {c}"));
                }
            }
        }

        let mut hints: Vec<String> = spec.args.iter().map(|a| slug(a)).collect();
        hints.extend(
            spec.kwargs
                .iter()
                .map(|(k, v)| format!("{}_{}", snake(k), slug(v))),
        );
        for step in &spec.setup {
            hints.push(format!("after_{}", snake(&step.method)));
        }
        if let Some(argv) = &spec.argv {
            hints.push(format!("argv_{}", slug(&argv[1..].join(" "))));
        }
        Some(TestCase {
            fixtures,
            name: format!("test_{}_{}", snake(&spec.target), outcome),
            hints,
            call_id: spec.id,
            target: spec.target.clone(),
            body,
            imports,
            extra_imports: extra,
        })
    }

    /// Makes names unique: tests of the same outcome are told apart by the first argument
    /// that differs between them, then by a number.
    pub fn name_all(cases: &mut [TestCase]) {
        let mut groups: std::collections::HashMap<String, Vec<usize>> = Default::default();
        for (i, c) in cases.iter().enumerate() {
            groups.entry(c.name.clone()).or_default().push(i);
        }
        let mut used = BTreeSet::new();
        for i in 0..cases.len() {
            let base = cases[i].name.clone();
            let group = &groups[&base];
            let mut name = base.clone();
            if group.len() > 1 {
                let width = group
                    .iter()
                    .map(|g| cases[*g].hints.len())
                    .max()
                    .unwrap_or(0);
                let differs = (0..width).find(|k| {
                    let first = cases[group[0]].hints.get(*k);
                    group.iter().any(|g| cases[*g].hints.get(*k) != first)
                });
                if let Some(hint) = differs.and_then(|k| cases[i].hints.get(k)) {
                    name = format!("{base}_for_{hint}");
                }
            }
            let mut n = 2;
            let stem = name.clone();
            while used.contains(&name) {
                name = format!("{stem}_{n}");
                n += 1;
            }
            used.insert(name.clone());
            cases[i].name = name;
        }
    }

    /// The whole file: docstring, imports (stdlib, third party, the module), the tests.
    pub fn file(&self, cases: &[TestCase]) -> String {
        let mut stdlib = BTreeSet::new();
        let mut third = BTreeSet::new();
        let mut from_module: BTreeSet<String> = BTreeSet::new();
        let mut other_from = BTreeSet::new();
        for case in cases {
            from_module.extend(
                case.imports
                    .iter()
                    .map(|n| n.split('.').next().unwrap_or(n).to_owned()),
            );
            for e in &case.extra_imports {
                match e.as_str() {
                    line if line.starts_with("import ") && line != "import pytest" => {
                        stdlib.insert(e.clone());
                    }
                    "import pytest" => {
                        third.insert(e.clone());
                    }
                    _ => {
                        other_from.insert(e.clone());
                    }
                }
            }
        }
        let mut out = format!(
            "\"\"\"Tests for `{}`, generated by qa-agent and run before they were written.\"\"\"\n\n",
            self.location.module
        );
        let mut groups: Vec<Vec<String>> = Vec::new();
        if !stdlib.is_empty() {
            groups.push(stdlib.into_iter().collect());
        }
        if !third.is_empty() {
            groups.push(third.into_iter().collect());
        }
        let mut firsts: Vec<String> = other_from.into_iter().collect();
        if !from_module.is_empty() {
            let names: Vec<Expr> = from_module.iter().map(Expr::atom).collect();
            let line = format!(
                "from {} import {}",
                self.location.module,
                from_module.iter().cloned().collect::<Vec<_>>().join(", ")
            );
            if line.len() <= super::expr::LINE {
                firsts.push(line);
            } else {
                let mut lines = vec![format!("from {} import (", self.location.module)];
                lines.extend(names.iter().map(|n| format!("    {},", n.inline())));
                lines.push(")".into());
                firsts.push(lines.join("\n"));
            }
        }
        if !firsts.is_empty() {
            groups.push(firsts);
        }
        for group in groups {
            out.push_str(&group.join("\n"));
            out.push_str("\n\n");
        }
        for case in cases {
            out.push('\n');
            out.push_str(&case.source());
            out.push('\n');
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        out
    }
}

fn check_lines(call: &Expr, check: Check, extra: &mut BTreeSet<String>) -> Vec<String> {
    let (suffix_expr, op) = match check {
        Check::Is(lit) => (Expr::atom(lit), " is "),
        Check::Equal(e) => (e, " == "),
        Check::Approx(e) => {
            extra.insert("import pytest".into());
            (Expr::call("pytest.approx", vec![e]), " == ")
        }
        Check::IsNan => {
            extra.insert("import math".into());
            return Expr::call("math.isnan", vec![call.clone()]).lines(4, "assert ", "");
        }
    };
    let one = format!("    assert {}{op}{}", call.inline(), suffix_expr.inline());
    if one.chars().count() <= super::expr::LINE {
        return vec![one];
    }
    let mut lines = call.lines(4, "result = ", "");
    lines.extend(suffix_expr.lines(4, &format!("assert result{op}"), ""));
    lines
}

fn assertion(
    target: &str,
    value: &Value,
    importable: &dyn Fn(&str, &str) -> bool,
    extra: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    let check = value.check(importable)?;
    Some(check_lines(&Expr::atom(target), check, extra))
}

/// A message worth matching: short, one line, no addresses. Returned whole: the pattern is
/// anchored, so trimming a trailing space (`"Invalid numeral:  "`) would make it fail.
fn stable_message(msg: &str) -> Option<&str> {
    let m = msg.trim();
    (!m.is_empty() && msg.len() <= 80 && !msg.contains('\n') && !looks_like_address(m))
        .then_some(msg)
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.^$*+?{}[]|()".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether the expression uses `name` as code (not inside a string: `"a abc"` does not
/// use a module-level `abc`).
fn mentions(expr: &str, name: &str) -> bool {
    let expr = &outside_strings(expr);
    expr.match_indices(name).any(|(i, _)| {
        let before = expr[..i].chars().next_back();
        let after = expr[i + name.len()..].chars().next();
        !before
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '"' || c == '\'')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The expression with the contents of its string literals blanked out.
fn outside_strings(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    out.push(c);
                    continue;
                }
                out.push(' ');
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn a_name_inside_a_string_is_not_a_use() {
        assert!(mentions("f(abc, 1)", "abc"));
        assert!(mentions("[\"x\", abc]", "abc"));
        assert!(!mentions("\"a abc\"", "abc"));
        assert!(!mentions("'it\\'s abc'", "abc"));
        assert!(!mentions("obj.abc", "abc"));
    }
}
