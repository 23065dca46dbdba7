//! Where a Python module sits in its project: the directory it is imported from, its dotted
//! name, and where the project keeps its tests.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct ModuleLocation {
    /// The module's file, absolute.
    pub file: PathBuf,
    /// The directory on `sys.path` that imports it (above its outermost package).
    pub import_root: PathBuf,
    /// `pkg.sub.mod`.
    pub module: String,
}

impl ModuleLocation {
    pub fn of(file: &Path) -> std::io::Result<ModuleLocation> {
        let file = file.canonicalize()?;
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let mut parts = if stem == "__init__" {
            Vec::new()
        } else {
            vec![stem]
        };
        let mut dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        while dir.join("__init__.py").is_file() {
            let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
                break;
            };
            parts.insert(0, name.to_owned());
            let Some(parent) = dir.parent() else { break };
            dir = parent.to_path_buf();
        }
        Ok(ModuleLocation {
            file,
            import_root: dir,
            module: parts.join("."),
        })
    }

    /// The last part of the dotted name, for test file names.
    pub fn short_name(&self) -> &str {
        self.module.rsplit('.').next().unwrap_or(&self.module)
    }
}

/// The project root: the nearest ancestor with a project marker, else the import root.
pub fn project_root(location: &ModuleLocation) -> PathBuf {
    const MARKERS: &[&str] = &[
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        ".git",
        "tox.ini",
        "pytest.ini",
    ];
    let mut dir = Some(location.import_root.as_path());
    while let Some(d) = dir {
        if MARKERS.iter().any(|m| d.join(m).exists()) {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    location.import_root.clone()
}

/// The project's test directory (`tests/` or `test/`), or `tests/` to be created.
pub fn tests_dir(root: &Path) -> PathBuf {
    ["tests", "test"]
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| root.join("tests"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_are_walked_up_to_the_import_root() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("src/shop/billing");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(dir.path().join("src/shop/__init__.py"), "").unwrap();
        std::fs::write(pkg.join("__init__.py"), "").unwrap();
        std::fs::write(pkg.join("tax.py"), "").unwrap();
        std::fs::write(dir.path().join("pyproject.toml"), "").unwrap();
        let loc = ModuleLocation::of(&pkg.join("tax.py")).unwrap();
        assert_eq!(loc.module, "shop.billing.tax");
        assert_eq!(
            loc.import_root,
            dir.path().join("src").canonicalize().unwrap()
        );
        assert_eq!(project_root(&loc), dir.path().canonicalize().unwrap());
        assert_eq!(
            tests_dir(&project_root(&loc)),
            dir.path().canonicalize().unwrap().join("tests")
        );
    }
}
