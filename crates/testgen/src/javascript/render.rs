//! Writing Vitest or Jest files: one behaviour per test, the module imported the way the
//! package does it, exact matchers (`toBe` for primitives, `toStrictEqual` for structures,
//! `toBeCloseTo` only for fractions), `toThrow` with the error class and the whole message.

use std::collections::BTreeSet;

use serde_json::Value;

use super::harness::{CallSpec, Observed};
use super::project::{JsModule, RunnerKind, identifier};
use super::value::{is_fraction, kind, literal, object, string};

/// Error classes every test file can name.
const BUILTIN_ERRORS: &[&str] = &[
    "Error",
    "TypeError",
    "RangeError",
    "SyntaxError",
    "ReferenceError",
    "EvalError",
    "URIError",
    "AggregateError",
];

#[derive(Debug, Clone)]
pub struct TestCase {
    pub name: String,
    pub call_id: u32,
    pub target: String,
    pub body: Vec<String>,
    pub is_async: bool,
    /// Named imports from the module (ES modules).
    pub imports: BTreeSet<String>,
}

impl TestCase {
    pub fn source(&self) -> String {
        let mut out = format!(
            "test({}, {}() => {{\n",
            name_literal(&self.name),
            if self.is_async { "async " } else { "" }
        );
        for line in &self.body {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("});\n");
        out
    }
}

pub struct Renderer<'a> {
    pub module: &'a JsModule,
    pub runner: RunnerKind,
    /// Class names the module exports (by their top-level export name).
    pub classes: BTreeSet<String>,
    /// The import path from the test file to the module (`../index.js`).
    pub import_path: String,
}

impl Renderer<'_> {
    /// How a test refers to the function at `path`, and the named import it needs.
    fn callee(&self, path: &[String]) -> (String, Option<String>) {
        let binding = self.module.binding();
        match path {
            [first, rest @ ..] if first == "default" => {
                let mut s = binding;
                for p in rest {
                    s.push_str(&member(p));
                }
                (s, None)
            }
            [name, rest @ ..] if self.module.esm && identifier(name) == *name => {
                let mut s = name.clone();
                for p in rest {
                    s.push_str(&member(p));
                }
                (s, Some(name.clone()))
            }
            _ => {
                let mut s = binding;
                for p in path {
                    s.push_str(&member(p));
                }
                (s, None)
            }
        }
    }

    /// The test for one observed call, or `None` when nothing about it can be asserted.
    pub fn case(&self, spec: &CallSpec, seen: &Observed) -> Option<TestCase> {
        if seen.timeout || seen.setup_error.is_some() {
            return None;
        }
        let mut imports = BTreeSet::new();
        let mut body = Vec::new();
        let (callee, import) = self.callee(&spec.path);
        imports.extend(import);
        let changed = seen.args_after.clone().unwrap_or_default();
        let mut args = Vec::new();
        for (i, a) in spec.args.iter().enumerate() {
            let lit = literal(a)?;
            if changed.contains_key(&i.to_string()) {
                let name = format!("arg{}", i + 1);
                body.push(format!("const {name} = {lit};"));
                args.push(name);
            } else {
                args.push(lit);
            }
        }
        let call = match (&spec.method, &spec.ctor) {
            (Some(method), Some(ctor)) => {
                let ctor: Option<Vec<String>> = ctor.iter().map(literal).collect();
                let var = instance_name(spec.path.last().map(String::as_str).unwrap_or("obj"));
                body.push(format!("const {var} = new {callee}({});", ctor?.join(", ")));
                for step in &spec.setup {
                    let args: Option<Vec<String>> = step.args.iter().map(literal).collect();
                    body.push(format!(
                        "{var}{}({});",
                        member(&step.method),
                        args?.join(", ")
                    ));
                }
                format!("{var}{}({})", member(method), args.join(", "))
            }
            _ => format!("{callee}({})", args.join(", ")),
        };
        // What the test name shows: `Stack#push(1)` for methods.
        let display = match &spec.method {
            Some(method) => {
                let mut d = format!("{callee}#{method}({})", args.join(", "));
                let steps: Vec<String> = spec
                    .setup
                    .iter()
                    .map(|s| {
                        let a: Vec<String> = s.args.iter().filter_map(literal).collect();
                        format!("{}({})", s.method, a.join(", "))
                    })
                    .collect();
                if !steps.is_empty() {
                    d.push_str(&format!(" after {}", steps.join(", ")));
                }
                d
            }
            None => call.clone(),
        };
        let receiver = spec
            .method
            .as_ref()
            .map(|_| instance_name(spec.path.last().map(String::as_str).unwrap_or("obj")));
        let mut is_async = false;
        let mut outcome;
        if let Some(exc) = &seen.exc {
            if exc.kind == "$value" {
                return None;
            }
            let class = if BUILTIN_ERRORS.contains(&exc.kind.as_str()) {
                Some(exc.kind.clone())
            } else if self.module.esm && self.classes.contains(&exc.kind) {
                imports.insert(exc.kind.clone());
                Some(exc.kind.clone())
            } else {
                None
            };
            let message = format!("/^{}$/", regex_escape(&exc.msg));
            if exc.kind.is_empty() {
                return None;
            }
            if seen.awaited {
                // A rejected promise: `rejects` unwraps it.
                is_async = true;
                if let Some(class) = &class {
                    body.push(format!("await expect({call}).rejects.toThrow({class});"));
                }
                body.push(format!("await expect({call}).rejects.toThrow({message});"));
                outcome = format!("rejects with {}", class.as_deref().unwrap_or("an error"));
            } else {
                if let Some(class) = &class {
                    body.push(format!("expect(() => {call}).toThrow({class});"));
                }
                body.push(format!("expect(() => {call}).toThrow({message});"));
                outcome = format!("throws {}", class.as_deref().unwrap_or("an error"));
            }
        } else {
            let value = seen.value.as_ref()?;
            let needs_result = !changed.is_empty() || receiver.is_some();
            let (subject, prefix) = if seen.awaited {
                is_async = true;
                (call.clone(), "await ")
            } else if needs_result {
                body.push(format!("const result = {call};"));
                ("result".to_owned(), "")
            } else {
                (call.clone(), "")
            };
            let resolves = if seen.awaited { ".resolves" } else { "" };
            if seen.awaited && needs_result {
                return None;
            }
            let matcher = matcher(value, &self.classes, &mut imports, self.module.esm);
            match matcher {
                Some(Matcher::Simple(m)) => {
                    body.push(format!("{prefix}expect({subject}){resolves}{m};"))
                }
                Some(Matcher::Instance { class, fields }) if !seen.awaited => {
                    if let Some(class) = class {
                        body.push(format!("expect({subject}).toBeInstanceOf({class});"));
                    }
                    body.push(format!(
                        "expect({{ ...{subject} }}).toStrictEqual({fields});"
                    ));
                }
                _ if needs_result => {}
                _ => return None,
            }
            outcome = format!("returns {}", describe(value));
            for (i, after) in &changed {
                let i: usize = i.parse().ok()?;
                body.push(format!(
                    "expect(arg{}).toStrictEqual({});",
                    i + 1,
                    literal(after)?
                ));
            }
            if let (Some(var), Some(Value::Object(state))) = (&receiver, &seen.state)
                && let Some(fields) = object(state)
                && !state.is_empty()
            {
                body.push(format!("expect({{ ...{var} }}).toStrictEqual({fields});"));
            }
            if !body.iter().any(|l| l.contains("expect(")) {
                return None;
            }
            if !changed.is_empty() {
                outcome.push_str(" and changes its argument");
            }
        }
        let shown = if display.chars().count() > 70 {
            let cut: String = display.chars().take(67).collect();
            format!("{cut}...")
        } else {
            display
        };
        Some(TestCase {
            name: format!("{shown} {outcome}"),
            call_id: spec.id,
            target: spec.target(),
            body,
            is_async,
            imports,
        })
    }

    /// The whole file: header, imports, then the tests in the given order.
    pub fn file(&self, cases: &[TestCase]) -> String {
        let mut out = String::from(
            "// Generated by qa-agent: each test was run 5 times in fresh processes and kept only\n// if it passed every time, asserts what the code returned or threw, and adds coverage.\n",
        );
        let named: BTreeSet<&String> = cases.iter().flat_map(|c| c.imports.iter()).collect();
        let binding = self.module.binding();
        let uses_binding = cases.iter().any(|c| {
            c.body.iter().any(|l| {
                l.contains(&format!("{binding}("))
                    || l.contains(&format!("{binding}."))
                    || l.contains(&format!("new {binding}"))
            })
        });
        match self.runner {
            RunnerKind::Vitest => {
                out.push_str("import { expect, test } from \"vitest\";\n");
                if uses_binding {
                    out.push_str(&format!(
                        "import {binding} from {};\n",
                        string(&self.import_path)
                    ));
                }
                if !named.is_empty() {
                    let list: Vec<&str> = named.iter().map(|s| s.as_str()).collect();
                    out.push_str(&format!(
                        "import {{ {} }} from {};\n",
                        list.join(", "),
                        string(&self.import_path)
                    ));
                }
            }
            RunnerKind::Jest => {
                if uses_binding {
                    out.push_str(&format!(
                        "const {binding} = require({});\n",
                        string(&self.import_path)
                    ));
                }
                if !named.is_empty() {
                    let list: Vec<&str> = named.iter().map(|s| s.as_str()).collect();
                    out.push_str(&format!(
                        "const {{ {} }} = require({});\n",
                        list.join(", "),
                        string(&self.import_path)
                    ));
                }
            }
        }
        for case in cases {
            out.push('\n');
            out.push_str(&case.source());
        }
        out
    }
}

/// A test name in single quotes when it holds double quotes (`'ms("1d") returns 1'`).
fn name_literal(name: &str) -> String {
    if name.contains('"') && !name.contains('\'') && !name.contains('\\') {
        format!("'{name}'")
    } else {
        string(name)
    }
}

/// Test names must be unique within a file: repeats get ` (2)`, ` (3)`.
pub fn name_all(cases: &mut [TestCase]) {
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for c in cases.iter_mut() {
        let n = seen.entry(c.name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            c.name = format!("{} ({n})", c.name);
        }
    }
}

enum Matcher {
    Simple(String),
    Instance {
        class: Option<String>,
        fields: String,
    },
}

fn matcher(
    v: &Value,
    classes: &BTreeSet<String>,
    imports: &mut BTreeSet<String>,
    esm: bool,
) -> Option<Matcher> {
    if let Value::Object(m) = v {
        if m.contains_key("$u") {
            return Some(Matcher::Simple(".toBeUndefined()".into()));
        }
        if m.get("$num").and_then(Value::as_str) == Some("NaN") {
            return Some(Matcher::Simple(".toBeNaN()".into()));
        }
        if let (Some(Value::String(class)), Some(Value::Object(fields))) =
            (m.get("$inst"), m.get("fields"))
        {
            let class = (esm && classes.contains(class)).then(|| {
                imports.insert(class.clone());
                class.clone()
            });
            return Some(Matcher::Instance {
                class,
                fields: object(fields)?,
            });
        }
    }
    let lit = literal(v)?;
    Some(Matcher::Simple(match v {
        Value::Null => ".toBeNull()".into(),
        Value::Array(_) | Value::Object(_) if !lit.starts_with('-') && lit != "Infinity" => {
            format!(".toStrictEqual({lit})")
        }
        _ if is_fraction(v) => format!(".toBeCloseTo({lit}, 10)"),
        _ => format!(".toBe({lit})"),
    }))
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) if s.chars().count() <= 24 && !s.is_empty() => string(s),
        Value::Number(_) | Value::Bool(_) => literal(v).unwrap_or_default(),
        _ => kind(v).replace('_', " "),
    }
}

fn member(name: &str) -> String {
    if identifier(name) == name {
        format!(".{name}")
    } else {
        format!("[{}]", string(name))
    }
}

fn instance_name(class: &str) -> String {
    let mut chars = class.chars();
    let name = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => "obj".to_owned(),
    };
    if identifier(&name) == name && name != class {
        name
    } else {
        format!("{name}Instance")
    }
}

/// `text` as a literal regular expression body.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\\' | '^' | '$' | '.' | '|' | '?' | '*' | '+' | '(' | ')' | '[' | ']' | '{' | '}'
            | '/' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}
