//! SEC023: files or directories given permissions that let every user write to them.

use qa_core::Language;
use tree_sitter::Node;

use crate::lang::{Call, Dialect, ValueKind};
use crate::rules::helpers::{arg, kind};
use crate::rules::security::common::{as_call, parse_int, world_writable};
use crate::rules::{Cx, Hooks, Rule, RuleMeta, declare_rule};

declare_rule! {
    id: "SEC023",
    name: "world-writable-permissions",
    family: Security,
    severity: Medium,
    languages: &[Language::Python, Language::JavaScript, Language::TypeScript, Language::Go],
    title: "File or directory is given permissions that let every user write to it",
    applies_to_tests: false,
    docs: r#"## What it does
Finds permission modes that grant write access to all users (the "others" write bit,
as in `0o777`, `0o666`, `0o772`):

- Python: `os.chmod`, `os.lchmod`, `os.fchmod`, `Path.chmod` with a literal mode, or a
  mode that includes `stat.S_IWOTH`/`stat.S_IRWXO`;
- JavaScript/TypeScript: `fs.chmod`/`chmodSync`/`fchmod`/`lchmod` with a mode (number or
  octal string such as `"777"`);
- Go: `os.Chmod`, `os.Mkdir`, `os.MkdirAll`, `os.WriteFile`, `ioutil.WriteFile`,
  `os.OpenFile` with a literal mode like `0777`, `0o666` or `os.ModePerm` (as gosec does:
  Go has no default mode, so the code chooses one).

Python's `os.mkdir`/`os.makedirs`/`os.open` and Node's `fs.mkdir`/`writeFile`/`appendFile`/
`open` with such a mode are reported only in files that also clear the umask
(`os.umask(0)`, `process.umask(0)`): otherwise `0o777`/`0o666` are just those functions'
defaults written out, and the umask removes the bit.

## Why is this bad?
Any local user or compromised service on the machine can then modify the file: replace a
script or binary that someone runs, add entries to a configuration, plant data that is
later trusted, or delete it. `chmod` applies the mode as given (no umask); for files and
directories being created the umask usually removes the bit, but then the code depends on
an environment setting it does not control.

## How to fix
Grant only what is needed: `0o644`/`0o600` for files, `0o755`/`0o700` for directories.
For shared directories use a group (`0o775` with the right group) rather than everyone.

## Example
```go
os.WriteFile(path, data, 0666)
```
Use instead:
```go
os.WriteFile(path, data, 0600)
```
"#,
}

pub(crate) struct WorldWritablePermissions;

impl Rule for WorldWritablePermissions {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL
    }

    fn on_call(&self, call: &Call<'_>, cx: &mut Cx<'_, '_>) {
        let mode = match cx.dialect {
            Dialect::Python => python_mode(call),
            Dialect::Go => go_mode(call),
            _ => javascript_mode(cx, call),
        };
        let Some(mode) = mode else { return };
        let Some(desc) = describe(cx, mode) else {
            return;
        };
        let chmod = call.name.to_ascii_lowercase().contains("chmod");
        let effect = if chmod {
            "lets every user write to it"
        } else if cx.dialect == Dialect::Go {
            "creates it writable by every user unless the umask happens to remove the bit"
        } else if clears_umask(cx) {
            "creates it writable by every user, as this file clears the umask"
        } else {
            // The mode is the function's default, filtered by the umask.
            return;
        };
        cx.report(
            mode,
            format!(
                "`{}` with mode {desc} {effect}; use 0o644/0o600 for files or 0o755/0o700 for directories",
                call.callee
            ),
        );
    }
}

fn python_mode<'t>(call: &Call<'t>) -> Option<Node<'t>> {
    match call.callee.as_str() {
        "os.chmod" | "os.lchmod" | "os.fchmod" | "os.mkdir" | "os.makedirs" => arg(call, 1, "mode"),
        "os.open" => arg(call, 2, "mode"),
        // `Path(...).chmod(0o777)`, `path.chmod(mode=...)`.
        _ if call.name == "chmod" && call.receiver().is_some() && call.args.len() == 1 => {
            arg(call, 0, "mode")
        }
        _ => None,
    }
}

fn go_mode<'t>(call: &Call<'t>) -> Option<Node<'t>> {
    match call.callee.as_str() {
        "os.Chmod" | "os.Mkdir" | "os.MkdirAll" | "os.Lchmod" => call.positional(1),
        "os.WriteFile" | "ioutil.WriteFile" | "os.OpenFile" => call.positional(2),
        _ => None,
    }
}

const FS_RECEIVERS: &[&str] = &[
    "fs",
    "fsp",
    "fse",
    "fsExtra",
    "fsPromises",
    "promises",
    "fs.promises",
    "gracefulFs",
];

fn javascript_mode<'t>(cx: &Cx<'_, 't>, call: &Call<'t>) -> Option<Node<'t>> {
    let recv = call.receiver();
    let fs_call = match recv {
        Some(r) => FS_RECEIVERS.contains(&r) || r.ends_with(".promises"),
        None => cx.imports("fs") || cx.imports("fs/promises") || cx.imports("fs-extra"),
    };
    if !fs_call {
        return None;
    }
    let (index, option_only) = match call.name {
        "chmod" | "chmodSync" | "lchmod" | "lchmodSync" | "fchmod" | "fchmodSync" => (1, false),
        "mkdir" | "mkdirSync" | "mkdirp" | "ensureDir" | "ensureDirSync" => (1, false),
        "writeFile" | "writeFileSync" | "appendFile" | "appendFileSync" | "outputFile"
        | "outputFileSync" => (2, true),
        "open" | "openSync" => (2, false),
        _ => return None,
    };
    let a = call.positional(index)?;
    if a.kind_id() == kind!(cx.dialect, "object") {
        let mut cursor = a.walk();
        let pairs: Vec<Node> = a.named_children(&mut cursor).collect();
        return pairs.into_iter().find_map(|p| {
            (p.kind_id() == kind!(cx.dialect, "pair")
                && p.child_by_field_name("key")
                    .is_some_and(|k| cx.text(k).trim_matches(['"', '\'']) == "mode"))
            .then(|| p.child_by_field_name("value"))
            .flatten()
        });
    }
    (!option_only).then_some(a)
}

/// How a world-writable mode reads, or `None` when the mode is not one.
fn describe(cx: &Cx<'_, '_>, mode: Node<'_>) -> Option<String> {
    let text = cx.text(mode).trim();
    let value = match cx.value(mode) {
        // JavaScript accepts octal strings: "777", "0o777".
        ValueKind::StaticString(s) => {
            let s = s.trim();
            let digits = s
                .strip_prefix("0o")
                .or_else(|| s.strip_prefix('0'))
                .unwrap_or(s);
            u32::from_str_radix(digits, 8).ok()
        }
        ValueKind::OtherLiteral => parse_int(text),
        _ => None,
    };
    if let Some(v) = value {
        return world_writable(v).then(|| format!("{v:#o}"));
    }
    match cx.dialect {
        Dialect::Go => {
            // `os.ModePerm`, `fs.FileMode(0777)`, `os.FileMode(0o666)`.
            if text == "os.ModePerm" || text == "fs.ModePerm" {
                return Some("os.ModePerm (0o777)".to_string());
            }
            let conv = as_call(cx, mode).filter(|c| c.name == "FileMode" && c.args.len() == 1)?;
            let v = parse_int(cx.text(conv.positional(0)?))?;
            world_writable(v).then(|| format!("{v:#o}"))
        }
        Dialect::Python => {
            // `stat.S_IRWXU | stat.S_IRWXO`, but not `mode & ~stat.S_IWOTH`.
            let grants = text.contains("S_IWOTH") || text.contains("S_IRWXO");
            (grants && !text.contains('~')).then(|| {
                format!(
                    "`{}`",
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            })
        }
        _ => None,
    }
}

/// Whether the file sets the process umask to 0 (`os.umask(0)`, `process.umask(0o000)`).
fn clears_umask(cx: &Cx<'_, '_>) -> bool {
    static UMASK_ZERO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\bumask\(\s*0(?:o?0*)\s*\)").expect("valid umask pattern")
    });
    UMASK_ZERO.is_match(cx.src)
}
