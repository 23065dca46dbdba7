//! Languages and dialects: which grammar parses a file, and everything that depends on a
//! grammar's node kinds.
//!
//! Each language module implements [`LanguageSpec`]: it classifies nodes into the few
//! [`Role`]s the walker cares about, extracts functions, classes, imports, calls and
//! assignments into language-neutral views, and computes the complexity metrics by that
//! language's counting rules. The walker, rules and test mapping never compare kind strings.

pub(crate) mod go;
pub(crate) mod java;
pub(crate) mod javascript;
mod kinds;
pub(crate) mod python;
pub(crate) mod rust;
mod syntax;
pub(crate) mod ts_compat;

use std::path::Path;

use qa_core::Language;
use tree_sitter::Node;

pub(crate) use kinds::kind_table;
pub(crate) use syntax::*;

/// A grammar variant. TSX and TypeScript are one language with two grammars; JavaScript's
/// grammar already covers JSX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Rust,
    Go,
    Java,
}

impl Dialect {
    pub const ALL: [Dialect; 7] = [
        Dialect::Python,
        Dialect::JavaScript,
        Dialect::TypeScript,
        Dialect::Tsx,
        Dialect::Rust,
        Dialect::Go,
        Dialect::Java,
    ];

    /// Position in [`Dialect::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn language(self) -> Language {
        match self {
            Dialect::Python => Language::Python,
            Dialect::JavaScript => Language::JavaScript,
            Dialect::TypeScript | Dialect::Tsx => Language::TypeScript,
            Dialect::Rust => Language::Rust,
            Dialect::Go => Language::Go,
            Dialect::Java => Language::Java,
        }
    }

    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Dialect::Python => tree_sitter_python::LANGUAGE.into(),
            Dialect::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Dialect::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Dialect::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Dialect::Rust => tree_sitter_rust::LANGUAGE.into(),
            Dialect::Go => tree_sitter_go::LANGUAGE.into(),
            Dialect::Java => tree_sitter_java::LANGUAGE.into(),
        }
    }

    /// Detects the dialect from a file name's extension.
    pub fn from_path(path: &Path) -> Option<Dialect> {
        let ext = path.extension()?.to_str()?;
        Some(match ext {
            "py" | "pyi" => Dialect::Python,
            "js" | "jsx" | "mjs" | "cjs" => Dialect::JavaScript,
            "ts" | "mts" | "cts" => Dialect::TypeScript,
            "tsx" => Dialect::Tsx,
            "rs" => Dialect::Rust,
            "go" => Dialect::Go,
            "java" => Dialect::Java,
            _ => return None,
        })
    }

    /// The language module for this dialect.
    pub(crate) fn spec(self) -> &'static dyn LanguageSpec {
        match self {
            Dialect::Python => python::spec(),
            Dialect::JavaScript => javascript::spec_js(),
            Dialect::TypeScript => javascript::spec_ts(),
            Dialect::Tsx => javascript::spec_tsx(),
            Dialect::Rust => rust::spec(),
            Dialect::Go => go::spec(),
            Dialect::Java => java::spec(),
        }
    }
}

/// The per-language knowledge the rest of the engine relies on.
pub(crate) trait LanguageSpec: Sync {
    /// Role of every node kind of the grammar, indexed by kind id.
    fn roles(&self) -> &[Role];

    fn role(&self, node: Node<'_>) -> Role {
        self.roles()
            .get(node.kind_id() as usize)
            .copied()
            .unwrap_or(Role::Other)
    }

    /// Describes a node whose role is [`Role::Function`]; `None` when the node is not a
    /// function after all (e.g. a body-less declaration the language does not list).
    fn function(&self, node: Node<'_>, src: &str) -> Option<FunctionDecl>;

    /// [`LanguageSpec::function`] for a node whose ancestors (outermost first) the caller
    /// knows, for languages that name a function after where it is defined.
    fn function_in(
        &self,
        node: Node<'_>,
        _ancestors: &[Node<'_>],
        src: &str,
    ) -> Option<FunctionDecl> {
        self.function(node, src)
    }

    /// The name of a node whose role is [`Role::Class`]; `None` for anonymous classes.
    fn class_name(&self, node: Node<'_>, src: &str) -> Option<String>;

    /// Module paths imported by a node whose role is [`Role::Import`].
    fn imports(&self, node: Node<'_>, src: &str, out: &mut Vec<String>);

    /// A module a call imports (`require("x")`, `import("x")`).
    fn import_from_call(&self, _call: &Call<'_>, _src: &str) -> Option<String> {
        None
    }

    /// A view of a node whose role is [`Role::Call`].
    fn call<'t>(&self, node: Node<'t>, src: &'t str) -> Option<Call<'t>>;

    /// A view of a node whose role is [`Role::Assign`].
    fn assignment<'t>(&self, node: Node<'t>, src: &'t str) -> Option<Assign<'t>>;

    /// Classifies an expression as a literal, a string built at run time, or other.
    fn value_kind(&self, node: Node<'_>, src: &str) -> ValueKind;

    /// The collection a loop iterates over, when it has one (`for x in items`).
    fn loop_iterable<'t>(&self, node: Node<'t>) -> Option<Node<'t>>;

    /// Whether a declaration (`const names: string[] = ...`) gives its variable a list type.
    fn is_list_typed(&self, _declarator: Node<'_>, _src: &str) -> bool {
        false
    }

    /// The name a loop binds on each iteration, when it is a single name (`x` in
    /// `for x in items`, `for (const x of items)`).
    fn loop_target<'t>(&self, _node: Node<'t>) -> Option<Node<'t>> {
        None
    }

    /// Whether `node` is a list, tuple, set or array written out with only literal
    /// elements (`("vim", "nano")`): a loop over it binds only literals.
    fn is_literal_collection(&self, _node: Node<'_>, _src: &str) -> bool {
        false
    }

    /// What `node` adds to the cyclomatic complexity of the innermost function, by this
    /// language's reference tool's rules. The walker calls it for every node of a function
    /// (not of nested functions or classes, which count for themselves), from
    /// [`LanguageSpec::cc_start`] on.
    fn cc_increment(&self, node: Node<'_>, parent: Option<Node<'_>>, src: &str) -> CcStep;

    /// Where counting starts in a function: its body for languages whose reference tool
    /// ignores the signature (decorators, parameter defaults).
    fn cc_start(&self, func: Node<'_>) -> usize {
        func.start_byte()
    }

    /// Whether `node` (a child of `parent`) opens a nesting level: `if` (not the `if` of
    /// an `else if`), loops, `switch`/`match`, `try`...
    fn is_nesting_block(&self, node: Node<'_>, parent: Option<Node<'_>>) -> bool;

    /// SonarSource cognitive complexity's view of the language, for the walker; `None` for
    /// Python, which follows complexipy (`python::Cpx`).
    fn sonar(&self) -> Option<&dyn crate::metrics::cognitive::SonarLanguage> {
        None
    }

    /// For a node whose role is [`Role::Module`]: its name and whether it holds tests
    /// (Rust's `#[cfg(test)] mod tests`).
    fn module_scope(&self, _node: Node<'_>, _src: &str) -> Option<(String, bool)> {
        None
    }

    /// Code the grammar leaves unparsed that should be analysed as items: for each, the
    /// byte offset of the node that holds it and the range to parse (Rust's `cfg_x! { fn
    /// ... }` item macros).
    fn embedded_items(&self, _root: Node<'_>) -> Vec<(usize, tree_sitter::Range)> {
        Vec::new()
    }

    /// Whether an expression evaluates to a list, array or vector (linear membership tests).
    fn is_list_like(&self, _node: Node<'_>, _src: &str) -> bool {
        false
    }

    /// Whether an expression is a function literal (lambda, arrow function, closure).
    fn is_callable_literal(&self, node: Node<'_>) -> bool;

    /// The node kinds for which [`LanguageSpec::cc_increment`],
    /// [`LanguageSpec::is_nesting_block`] and [`LanguageSpec::is_callable_literal`] can
    /// be true: the walker asks only about those.
    fn metric_kinds(&self) -> MetricKinds;
}

/// See [`LanguageSpec::metric_kinds`].
pub(crate) struct MetricKinds {
    pub cc: Vec<u16>,
    pub nesting: Vec<u16>,
    pub callable: Vec<u16>,
    /// Kinds for which `SonarLanguage::cog_kind` can be something else than `Other`.
    pub cog: Vec<u16>,
    /// Binary expressions (which may be `&&`/`||`), and parenthesised expressions.
    pub logical: Vec<u16>,
    pub paren: Vec<u16>,
}

/// Per node kind of a dialect, the `FLAG_*` bits: may add to cyclomatic complexity, may
/// open a nesting level, is a function literal, matters to cognitive complexity...
pub(crate) fn kind_flags(dialect: Dialect) -> &'static [u8] {
    static TABLES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    &TABLES.get_or_init(|| {
        Dialect::ALL
            .iter()
            .map(|d| {
                let mut flags = vec![0u8; d.grammar().node_kind_count()];
                let m = d.spec().metric_kinds();
                for (kinds, bit) in [
                    (&m.cc, FLAG_CC),
                    (&m.nesting, FLAG_NESTING),
                    (&m.callable, FLAG_CALLABLE),
                    (&m.cog, FLAG_COG),
                    (&m.logical, FLAG_LOGICAL),
                    (&m.paren, FLAG_PAREN),
                ] {
                    for &k in kinds {
                        if let Some(f) = flags.get_mut(k as usize) {
                            *f |= bit;
                        }
                    }
                }
                flags
            })
            .collect()
    })[dialect.index()]
}

/// Whether each node kind of a dialect is named (a table lookup instead of a call into
/// tree-sitter for every node).
pub(crate) fn named_kinds(dialect: Dialect) -> &'static [bool] {
    static TABLES: std::sync::OnceLock<Vec<Vec<bool>>> = std::sync::OnceLock::new();
    &TABLES.get_or_init(|| {
        Dialect::ALL
            .iter()
            .map(|d| {
                let g = d.grammar();
                (0..g.node_kind_count() as u16)
                    .map(|k| g.node_kind_is_named(k))
                    .collect()
            })
            .collect()
    })[dialect.index()]
}

pub(crate) const FLAG_CC: u8 = 1;
pub(crate) const FLAG_NESTING: u8 = 2;
pub(crate) const FLAG_CALLABLE: u8 = 4;
pub(crate) const FLAG_COG: u8 = 8;
pub(crate) const FLAG_LOGICAL: u8 = 16;
pub(crate) const FLAG_PAREN: u8 = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_languages_by_extension() {
        let cases = [
            ("a/b.py", Some(Dialect::Python)),
            ("x.jsx", Some(Dialect::JavaScript)),
            ("x.mjs", Some(Dialect::JavaScript)),
            ("x.cjs", Some(Dialect::JavaScript)),
            ("x.ts", Some(Dialect::TypeScript)),
            ("x.tsx", Some(Dialect::Tsx)),
            ("lib.rs", Some(Dialect::Rust)),
            ("main.go", Some(Dialect::Go)),
            ("A.java", Some(Dialect::Java)),
            ("README.md", None),
            ("Makefile", None),
        ];
        for (path, want) in cases {
            assert_eq!(Dialect::from_path(Path::new(path)), want, "{path}");
        }
    }

    #[test]
    fn every_grammar_loads_and_every_kind_table_resolves() {
        for d in Dialect::ALL {
            let mut p = tree_sitter::Parser::new();
            p.set_language(&d.grammar()).expect("grammar ABI supported");
            // Building the role table resolves every kind name the module uses.
            assert!(!d.spec().roles().is_empty());
        }
    }
}
