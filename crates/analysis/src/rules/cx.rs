//! What a rule sees while it checks a node, and where it reports.

use qa_core::Span;
use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::Node;

use crate::config::Thresholds;
use crate::lang::{Dialect, LanguageSpec, ValueKind};

/// Facts about the whole file that some rules need.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileFacts {
    /// JavaScript that declares with `let`/`const` more often than with `var`: a file where
    /// `var` is a choice rather than the house style.
    pub modern_js: bool,
    /// File name without directories.
    pub file_name: String,
    /// Lines that may hold a linter directive (`eslint-…`, `noqa`): 1-based number and
    /// byte range, so rules that honour them do not rescan the file per finding.
    pub directive_lines: Vec<(u32, std::ops::Range<usize>)>,
    /// JavaScript names assigned a `typeof` result (`var type = typeof value`).
    pub typeof_names: FxHashSet<Box<str>>,
}

impl FileFacts {
    pub fn new(path: &str, src: &str, dialect: Dialect) -> FileFacts {
        let js = matches!(
            dialect.language(),
            qa_core::Language::JavaScript | qa_core::Language::TypeScript
        );
        // `# noqa` is matched without regard to case, as flake8 and ruff do.
        static NOQA: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new("(?i-u)noqa").expect("valid regex"));
        let has = |text: &str| {
            if js {
                text.contains("eslint-")
            } else {
                NOQA.is_match(text)
            }
        };
        let mut directive_lines = Vec::new();
        let scan = (js || dialect == Dialect::Python) && has(src);
        if scan {
            let mut start = 0;
            for (i, line) in src.split_inclusive('\n').enumerate() {
                let text = line.trim_end_matches(['\n', '\r']);
                if has(text) {
                    directive_lines.push((i as u32 + 1, start..start + text.len()));
                }
                start += line.len();
            }
        }
        let mut typeof_names = FxHashSet::default();
        if js {
            for (at, _) in src.match_indices("typeof ") {
                // `name = typeof x` (not `==`): read back over `=` and the name.
                let before = src[..at].trim_end();
                let Some(before) = before.strip_suffix('=') else {
                    continue;
                };
                if before.ends_with(['=', '!', '<', '>']) {
                    continue;
                }
                let before = before.trim_end();
                let start = crate::lang::trailing_word_start(before, |c| {
                    c.is_alphanumeric() || c == '_' || c == '$'
                });
                if start < before.len() {
                    typeof_names.insert(before[start..].into());
                }
            }
        }
        FileFacts {
            modern_js: js && crate::walk::is_modern_js(src),
            file_name: path.rsplit('/').next().unwrap_or(path).to_string(),
            directive_lines,
            typeof_names,
        }
    }

    /// The lines that may hold linter directives, up to and including 1-based `last`.
    pub fn directive_lines_to<'s>(
        &self,
        src: &'s str,
        last: u32,
    ) -> impl Iterator<Item = (u32, &'s str)> + use<'_, 's> {
        self.directive_lines
            .iter()
            .take_while(move |(n, _)| *n <= last)
            .map(move |(n, r)| (*n, &src[r.clone()]))
    }
}

/// A finding before suppression and fingerprinting.
#[derive(Debug, Clone)]
pub(crate) struct RawFinding {
    pub rule: &'static super::RuleMeta,
    pub message: String,
    pub span: Span,
    pub function: Option<String>,
}

/// Names whose value is a literal at this point: assigned one in the current function, or
/// a module-level constant the function neither assigns nor takes as a parameter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Literals<'a> {
    /// The current function's assignments (name, holds a literal) and parameters.
    pub function: Option<FunctionNames<'a>>,
    pub module: &'a FxHashSet<Box<str>>,
}

/// What a function assigned so far, and its parameters.
pub(crate) type FunctionNames<'a> = (&'a FxHashMap<Box<str>, bool>, &'a [String]);

impl Literals<'_> {
    pub fn contains(&self, name: &str) -> bool {
        if let Some((assigned, params)) = self.function {
            if let Some(literal) = assigned.get(name) {
                return *literal;
            }
            if params
                .iter()
                .any(|p| p.trim_start_matches(['*', '&']) == name)
            {
                return false;
            }
        }
        self.module.contains(name)
    }
}

/// The function enclosing the node being checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FnCtx<'a> {
    pub qualified_name: &'a str,
    pub is_async: bool,
}

/// A loop enclosing the node being checked, within the current function.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopCtx<'t> {
    pub node: Node<'t>,
    /// The part evaluated once (`items` in `for x in items`), if any.
    pub once: Option<Node<'t>>,
}

pub(crate) struct Cx<'a, 't> {
    pub src: &'t str,
    pub dialect: Dialect,
    pub lang: &'static dyn LanguageSpec,
    pub path: &'a str,
    pub function: Option<FnCtx<'a>>,
    /// Loops of the current function that contain the current node in their repeated part.
    pub loops: &'a [LoopCtx<'t>],
    pub thresholds: &'a Thresholds,
    /// Modules the file imported before this point (`subprocess`, `child_process`, ...).
    pub imports: &'a [String],
    /// Local variables of the current function last assigned a list, array or vector.
    pub list_locals: Option<&'a FxHashSet<Box<str>>>,
    pub literals: Literals<'a>,
    pub file: &'a FileFacts,
    /// Ancestors of the node being checked, outermost first (empty for function, class and
    /// file hooks). Cheaper than `Node::parent`, which walks down from the root.
    pub ancestors: &'a [Node<'t>],
    /// The node being checked (`None` for function, class and file hooks).
    pub here: Option<Node<'t>>,
    pub(crate) rule: &'static super::RuleMeta,
    pub(crate) out: &'a mut Vec<RawFinding>,
}

impl<'a, 't> Cx<'a, 't> {
    pub fn text(&self, node: Node<'_>) -> &'t str {
        crate::lang::text(node, self.src)
    }

    pub fn value(&self, node: Node<'_>) -> ValueKind {
        self.lang.value_kind(node, self.src)
    }

    /// The parent of the node being checked.
    pub fn parent(&self) -> Option<Node<'t>> {
        self.ancestors.last().copied()
    }

    /// The parent of `node`, read from the walker's ancestor stack when `node` is the node
    /// being checked or one of its ancestors; otherwise `Node::parent`, which walks down
    /// from the root and costs thousands of instructions in a deep tree.
    pub fn parent_of<'n>(&self, node: Node<'n>) -> Option<Node<'n>>
    where
        't: 'n,
    {
        let at = if self.here.is_some_and(|h| h.id() == node.id()) {
            Some(self.ancestors.len())
        } else {
            self.ancestors.iter().rposition(|a| a.id() == node.id())
        };
        match at {
            Some(i) if i > 0 => Some(self.ancestors[i - 1]),
            _ => node.parent(),
        }
    }

    pub fn in_loop(&self) -> bool {
        !self.loops.is_empty()
    }

    pub fn in_async_function(&self) -> bool {
        self.function.is_some_and(|f| f.is_async)
    }

    /// Whether the file imports `module` (exactly, or a submodule/`node:` form of it).
    pub fn imports(&self, module: &str) -> bool {
        self.imports.iter().any(|i| {
            let i = i.strip_prefix("node:").unwrap_or(i);
            i == module
                || i.strip_prefix(module)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('/'))
        })
    }

    /// Whether `name` is a variable that holds a literal here (see [`Literals`]).
    pub fn is_literal_name(&self, name: &str) -> bool {
        self.literals.contains(name)
    }

    /// Whether `name` is a local variable of the current function holding a list.
    pub fn is_list_local(&self, name: &str) -> bool {
        self.list_locals.is_some_and(|l| l.contains(name))
    }

    /// Reports a finding spanning `node`.
    pub fn report(&mut self, node: Node<'_>, message: impl Into<String>) {
        let span = span_of(node, self.src);
        self.report_span(span, message);
    }

    pub fn report_span(&mut self, span: Span, message: impl Into<String>) {
        self.out.push(RawFinding {
            rule: self.rule,
            message: message.into(),
            span,
            function: self.function.map(|f| f.qualified_name.to_string()),
        });
    }
}

/// 1-based lines and character columns of a node.
pub(crate) fn span_of(node: Node<'_>, src: &str) -> Span {
    let (s, e) = (node.start_position(), node.end_position());
    let col = |byte: usize, row_col: usize| {
        // Columns in characters, counting from the line start.
        let line_start = byte - row_col;
        src.get(line_start..byte)
            .map_or(row_col, |t| t.chars().count()) as u32
            + 1
    };
    Span {
        start_line: s.row as u32 + 1,
        start_col: col(node.start_byte(), s.column),
        end_line: e.row as u32 + 1,
        end_col: col(node.end_byte(), e.column),
    }
}

/// A span covering line `line` of a function's head: where function-level findings point,
/// so that they land on the `def`/`fn` line rather than on a decorator.
pub(crate) fn span_at_line(node: Node<'_>, line: u32, src: &str) -> Span {
    let row = line.saturating_sub(1) as usize;
    let start = node.start_position();
    let col = if start.row == row {
        span_of(node, src).start_col
    } else {
        let line_text = src.lines().nth(row).unwrap_or("");
        (line_text.chars().take_while(|c| c.is_whitespace()).count() + 1) as u32
    };
    Span {
        start_line: line,
        start_col: col,
        end_line: line,
        end_col: col,
    }
}
