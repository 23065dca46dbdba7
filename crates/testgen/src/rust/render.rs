//! Rust source for the probe that observes calls, and for `#[test]` functions that assert
//! what was observed: `assert_eq!` on the value (a tolerance for floats, the error's
//! Debug text for `Err`), `#[should_panic(expected = …)]` for panics.

use std::collections::BTreeSet;

use super::targets::{Target, Ty};

/// One call to try: the target's index and its argument expressions.
#[derive(Debug, Clone)]
pub struct Call {
    pub id: u32,
    pub target: usize,
    pub args: Vec<String>,
}

impl Call {
    pub fn expr(&self, t: &Target) -> String {
        format!("{}({})", t.name, self.args.join(", "))
    }
}

/// What a call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The result's Debug text.
    Value(String),
    /// The panic message.
    Panic(String),
}

/// Where the probe writes its lines, relative to the sandbox's work directory: apart from
/// stdout, which the code under test may flood.
pub const PROBE_OUT: &str = "qa-probe-out.txt";

/// A probe integration test: every call under `catch_unwind`, one line per outcome,
/// appended and flushed to [`PROBE_OUT`] as it happens (a call that hangs loses only
/// itself and the calls after it).
pub fn probe(prelude: &str, krate_path: &str, t: &Target, calls: &[&Call]) -> String {
    let mut s = format!(
        "#![allow(unused, clippy::all)]\n{prelude}use {krate_path}::{};\nuse std::io::Write;\n\nfn __qa_message(e: &(dyn std::any::Any + Send)) -> String {{\n    e.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| e.downcast_ref::<String>().cloned()).unwrap_or_default()\n}}\n\n#[test]\nfn __qa_probe() {{\n    std::panic::set_hook(Box::new(|_| {{}}));\n    let mut out = std::fs::OpenOptions::new().create(true).append(true).open({PROBE_OUT:?}).expect(\"probe output\");\n",
        t.name
    );
    for c in calls {
        s.push_str(&format!(
            "    let line = match std::panic::catch_unwind(|| format!(\"{{:?}}\", {})) {{\n        Ok(v) => format!(\"QA\\t{}\\tOK\\t{{}}\\n\", v.replace('\\n', \"\\u{{1}}\")),\n        Err(e) => format!(\"QA\\t{}\\tPANIC\\t{{}}\\n\", __qa_message(&*e).replace('\\n', \"\\u{{1}}\")),\n    }};\n    out.write_all(line.as_bytes()).and_then(|_| out.flush()).expect(\"probe output\");\n",
            c.expr(t),
            c.id,
            c.id
        ));
    }
    s.push_str("}\n");
    s
}

/// The probe's lines: call id → outcome.
pub fn parse_probe(stdout: &str) -> Vec<(u32, Observed)> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(4, '\t');
            if parts.next()? != "QA" {
                return None;
            }
            let id = parts.next()?.parse().ok()?;
            let kind = parts.next()?;
            let text = parts.next().unwrap_or("").replace('\u{1}', "\n");
            Some((
                id,
                if kind == "OK" {
                    Observed::Value(text)
                } else {
                    Observed::Panic(text)
                },
            ))
        })
        .collect()
}

/// A `#[test]` for an observed call; `None` when the outcome cannot be asserted stably.
pub fn test_body(t: &Target, call: &Call, seen: &Observed) -> Option<(Vec<String>, String)> {
    let expr = call.expr(t);
    match seen {
        Observed::Panic(msg) => {
            // Overflow checks exist only in debug builds: not the function's behaviour.
            if msg.is_empty() || msg.contains("overflow") || msg.contains("RUST_BACKTRACE") {
                return None;
            }
            let expected: String = msg.lines().next()?.chars().take(80).collect();
            Some((
                vec![format!("#[should_panic(expected = {expected:?})]")],
                format!("    let _ = {expr};"),
            ))
        }
        Observed::Value(debug) => {
            if debug.len() > 400 {
                return None;
            }
            let body = match &t.returns {
                Ty::Result(ok) => {
                    if let Some(inner) = debug.strip_prefix("Ok(").and_then(|r| r.strip_suffix(')'))
                    {
                        assertion(ok, &format!("{expr}.expect(\"Ok\")"), inner)?
                    } else {
                        let err = debug
                            .strip_prefix("Err(")
                            .and_then(|r| r.strip_suffix(')'))?;
                        format!(
                            "    assert_eq!(format!(\"{{:?}}\", {expr}.unwrap_err()), {err:?});"
                        )
                    }
                }
                ty => assertion(ty, &expr, debug)?,
            };
            Some((Vec::new(), body))
        }
    }
}

fn assertion(ty: &Ty, expr: &str, debug: &str) -> Option<String> {
    Some(match ty {
        Ty::Float(name) => match debug {
            "NaN" => format!("    assert!({expr}.is_nan());"),
            "inf" => format!("    assert_eq!({expr}, {name}::INFINITY);"),
            "-inf" => format!("    assert_eq!({expr}, {name}::NEG_INFINITY);"),
            lit => format!(
                "    let got = {expr};\n    let expected = {lit}_{name};\n    assert!((got - expected).abs() <= 1e-9 * expected.abs().max(1.0), \"got {{got}}, expected {{expected}}\");"
            ),
        },
        Ty::Vec(_) if debug == "[]" => format!("    assert!({expr}.is_empty());"),
        Ty::Vec(_) => format!("    assert_eq!({expr}, vec!{debug});"),
        Ty::Option(inner) if **inner == Ty::String => {
            format!("    assert_eq!({expr}.as_deref(), {debug});")
        }
        Ty::Slice(_) | Ty::Result(_) => return None,
        _ => format!("    assert_eq!({expr}, {debug});"),
    })
}

/// `levenshtein_kitten_sitting_is_3`, `parse_x_panics`.
pub fn test_name(t: &Target, call: &Call, seen: &Observed, taken: &mut BTreeSet<String>) -> String {
    let args = slug(&call.args.join("_"), 32);
    let what = match seen {
        Observed::Panic(_) => "panics".to_string(),
        Observed::Value(v) => {
            let v = slug(v, 24);
            if v.is_empty() {
                "returns".into()
            } else {
                format!("is_{v}")
            }
        }
    };
    let base = [t.name.as_str(), args.as_str(), what.as_str()]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("_");
    let mut name = base.clone();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

fn slug(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if c == '-' && out.is_empty() {
            out.push_str("minus_");
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
        if out.len() >= max {
            break;
        }
    }
    out.trim_end_matches('_').to_string()
}

/// A test to write.
#[derive(Debug, Clone)]
pub struct TestCase {
    pub name: String,
    pub target: String,
    pub attrs: Vec<String>,
    pub body: String,
}

/// A test file; `paths` gives the path each function is imported from.
pub fn file(
    header: &str,
    prelude: &str,
    paths: &std::collections::BTreeMap<String, String>,
    tests: &[&TestCase],
) -> String {
    let mut by_path: std::collections::BTreeMap<&str, BTreeSet<&str>> = Default::default();
    for t in tests {
        let path = paths.get(&t.target).map_or("crate", String::as_str);
        by_path.entry(path).or_default().insert(t.target.as_str());
    }
    let mut s = format!("{header}\n{prelude}");
    for (path, names) in by_path {
        if names.len() == 1 {
            s.push_str(&format!(
                "use {path}::{};\n",
                names.iter().next().copied().unwrap_or_default()
            ));
        } else {
            s.push_str(&format!(
                "use {path}::{{{}}};\n",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for t in tests {
        s.push_str("\n#[test]\n");
        for a in &t.attrs {
            s.push_str(a);
            s.push('\n');
        }
        s.push_str(&format!("fn {}() {{\n{}\n}}\n", t.name, t.body));
    }
    s
}
