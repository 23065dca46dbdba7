//! Language-neutral views of syntax that rules and the walker work with.

use tree_sitter::Node;

/// What a node is to the walker. Everything else is [`Role::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Other,
    /// A function the language's reference tool lists (and so do we).
    Function,
    /// A class, struct `impl`, trait, interface or enum body: a naming scope for methods.
    Class,
    /// A namespace that prefixes names (Rust `mod`), but is not a class.
    Module,
    Call,
    Assign,
    Import,
    Comment,
    /// A loop whose body runs repeatedly (`for`, `while`, comprehension clauses, ...).
    Loop,
    /// A string literal (possibly with interpolation).
    String,
    /// An identifier or property name.
    Identifier,
}

/// What kind of function a declaration is, before scope decides method vs nested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeclKind {
    Named,
    Constructor,
    Anonymous,
}

/// A function definition as the language module reads it.
#[derive(Debug, Clone)]
pub(crate) struct FunctionDecl {
    pub name: String,
    /// 0-based row reported as the function's start (its name's line, not decorators').
    pub start_row: usize,
    pub params: Vec<String>,
    pub kind: DeclKind,
    pub is_async: bool,
    /// Visibility by the language's rules (`pub`, exported, no leading underscore...).
    pub is_public: bool,
    /// Whether a test framework marks it as a test (`#[test]`, `@Test`, `func TestX`).
    pub is_test_marked: bool,
    /// The receiver type for Go methods, the class for Java/JS methods found by the
    /// grammar rather than by scope.
    pub owner: Option<String>,
}

/// A call expression, normalised across languages.
#[derive(Debug, Clone)]
pub(crate) struct Call<'t> {
    pub node: Node<'t>,
    /// Source text of the called expression without whitespace differences,
    /// e.g. `subprocess.run`, `os.system`, `exec.Command`, `Regex::new`, `new RegExp`
    /// (constructor calls are prefixed by `new `).
    pub callee: String,
    /// The last segment of the callee: `run`, `system`, `Command`, `new`, `RegExp`.
    pub name: &'t str,
    pub args: Vec<Arg<'t>>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Arg<'t> {
    /// Keyword name for keyword arguments (`shell=True`).
    pub keyword: Option<&'t str>,
    pub value: Node<'t>,
}

impl<'t> Call<'t> {
    pub fn keyword(&self, name: &str) -> Option<Node<'t>> {
        self.args
            .iter()
            .find(|a| a.keyword == Some(name))
            .map(|a| a.value)
    }

    pub fn positional(&self, index: usize) -> Option<Node<'t>> {
        self.args
            .iter()
            .filter(|a| a.keyword.is_none())
            .nth(index)
            .map(|a| a.value)
    }

    /// Whether the callee is one of `names`, compared exactly.
    pub fn is(&self, names: &[&str]) -> bool {
        names.contains(&self.callee.as_str())
    }

    /// The receiver text before the last segment (`subprocess` in `subprocess.run`).
    pub fn receiver(&self) -> Option<&str> {
        let cut = self.callee.len().checked_sub(self.name.len() + 1)?;
        self.callee.get(..cut)
    }
}

/// An assignment, declaration with initialiser, or keyword argument.
#[derive(Debug, Clone)]
pub(crate) struct Assign<'t> {
    pub node: Node<'t>,
    /// The assigned target as written (`password`, `self.password`, `config["key"]`).
    pub target: &'t str,
    /// The last name in the target (`password`).
    pub target_name: &'t str,
    pub value: Option<Node<'t>>,
    /// The compound operator for `+=` and friends.
    pub operator: Option<&'t str>,
}

/// How an expression's value is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// A string fixed in the source (including concatenations of literals).
    StaticString(String),
    /// A number, boolean, null/None.
    OtherLiteral,
    /// A string built at run time: interpolation, formatting or concatenation with non-literals.
    DynamicString,
    /// Anything else (a variable, a call...).
    Other,
}

impl ValueKind {
    pub fn is_literal(&self) -> bool {
        matches!(self, ValueKind::StaticString(_) | ValueKind::OtherLiteral)
    }
}

/// What one node adds to cyclomatic complexity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CcStep {
    pub add: u32,
    /// Nothing inside this node counts for the current function (radon does not look
    /// inside `assert`, nor at a nested definition's decorators).
    pub skip_inside: bool,
}

impl CcStep {
    pub const NONE: CcStep = CcStep {
        add: 0,
        skip_inside: false,
    };

    pub fn add(n: u32) -> CcStep {
        CcStep {
            add: n,
            skip_inside: false,
        }
    }
}

/// Text of a node (empty for out-of-range nodes, which tree-sitter never produces for
/// the text it parsed).
pub(crate) fn text<'t>(node: Node<'_>, src: &'t str) -> &'t str {
    src.get(node.byte_range()).unwrap_or("")
}

/// Build a role table for a grammar from a classifier over kind ids.
pub(crate) fn build_roles(
    lang: &tree_sitter::Language,
    classify: impl Fn(u16) -> Role,
) -> Vec<Role> {
    (0..lang.node_kind_count() as u16).map(classify).collect()
}

/// Named children of `node` without extras (comments, line continuations), collected with
/// a cursor (indexing children one by one is quadratic in tree-sitter).
pub(crate) fn named_children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|n| !n.is_extra())
        .collect()
}

/// All children of `node`, including anonymous tokens.
pub(crate) fn children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

/// A callee as compact text (whitespace removed). A chain whose receiver holds whole
/// callbacks (`promise.then(() => { ... }).catch`) keeps only its last 160 bytes after
/// `…`: rules match callees by their end, and copying the callbacks for every call in the
/// chain was quadratic in the chain's length.
pub(crate) fn callee_text(s: &str) -> String {
    const MAX: usize = 240;
    if s.len() <= MAX {
        return squash(s);
    }
    let mut cut = s.len() - 160;
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    format!("…{}", squash(&s[cut..]))
}

/// Where the run of `is_word` characters that ends `s` begins (a byte index on a char
/// boundary, whatever the characters before it are).
pub(crate) fn trailing_word_start(s: &str, is_word: impl Fn(char) -> bool) -> usize {
    s.char_indices()
        .rev()
        .find(|&(_, c)| !is_word(c))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// Collapses runs of whitespace so `a . b` and `a.b` compare equal (without allocating
/// a new string in the usual case of text with no whitespace).
pub(crate) fn squash(s: &str) -> String {
    if s.bytes().any(|b| b.is_ascii_whitespace()) {
        s.split_whitespace().collect()
    } else {
        s.to_string()
    }
}
