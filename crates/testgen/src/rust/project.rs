//! The crate a Rust file belongs to, the path its items are reached by from an
//! integration test, and the toolchain that builds it.

use std::path::{Path, PathBuf};

use crate::GenerateError;

/// A library crate and where one of its files sits in it.
pub struct RustCrate {
    /// The directory copied into the sandbox: the workspace root when the package
    /// inherits from a workspace, else the package directory.
    pub root: PathBuf,
    /// The package directory (its `Cargo.toml`), where `tests/` lives.
    pub package: PathBuf,
    /// The library's name as code spells it (`strsim`, `my_crate`).
    pub name: String,
    /// The module the file is, from the crate root (`[]` for `lib.rs`, `["a", "b"]`).
    pub module_path: Vec<String>,
    /// No `edition` in the manifest: Rust 2015, where tests need `extern crate`.
    pub edition_2015: bool,
}

impl RustCrate {
    pub fn of(file: &Path) -> Result<RustCrate, GenerateError> {
        let file = file.canonicalize().map_err(GenerateError::Io)?;
        let package = file
            .ancestors()
            .skip(1)
            .find(|d| {
                std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[package]"))
            })
            .ok_or_else(|| {
                GenerateError::Toolchain(format!(
                    "{} is not in a Cargo package (no Cargo.toml with [package] above it)",
                    file.display()
                ))
            })?
            .to_path_buf();
        let manifest =
            std::fs::read_to_string(package.join("Cargo.toml")).map_err(GenerateError::Io)?;
        let toml: toml::Table = manifest.parse().map_err(|e| {
            GenerateError::Syntax(format!("in {}/Cargo.toml: {e}", package.display()))
        })?;
        let lib = toml.get("lib").and_then(|l| l.as_table());
        let lib_path = package.join(
            lib.and_then(|l| l.get("path"))
                .and_then(|p| p.as_str())
                .unwrap_or("src/lib.rs"),
        );
        if !lib_path.is_file() {
            return Err(GenerateError::Toolchain(format!(
                "{} has no library target ({} is missing): integration tests can only reach a library's public items",
                package.display(),
                lib_path.display()
            )));
        }
        let package_name = toml
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or_default();
        let name = lib
            .and_then(|l| l.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or(package_name)
            .replace('-', "_");
        let src = lib_path.parent().unwrap_or(&package).to_path_buf();
        let rel = file.strip_prefix(&src).map_err(|_| {
            GenerateError::Toolchain(format!(
                "{} is outside the library's source directory {}",
                file.display(),
                src.display()
            ))
        })?;
        let mut module_path: Vec<String> = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if module_path.first().is_some_and(|m| m == "bin") || file == package.join("src/main.rs") {
            return Err(GenerateError::Toolchain(
                "a binary's functions cannot be reached from tests outside it; move them into the library".into(),
            ));
        }
        if file == lib_path.canonicalize().unwrap_or(lib_path) {
            module_path.clear();
        } else if module_path.last().is_some_and(|m| m == "mod") {
            module_path.pop();
        }
        // A package that inherits from its workspace builds only inside it.
        let inherits = manifest.contains("workspace = true") || manifest.contains(".workspace");
        let root = if inherits {
            package
                .ancestors()
                .skip(1)
                .find(|d| {
                    std::fs::read_to_string(d.join("Cargo.toml"))
                        .is_ok_and(|t| t.contains("[workspace]"))
                })
                .unwrap_or(&package)
                .to_path_buf()
        } else {
            package.clone()
        };
        let edition_2015 = toml
            .get("package")
            .and_then(|p| p.get("edition"))
            .is_none_or(|e| e.as_str() == Some("2015"));
        Ok(RustCrate {
            root,
            package,
            name,
            module_path,
            edition_2015,
        })
    }

    /// What a test file starts with to see the crate.
    pub fn prelude(&self) -> String {
        if self.edition_2015 {
            format!("extern crate {};\n", self.name)
        } else {
            String::new()
        }
    }

    /// `strsim`, `my_crate::a::b`.
    pub fn path(&self) -> String {
        std::iter::once(self.name.as_str())
            .chain(self.module_path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("::")
    }

    /// The package directory relative to the copied root.
    pub fn package_in_root(&self) -> PathBuf {
        self.package
            .strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// The toolchain: its `bin` directory (cargo, rustc) and version.
pub struct Toolchain {
    pub bin: PathBuf,
    pub version: String,
    /// The host's cargo home, whose downloaded registry the sandbox reads.
    pub cargo_home: Option<PathBuf>,
}

pub fn toolchain() -> Result<Toolchain, GenerateError> {
    let missing = |why: String| {
        GenerateError::Toolchain(format!(
            "no Rust toolchain ({why}); install one with rustup (https://rustup.rs) to generate #[test]s"
        ))
    };
    let out = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| missing(format!("rustc: {e}")))?;
    if !out.status.success() {
        return Err(missing(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let bin = sysroot.join("bin");
    if !bin.join("cargo").is_file() {
        return Err(missing(format!("no cargo in {}", bin.display())));
    }
    let version = std::process::Command::new(bin.join("rustc"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .filter(|h| h.join("registry").is_dir());
    Ok(Toolchain {
        bin,
        version,
        cargo_home,
    })
}
