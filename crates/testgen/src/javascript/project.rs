//! Where a JavaScript module sits: its package, whether it is an ES module, and which test
//! runner the package has installed.

use std::path::{Path, PathBuf};

/// The Node.js executable (`QA_AGENT_NODE`, default `node`).
pub fn node() -> String {
    std::env::var("QA_AGENT_NODE").unwrap_or_else(|_| "node".to_owned())
}

/// `node --version`, or why Node.js cannot be run.
pub fn node_version() -> Result<String, String> {
    match std::process::Command::new(node()).arg("--version").output() {
        Ok(out) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        }
        Ok(out) => Err(format!(
            "`{} --version` failed: {}",
            node(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("Node.js (`{}`) is not installed: {e}", node())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerKind {
    Vitest,
    Jest,
}

impl RunnerKind {
    pub fn name(self) -> &'static str {
        match self {
            RunnerKind::Vitest => "vitest",
            RunnerKind::Jest => "jest",
        }
    }
}

/// The test runner installed for the package: its entry script under `node_modules`.
#[derive(Debug, Clone)]
pub struct Runner {
    pub kind: RunnerKind,
    pub script: PathBuf,
    /// The `node_modules` directory it was found in (linked into validation copies).
    pub node_modules: PathBuf,
}

#[derive(Debug, Clone)]
pub struct JsModule {
    /// The module's file, absolute.
    pub file: PathBuf,
    /// The nearest directory with a `package.json` (else the file's directory).
    pub root: PathBuf,
    /// Loaded as an ES module (`.mjs`, TypeScript, or `.js` under `"type": "module"`).
    pub esm: bool,
    /// TypeScript: loaded through esbuild (`esbuild`, set once the runner is found).
    pub typescript: bool,
    pub esbuild: Option<PathBuf>,
}

impl JsModule {
    pub fn of(file: &Path) -> std::io::Result<JsModule> {
        let file = file.canonicalize()?;
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let root = dir
            .ancestors()
            .find(|d| d.join("package.json").is_file())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.clone());
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        let typescript = matches!(ext, "ts" | "mts" | "cts" | "tsx");
        let esm = match ext {
            "mjs" | "ts" | "mts" | "tsx" => true,
            "cjs" | "cts" => false,
            _ => package_type_is_module(&root),
        };
        Ok(JsModule {
            file,
            root,
            esm,
            typescript,
            esbuild: None,
        })
    }

    /// The path of the module relative to the package root, with `/` separators.
    pub fn relative(&self) -> String {
        self.file
            .strip_prefix(&self.root)
            .unwrap_or(&self.file)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The file name without its extension.
    pub fn stem(&self) -> &str {
        self.file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("mod")
    }

    /// A JavaScript identifier for the module's default export: the file's name, or for an
    /// `index.js` the package's (`ms`, `escapeHtml` for `escape-html`).
    pub fn binding(&self) -> String {
        let stem = self
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("mod");
        if stem != "index" {
            return identifier(stem);
        }
        let package = std::fs::read_to_string(self.root.join("package.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["name"].as_str().map(str::to_owned));
        let name = package
            .as_deref()
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_owned())
            .or_else(|| {
                self.root
                    .file_name()
                    .and_then(|s| s.to_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| stem.to_owned());
        identifier(&name)
    }

    /// The runner the package can use, found in the nearest `node_modules` up from the
    /// package that has one: Vitest first, then Jest, unless `prefer` names one that is
    /// installed there too.
    pub fn runner(&self, prefer: Option<RunnerKind>) -> Option<Runner> {
        for dir in self.root.ancestors() {
            let modules = dir.join("node_modules");
            let mut found: Vec<Runner> = [
                (RunnerKind::Vitest, modules.join("vitest/vitest.mjs")),
                (RunnerKind::Jest, modules.join("jest/bin/jest.js")),
            ]
            .into_iter()
            .filter(|(_, script)| script.is_file())
            .map(|(kind, script)| Runner {
                kind,
                script,
                node_modules: modules.clone(),
            })
            .collect();
            if let Some(i) = found.iter().position(|r| Some(r.kind) == prefer) {
                return Some(found.swap_remove(i));
            }
            if !found.is_empty() {
                return Some(found.swap_remove(0));
            }
        }
        None
    }
}

impl RunnerKind {
    /// `vitest` or `jest` (a user's preference); anything else is no runner.
    pub fn parse(name: &str) -> Option<RunnerKind> {
        [RunnerKind::Vitest, RunnerKind::Jest]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

fn package_type_is_module(root: &Path) -> bool {
    std::fs::read_to_string(root.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["type"] == "module")
}

/// `escape-html` → `escapeHtml`; a name that could not be an identifier gets a `mod` prefix.
pub fn identifier(text: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
            if upper && !out.is_empty() {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    if out.is_empty()
        || out.starts_with(|c: char| c.is_ascii_digit())
        || RESERVED.contains(&out.as_str())
    {
        out = format!(
            "mod{}{}",
            out[..out.len().min(1)].to_uppercase(),
            out.get(1..).unwrap_or("")
        );
    }
    out
}

const RESERVED: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "let",
    "static",
    "await",
    "enum",
];

/// The package's test directory (`test/`, `tests/`, `__tests__/`), or `tests/` to be created.
pub fn tests_dir(root: &Path) -> PathBuf {
    ["test", "tests", "__tests__"]
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| root.join("tests"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_come_from_file_names() {
        assert_eq!(identifier("escape-html"), "escapeHtml");
        assert_eq!(identifier("ms"), "ms");
        assert_eq!(identifier("2fa"), "mod2fa");
        assert_eq!(identifier("class"), "modClass");
    }

    #[test]
    fn the_preferred_runner_is_used_when_it_is_installed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.js"), "module.exports = 1;").unwrap();
        let nm = dir.path().join("node_modules");
        std::fs::create_dir_all(nm.join("vitest")).unwrap();
        std::fs::write(nm.join("vitest/vitest.mjs"), "").unwrap();
        let a = JsModule::of(&dir.path().join("a.js")).unwrap();
        // Only Vitest: it is used whatever is preferred.
        assert_eq!(
            a.runner(Some(RunnerKind::Jest)).unwrap().kind,
            RunnerKind::Vitest
        );
        std::fs::create_dir_all(nm.join("jest/bin")).unwrap();
        std::fs::write(nm.join("jest/bin/jest.js"), "").unwrap();
        assert_eq!(a.runner(None).unwrap().kind, RunnerKind::Vitest);
        assert_eq!(
            a.runner(Some(RunnerKind::Jest)).unwrap().kind,
            RunnerKind::Jest
        );
        assert_eq!(RunnerKind::parse("jest"), Some(RunnerKind::Jest));
        assert_eq!(RunnerKind::parse("pytest"), None);
    }

    #[test]
    fn module_kind_follows_package_type() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("package.json"), r#"{"type":"module"}"#).unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/a.js"), "export const a = 1;").unwrap();
        std::fs::write(dir.path().join("src/b.cjs"), "module.exports = 1;").unwrap();
        let a = JsModule::of(&dir.path().join("src/a.js")).unwrap();
        assert!(a.esm);
        assert_eq!(a.relative(), "src/a.js");
        assert!(!JsModule::of(&dir.path().join("src/b.cjs")).unwrap().esm);
        assert!(a.runner(None).is_none());
    }
}
