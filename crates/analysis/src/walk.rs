//! One pass over a file's syntax tree that collects functions, classes, imports, comments,
//! test references and rule findings; then per-function metrics and suppressions.
//!
//! Everything is gathered in a single cursor walk so that analysis costs little more than
//! parsing; metrics that need a function's whole subtree run after it, once per function.

use std::time::Duration;

use qa_core::Finding;
use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::{Node, Tree};

use crate::config::Thresholds;
use crate::lang::python::Cpx;
use crate::lang::{
    DeclKind, Dialect, FLAG_CALLABLE, FLAG_CC, FLAG_COG, FLAG_LOGICAL, FLAG_NESTING, FLAG_PAREN,
    LanguageSpec, Role,
};
use crate::metrics::cognitive::{CogKind, SonarLanguage, operator_runs};
use crate::metrics::nloc::CodeLines;
use crate::model::{ClassInfo, Diagnostic, DiagnosticKind, FunctionInfo, FunctionKind};
use crate::rules::cx::{FileFacts, FnCtx, Literals, LoopCtx, RawFinding};
use crate::rules::registry::{Dispatch, DispatchTables, RuleSelection};
use crate::rules::{Cx, Rule};
use crate::suppress::InlineSuppressions;
use crate::testmap::{FileRefs, TestUnit, conventions};

/// Settings that affect a single file's results (and so are part of its cache key).
#[derive(Debug, Clone)]
pub(crate) struct FileSettings {
    pub thresholds: Thresholds,
    pub rules: RuleSelection,
    /// The enabled rules by hook, built from `rules`.
    pub dispatch: std::sync::Arc<DispatchTables>,
    pub parse_timeout: Duration,
}

/// What analysing one file's text produces.
pub(crate) struct FileOutcome {
    pub lines: u32,
    pub nloc: u32,
    pub is_test: bool,
    pub imports: Vec<String>,
    pub functions: Vec<FunctionInfo>,
    pub classes: Vec<ClassInfo>,
    pub findings: Vec<Finding>,
    pub refs: FileRefs,
    pub diagnostics: Vec<Diagnostic>,
}

pub(crate) fn analyze_text(
    path: &str,
    text: &str,
    dialect: Dialect,
    settings: &FileSettings,
) -> FileOutcome {
    let is_test_file = conventions::is_test_path(path, dialect.language());
    let line_count = text.lines().count().max(usize::from(!text.is_empty()));
    let mut diagnostics = Vec::new();
    let tree = match crate::parse::parse(dialect, text.as_bytes(), settings.parse_timeout) {
        Ok(tree) => tree,
        Err(e) => {
            diagnostics.push(Diagnostic {
                path: path.to_string(),
                line: None,
                kind: DiagnosticKind::ParseTimeout,
                message: format!("{e}; the file was skipped (raise `analysis.parse_timeout_ms` in qa-agent.toml if it is legitimate)"),
            });
            return FileOutcome {
                lines: line_count as u32,
                nloc: 0,
                is_test: is_test_file,
                imports: Vec::new(),
                functions: Vec::new(),
                classes: Vec::new(),
                findings: Vec::new(),
                refs: FileRefs::default(),
                diagnostics,
            };
        }
    };
    let tree = match typescript_reparse(&tree, text, dialect, settings) {
        Some(better) => better,
        None => tree,
    };
    if let Some(d) = syntax_error(&tree, path) {
        diagnostics.push(d);
    }
    let embedded = parse_embedded(&tree, text, dialect, settings);
    let mut w = Walker::new(path, text, dialect, settings, is_test_file, line_count);
    w.embedded = embedded
        .iter()
        .map(|(at, t)| (*at, t.root_node()))
        .collect();
    w.walk(tree.root_node());
    let mut out = w.finish();
    out.diagnostics = diagnostics;
    out
}

/// TypeScript newer than the grammar (variance annotations, signatures after a member
/// without `;`): reparses a file that had errors with those rewritten, and returns the new
/// tree if it has fewer errors. Positions are unchanged, so the tree reads the original text.
fn typescript_reparse(
    tree: &Tree,
    text: &str,
    dialect: Dialect,
    settings: &FileSettings,
) -> Option<Tree> {
    if dialect != Dialect::TypeScript || !tree.root_node().has_error() {
        return None;
    }
    let rewritten = crate::lang::ts_compat::rewrite(text)?;
    let again = crate::parse::parse(dialect, rewritten.as_bytes(), settings.parse_timeout).ok()?;
    (error_regions(&again).0 < error_regions(tree).0).then_some(again)
}

/// Parses code the grammar leaves opaque (Rust item macros), transitively: a macro body may
/// hold more item macros. Keyed by the byte offset of the macro invocation.
fn parse_embedded(
    tree: &Tree,
    text: &str,
    dialect: Dialect,
    settings: &FileSettings,
) -> Vec<(usize, Tree)> {
    let spec = dialect.spec();
    let mut out: Vec<(usize, Tree)> = Vec::new();
    let mut pending = spec.embedded_items(tree.root_node());
    // Bounded: a file cannot nest macros deeper than it has bytes, but keep it sane.
    while let Some((at, range)) = pending.pop() {
        if out.len() >= 10_000 {
            break;
        }
        let Ok(sub) = crate::parse::parse_ranges(
            dialect,
            text.as_bytes(),
            Some(range),
            settings.parse_timeout,
        ) else {
            continue;
        };
        pending.extend(spec.embedded_items(sub.root_node()));
        out.push((at, sub));
    }
    out
}

/// The first syntax error, as a diagnostic; analysis continues with what parsed.
fn syntax_error(tree: &Tree, path: &str) -> Option<Diagnostic> {
    let (count, first) = error_regions(tree);
    let line = first?.start_position().row as u32 + 1;
    Some(Diagnostic {
        path: path.to_string(),
        line: Some(line),
        kind: DiagnosticKind::SyntaxError,
        message: format!(
            "syntax error at line {line} ({count} region{} could not be parsed); metrics and findings cover the rest of the file",
            if count == 1 { "" } else { "s" },
        ),
    })
}

/// How many error or missing nodes the tree has (outermost only), and the first.
fn error_regions(tree: &Tree) -> (usize, Option<Node<'_>>) {
    let root = tree.root_node();
    if !root.has_error() {
        return (0, None);
    }
    let mut cursor = root.walk();
    let mut count = 0usize;
    let mut first: Option<Node> = None;
    loop {
        let n = cursor.node();
        let mut descend = n.has_error();
        if n.is_error() || n.is_missing() {
            count += 1;
            first.get_or_insert(n);
            descend = false;
        }
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                // A tree with errors has at least one error or missing node.
                return (count.max(1), first.or(Some(root)));
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Function(usize),
    Class(usize),
    Module,
    /// A JavaScript `it(...)`/`test(...)` block.
    TestCase,
}

struct Scope {
    node_id: usize,
    kind: ScopeKind,
    name: String,
    is_test: bool,
    /// Index into `refs.tests` receiving references made in this scope, when in test code.
    unit: Option<usize>,
    /// In effect inside this scope (inherited from enclosing scopes): the function whose
    /// metrics nodes count toward, the nearest function, the test unit, and whether this is
    /// test code. Kept here so the per-node questions are O(1).
    metric: Option<usize>,
    function: Option<usize>,
    unit_in_effect: Option<usize>,
    in_test: bool,
}

struct PendingFunction<'t> {
    info: FunctionInfo,
    node: Node<'t>,
    class: Option<usize>,
    is_async: bool,
    /// Locals last assigned a list-like value.
    list_locals: FxHashSet<Box<str>>,
    /// Every name assigned in the function so far, and whether its last value was a
    /// literal (so `cmd = "ls"; run(cmd, shell=True)` is not a command built at run time).
    assigned: FxHashMap<Box<str>, bool>,
    /// Decision points counted so far (cyclomatic complexity minus one).
    decisions: u32,
    /// Counting starts here (the body, for languages that ignore the signature).
    count_from: usize,
    /// Nothing before this byte counts (inside an `assert`, a nested definition's
    /// decorators).
    skip_until: usize,
    depth: u32,
    max_depth: u32,
    /// End of the outermost lambda inside the function seen so far.
    lambda_until: usize,
    /// Calls itself by bare name outside lambdas (complexipy's recursion increment).
    recursive: bool,
    /// Python cognitive complexity counted during the walk: the score at level 0, and how
    /// many of its increments grow with the nesting level.
    cog_base: u32,
    cog_nested: u32,
    /// The enclosing function this one's score adds into, and at which level.
    cog_into: Option<(usize, u32)>,
}

struct PendingClass {
    info: ClassInfo,
}

struct Walker<'a, 't> {
    path: &'a str,
    src: &'t str,
    dialect: Dialect,
    spec: &'static dyn LanguageSpec,
    roles: &'static [Role],
    kind_flags: &'static [u8],
    named_kinds: &'static [bool],
    dispatch: &'a Dispatch,
    settings: &'a FileSettings,
    is_test_file: bool,
    scopes: Vec<Scope>,
    /// Enclosing loops, innermost last, with the id of the node that ends each.
    loop_ids: Vec<usize>,
    loops: Vec<LoopCtx<'t>>,
    functions: Vec<PendingFunction<'t>>,
    classes: Vec<PendingClass>,
    imports: Vec<String>,
    comments: Vec<(usize, &'t str)>,
    code: CodeLines,
    raw: Vec<RawFinding>,
    refs: FileRefs,
    module_unit: Option<usize>,
    line_count: usize,
    /// Roots of separately parsed macro bodies, by the macro's start byte.
    embedded: std::collections::HashMap<usize, Node<'t>>,
    facts: FileFacts,
    /// Names referenced from test code, by text, to their index in `refs.names`.
    interned: rustc_hash::FxHashMap<&'t str, u32>,
    /// Ancestors of the node being visited, innermost last.
    parents: Vec<Node<'t>>,
    /// `parents[i].kind_id()`, kept alongside.
    parent_kinds: Vec<u16>,
    /// Module-level names last assigned a literal.
    module_literals: FxHashSet<Box<str>>,
    /// Python only: complexipy states of the ancestors, and how many named children of
    /// each have been entered so far.
    cpx_stack: Vec<Cpx>,
    named_seen: Vec<u16>,
    /// The state of the node being entered.
    cpx_here: Cpx,
    /// Brace languages: cognitive-complexity context for the children of each ancestor,
    /// the context for the node being entered, and the level at which it sits.
    sonar: Option<&'static dyn SonarLanguage>,
    sonar_stack: Vec<SonarCtx>,
    sonar_here: SonarCtx,
    sonar_level: u32,
}

/// Cognitive complexity context a node gives its children (SonarSource's rules).
#[derive(Debug, Clone, Copy, Default)]
struct SonarCtx {
    /// Level of children relative to the function that owns them.
    level: u32,
    /// Level of a structure's condition (its own level).
    cond_level: u32,
    /// The node is a structure whose condition field stays at `cond_level`.
    structure: bool,
    /// Children continue a sequence of boolean operators.
    chain: bool,
}

impl<'a, 't> Walker<'a, 't> {
    fn new(
        path: &'a str,
        src: &'t str,
        dialect: Dialect,
        settings: &'a FileSettings,
        is_test_file: bool,
        line_count: usize,
    ) -> Self {
        let spec = dialect.spec();
        let mut refs = FileRefs::default();
        let module_unit = is_test_file.then(|| {
            refs.tests.push(TestUnit::new("<module>".into(), 1, false));
            0
        });
        Walker {
            path,
            src,
            dialect,
            spec,
            roles: spec.roles(),
            kind_flags: crate::lang::kind_flags(dialect),
            named_kinds: crate::lang::named_kinds(dialect),
            dispatch: settings.dispatch.get(dialect),
            settings,
            is_test_file,
            scopes: Vec::new(),
            loop_ids: Vec::new(),
            loops: Vec::new(),
            functions: Vec::new(),
            classes: Vec::new(),
            imports: Vec::new(),
            comments: Vec::new(),
            code: CodeLines::new(line_count),
            raw: Vec::new(),
            refs,
            module_unit,
            line_count,
            embedded: std::collections::HashMap::new(),
            interned: rustc_hash::FxHashMap::default(),
            parents: Vec::new(),
            parent_kinds: Vec::new(),
            module_literals: FxHashSet::default(),
            cpx_stack: Vec::new(),
            named_seen: Vec::new(),
            cpx_here: Cpx::Off,
            sonar: spec.sonar(),
            sonar_stack: Vec::new(),
            sonar_here: SonarCtx::default(),
            sonar_level: 0,
            facts: FileFacts::new(path, src, dialect),
        }
    }

    fn walk(&mut self, root: Node<'t>) {
        let base = self.parents.len();
        let python = self.dialect == Dialect::Python;
        let mut cursor = root.walk();
        loop {
            let node = cursor.node();
            // Each node's kind is read once here and kept on the parent stack: crossing
            // into the C library for it was a measurable share of a run.
            let kind = node.kind_id();
            if python {
                self.cpx_enter(node, kind, &cursor);
            } else if let Some(sonar) = self.sonar {
                self.sonar_enter(sonar, node, kind, &cursor);
            }
            let descend = self.enter(node, kind);
            if descend && cursor.goto_first_child() {
                self.parents.push(node);
                self.parent_kinds.push(kind);
                if python {
                    self.cpx_stack.push(self.cpx_here);
                    self.named_seen.push(0);
                } else {
                    self.sonar_stack.push(self.sonar_here);
                }
                continue;
            }
            if descend && node.child_count() == 0 {
                // A token's last row from its text: cheaper than asking for its end point.
                let row = node.start_position().row;
                let text = self
                    .src
                    .as_bytes()
                    .get(node.byte_range())
                    .unwrap_or_default();
                self.code
                    .mark(row, row + text.iter().filter(|&&b| b == b'\n').count());
            }
            let (mut left, mut left_kind) = (node, kind);
            loop {
                self.leave(left, left_kind);
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    self.parents.truncate(base);
                    self.parent_kinds.truncate(base);
                    if python {
                        self.cpx_stack.truncate(base);
                        self.named_seen.truncate(base);
                    } else {
                        self.sonar_stack.truncate(base);
                    }
                    return;
                }
                // The cursor is back on the parent: the node to leave next.
                left = self.parents.pop().unwrap_or(root);
                left_kind = self.parent_kinds.pop().unwrap_or(0);
                if python {
                    self.cpx_stack.pop();
                    self.named_seen.pop();
                } else {
                    self.sonar_stack.pop();
                }
            }
        }
    }

    /// Brace languages: SonarSource cognitive complexity for `node`, and the context its
    /// children see.
    fn sonar_enter(
        &mut self,
        sonar: &dyn SonarLanguage,
        node: Node<'t>,
        kind: u16,
        cursor: &tree_sitter::TreeCursor<'t>,
    ) {
        let p = self.sonar_stack.last().copied().unwrap_or_default();
        let flags = self.kind_flags.get(kind as usize).copied().unwrap_or(0);
        if flags & (FLAG_COG | FLAG_LOGICAL | FLAG_PAREN) == 0 && !p.structure {
            // The common case: nothing here matters; children continue at this level.
            self.sonar_level = p.level;
            self.sonar_here = SonarCtx {
                level: p.level,
                cond_level: p.level,
                structure: false,
                chain: false,
            };
            return;
        }
        let field = if p.structure {
            cursor.field_id().map(|f| f.get())
        } else {
            None
        };
        let level = if field.is_some_and(|f| sonar.is_condition_field(f)) {
            p.cond_level
        } else {
            p.level
        };
        self.sonar_level = level;
        let cog = match self.parents.last() {
            Some(parent) if flags & FLAG_COG != 0 || p.structure => {
                sonar.cog_kind(node, *parent, field)
            }
            _ => CogKind::Other,
        };
        let logical = if flags & FLAG_LOGICAL != 0 {
            sonar.logical_operator(node)
        } else {
            None
        };
        let mut inc = (0, 0);
        if logical.is_some() && !p.chain {
            inc.0 += operator_runs(sonar, node);
        }
        let chain = logical.is_some() || (flags & FLAG_PAREN != 0 && p.chain);
        let here = |level, cond_level, structure, chain| SonarCtx {
            level,
            cond_level,
            structure,
            chain,
        };
        self.sonar_here = match cog {
            CogKind::Structure => {
                inc.0 += 1 + level;
                inc.1 += 1;
                here(level + 1, level, true, false)
            }
            CogKind::ElseIf => {
                inc.0 += 1;
                here(level, level, true, false)
            }
            CogKind::Else => {
                inc.0 += 1;
                here(level, level, false, false)
            }
            CogKind::Jump => {
                inc.0 += 1;
                here(level, level, false, chain)
            }
            // A listed function is scored on its own from level 0 and added to the
            // enclosing one a level deeper (see `leave`); a lambda or closure just nests.
            CogKind::Nest if self.roles.get(kind as usize) == Some(&Role::Function) => {
                here(0, 0, false, false)
            }
            CogKind::Nest => here(level + 1, level + 1, false, false),
            CogKind::Other => here(level, level, false, chain),
        };
        if inc.0 > 0
            && let Some(i) = self.metric_frame()
        {
            let f = &mut self.functions[i];
            f.cog_base += inc.0;
            f.cog_nested += inc.1;
        }
    }

    /// Python: complexipy's state for `node` and what it adds to the current function.
    fn cpx_enter(&mut self, node: Node<'t>, kind: u16, cursor: &tree_sitter::TreeCursor<'t>) {
        let py = crate::lang::python::spec();
        let parent = self.parents.last().copied();
        let parent_kind = self.parent_kinds.last().copied().unwrap_or(0);
        let parent_state = self.cpx_stack.last().copied().unwrap_or(Cpx::Off);
        let parent_is_def = parent.is_some() && parent_kind == py.k.function_definition;
        // Most nodes sit in unscored parts; asking the cursor for the field is not free.
        let field = if parent_state != Cpx::Off || parent_is_def {
            cursor.field_id().map(|f| f.get())
        } else {
            None
        };
        let named = self
            .named_kinds
            .get(kind as usize)
            .copied()
            .unwrap_or(false);
        let index = if named && !node.is_extra() {
            self.named_seen.last_mut().map_or(0, |seen| {
                *seen += 1;
                *seen - 1
            })
        } else {
            u16::MAX
        };
        let state = match parent {
            _ if index == u16::MAX => Cpx::Off,
            // Every function's body is scored, whatever surrounds the function.
            Some(p) if parent_is_def && field == Some(py.k.f.body) => py.cpx_body(p),
            _ if parent_state == Cpx::Off => Cpx::Off,
            Some(_) => py.cpx_state(parent_state, parent_kind, node, kind, field, index),
            None => Cpx::Off,
        };
        let (state, inc) = if state == Cpx::Off {
            (state, Default::default())
        } else {
            py.cpx_visit(state, node, kind)
        };
        self.cpx_here = state;
        if inc.base > 0
            && let Some(i) = self.metric_frame()
        {
            let f = &mut self.functions[i];
            f.cog_base += inc.base;
            f.cog_nested += inc.nested;
        }
    }

    /// The function whose metrics the current node counts toward: the innermost scope
    /// that is a function, unless a class intervenes (a class inside a function counts
    /// for its own methods only).
    fn metric_frame(&self) -> Option<usize> {
        self.scopes.last().and_then(|s| s.metric)
    }

    /// Pushes a scope, computing what is in effect inside it from the enclosing one.
    fn push_scope(&mut self, mut scope: Scope) {
        let outer = self.scopes.last();
        scope.metric = match scope.kind {
            ScopeKind::Function(i) => Some(i),
            ScopeKind::Class(_) => None,
            _ => outer.and_then(|o| o.metric),
        };
        scope.function = match scope.kind {
            ScopeKind::Function(i) => Some(i),
            _ => outer.and_then(|o| o.function),
        };
        scope.unit_in_effect = scope.unit.or(outer.and_then(|o| o.unit_in_effect));
        scope.in_test = scope.is_test || outer.is_some_and(|o| o.in_test);
        self.scopes.push(scope);
    }

    /// Cyclomatic increments, nesting depth and recursion for the innermost function.
    fn count_metrics(&mut self, node: Node<'t>, kind: u16) {
        let flags = self.kind_flags.get(kind as usize).copied().unwrap_or(0);
        if flags == 0 {
            return;
        }
        let Some(i) = self.metric_frame() else { return };
        let at = node.start_byte();
        let parent = self.parents.last().copied();
        let f = &mut self.functions[i];
        if at < f.count_from || node.id() == f.node.id() {
            return;
        }
        if flags & FLAG_CC != 0 && at >= f.skip_until {
            let step = self.spec.cc_increment(node, parent, self.src);
            f.decisions += step.add;
            if step.skip_inside {
                f.skip_until = node.end_byte();
            }
        }
        if flags & FLAG_NESTING != 0 && self.spec.is_nesting_block(node, parent) {
            f.depth += 1;
            f.max_depth = f.max_depth.max(f.depth);
        }
        if flags & FLAG_CALLABLE != 0 {
            f.lambda_until = f.lambda_until.max(node.end_byte());
        }
    }

    fn role(&self, node: Node<'_>) -> Role {
        self.roles
            .get(node.kind_id() as usize)
            .copied()
            .unwrap_or(Role::Other)
    }

    fn current_unit(&self) -> Option<usize> {
        self.scopes
            .last()
            .and_then(|s| s.unit_in_effect)
            .or(self.module_unit)
    }

    fn in_test_code(&self) -> bool {
        self.is_test_file || self.scopes.last().is_some_and(|s| s.in_test)
    }

    fn qualified(&self, name: &str) -> String {
        let mut q = String::new();
        for s in &self.scopes {
            if matches!(s.kind, ScopeKind::TestCase) || s.name.is_empty() {
                continue;
            }
            q.push_str(&s.name);
            q.push('.');
        }
        q.push_str(name);
        q
    }

    /// Returns whether to descend into the node's children.
    fn enter(&mut self, node: Node<'t>, kind: u16) -> bool {
        let role = self
            .roles
            .get(kind as usize)
            .copied()
            .unwrap_or(Role::Other);
        self.count_metrics(node, kind);
        match role {
            Role::Comment => {
                let text = crate::lang::text(node, self.src);
                self.comments.push((node.start_position().row, text));
                for &rule in &self.dispatch.comment {
                    self.run_at(rule, node, |r, cx| r.on_comment(node, text, cx));
                }
                return false;
            }
            Role::Function => self.enter_function(node),
            Role::Class => self.enter_class(node),
            Role::Module => {
                if let Some((name, is_test)) = self.spec.module_scope(node, self.src) {
                    let unit = is_test.then(|| self.new_unit(&name, node, false));
                    self.push_scope(Scope {
                        node_id: node.id(),
                        kind: ScopeKind::Module,
                        name,
                        is_test,
                        unit,
                        metric: None,
                        function: None,
                        unit_in_effect: None,
                        in_test: false,
                    });
                }
            }
            Role::Call => {
                self.enter_call(node);
                if let Some(root) = self.embedded.remove(&node.start_byte()) {
                    // Items inside `cfg_x! { ... }`: walk them in the current scope.
                    let mut cursor = root.walk();
                    for item in root.named_children(&mut cursor).collect::<Vec<_>>() {
                        self.walk(item);
                    }
                }
            }
            Role::Assign => {
                if let Some(a) = self.spec.assignment(node, self.src) {
                    self.track_list_local(&a);
                    for &rule in &self.dispatch.assign {
                        self.run_at(rule, node, |r, cx| r.on_assign(&a, cx));
                    }
                }
            }
            Role::Import => {
                let mut found = Vec::new();
                self.spec.imports(node, self.src, &mut found);
                self.imports.extend(found);
                // Names in an import are not uses: skip them (the line is still code).
                self.code
                    .mark(node.start_position().row, node.end_position().row);
                return false;
            }
            Role::Loop => {
                let once = self.spec.loop_iterable(node);
                // The loop variable is assigned on each iteration: a literal only when every
                // element is (`for editor in ("vim", "nano")`).
                if let Some(target) = self.spec.loop_target(node) {
                    let literal =
                        once.is_some_and(|it| self.spec.is_literal_collection(it, self.src));
                    self.note_assigned(crate::lang::text(target, self.src), literal);
                }
                self.loop_ids.push(node.id());
                self.loops.push(LoopCtx { node, once });
            }
            Role::String => {
                for &rule in &self.dispatch.string {
                    self.run_at(rule, node, |r, cx| r.on_string(node, cx));
                }
                // Docstrings are documentation: not lines of code.
                if self.dialect == Dialect::Python && self.is_docstring(node) {
                    return false;
                }
                // A string without interpolation holds nothing else to look at: mark its
                // lines and skip its pieces (but not the parts of a concatenation, which are
                // strings of their own).
                if !crate::lang::text(node, self.src).contains('{')
                    && node.child(0).is_none_or(|c| self.role(c) != Role::String)
                {
                    self.code
                        .mark(node.start_position().row, node.end_position().row);
                    return false;
                }
            }
            Role::Identifier => {
                if self.in_test_code()
                    && let Some(unit) = self.current_unit()
                {
                    let name = crate::lang::text(node, self.src);
                    self.add_test_ref(unit, name);
                }
            }
            Role::Other => {}
        }
        if let Some(rules) = self.dispatch.node.get(kind as usize) {
            for &rule in rules {
                self.run_at(rule, node, |r, cx| r.on_node(node, cx));
            }
        }
        true
    }

    /// Whether a Python string is the docstring of its module, class or function: the first
    /// statement of the body, on its own.
    fn is_docstring(&self, node: Node<'t>) -> bool {
        let py = &crate::lang::python::spec().k;
        let [.., owner, body, stmt] = self.parents.as_slice() else {
            return match self.parents.as_slice() {
                [module, stmt] => {
                    stmt.kind_id() == py.expression_statement
                        && module.kind_id() == py.module
                        && first_statement(*module) == Some(*stmt)
                        && stmt.named_child_count() == 1
                        && !crate::lang::text(node, self.src).starts_with(['f', 'F'])
                }
                _ => false,
            };
        };
        stmt.kind_id() == py.expression_statement
            && stmt.named_child_count() == 1
            && ((body.kind_id() == py.block
                && (owner.kind_id() == py.function_definition
                    || owner.kind_id() == py.class_definition))
                || body.kind_id() == py.module)
            && first_statement(*body) == Some(*stmt)
            && !crate::lang::text(node, self.src).starts_with(['f', 'F'])
    }

    /// Records that `name` was just assigned, and whether with a literal; returns the
    /// current function's index (`None` at module level).
    fn note_assigned(&mut self, name: &str, literal: bool) -> Option<usize> {
        let Some(i) = self.scopes.last().and_then(|s| s.function) else {
            // Module level: names of constants.
            // Sets, not lists: generated files assign thousands of names.
            if literal {
                if !self.module_literals.contains(name) {
                    self.module_literals.insert(name.into());
                }
            } else {
                self.module_literals.remove(name);
            }
            return None;
        };
        let f = &mut self.functions[i];
        match f.assigned.get_mut(name) {
            Some(l) => *l = literal,
            None => {
                f.assigned.insert(name.into(), literal);
            }
        }
        Some(i)
    }

    /// Remembers which locals of the current function hold lists, for rules about linear
    /// membership tests.
    fn track_list_local(&mut self, a: &crate::lang::Assign<'_>) {
        if a.target != a.target_name || a.target.is_empty() {
            return;
        }
        let literal = a.operator.is_none()
            && a.value
                .is_some_and(|v| self.spec.value_kind(v, self.src).is_literal());
        let Some(i) = self.note_assigned(a.target, literal) else {
            return;
        };
        if a.operator.is_some() {
            return;
        }
        let list_like = self.spec.is_list_typed(a.node, self.src)
            || a.value.is_some_and(|v| self.spec.is_list_like(v, self.src));
        let locals = &mut self.functions[i].list_locals;
        if !list_like {
            locals.remove(a.target);
        } else if !locals.contains(a.target) {
            locals.insert(a.target.into());
        }
    }

    fn leave(&mut self, node: Node<'t>, kind: u16) {
        let id = node.id();
        if self
            .kind_flags
            .get(kind as usize)
            .is_some_and(|f| f & FLAG_NESTING != 0)
            && let Some(i) = self.metric_frame()
            && node.start_byte() >= self.functions[i].count_from
            && node.id() != self.functions[i].node.id()
            && self
                .spec
                .is_nesting_block(node, self.parents.last().copied())
        {
            self.functions[i].depth -= 1;
        }
        while self.scopes.last().is_some_and(|s| s.node_id == id) {
            self.scopes.pop();
        }
        while self.loop_ids.last() == Some(&id) {
            self.loop_ids.pop();
            self.loops.pop();
        }
    }

    /// Records that test unit `unit` references `name`, storing each name once per file.
    fn add_test_ref(&mut self, unit: usize, name: &'t str) {
        let next = self.refs.names.len() as u32;
        let id = *self.interned.entry(name).or_insert_with(|| {
            self.refs.names.push(name.into());
            next
        });
        self.refs.tests[unit].refs.push(id);
    }

    fn new_unit(&mut self, name: &str, node: Node<'_>, is_test: bool) -> usize {
        self.refs.tests.push(TestUnit::new(
            name.to_string(),
            node.start_position().row as u32 + 1,
            is_test,
        ));
        self.refs.tests.len() - 1
    }

    fn enter_function(&mut self, node: Node<'t>) {
        let Some(decl) = self.spec.function_in(node, &self.parents, self.src) else {
            return;
        };
        let parent = self
            .scopes
            .iter()
            .rev()
            .find(|s| !matches!(s.kind, ScopeKind::TestCase | ScopeKind::Module))
            .map(|s| s.kind);
        let class = match parent {
            Some(ScopeKind::Class(c)) => Some(c),
            _ => None,
        };
        let kind = match (decl.kind, parent) {
            (DeclKind::Anonymous, _) => FunctionKind::Anonymous,
            (DeclKind::Constructor, Some(ScopeKind::Class(_))) => FunctionKind::Constructor,
            (_, Some(ScopeKind::Class(_))) => FunctionKind::Method,
            (_, Some(ScopeKind::Function(_))) => FunctionKind::Nested,
            _ if decl.owner.is_some() => FunctionKind::Method,
            _ => FunctionKind::Function,
        };
        let qualified_name = match &decl.owner {
            Some(owner) => self.qualified(&format!("{owner}.{}", decl.name)),
            None => self.qualified(&decl.name),
        };
        let enclosing_class = class.map(|c| self.classes[c].info.name.as_str());
        let in_test_scope = self.in_test_code();
        let is_test = decl.is_test_marked
            || conventions::is_test_function(
                self.dialect.language(),
                &decl.name,
                enclosing_class,
                self.is_test_file,
            );
        // In test code, top-level functions and tests get their own reference set; nested
        // helpers and callbacks add to their enclosing one.
        let unit = if is_test || (in_test_scope && self.current_unit() == self.module_unit) {
            Some(self.new_unit(&qualified_name, node, is_test))
        } else {
            None
        };
        let index = self.functions.len();
        if let Some(c) = class {
            self.classes[c].info.methods.push(qualified_name.clone());
        }
        self.functions.push(PendingFunction {
            info: FunctionInfo {
                name: decl.name.clone(),
                qualified_name,
                kind,
                start_line: decl.start_row as u32 + 1,
                end_line: node.end_position().row as u32 + 1,
                parameters: decl.params,
                nloc: 0,
                cyclomatic: 0,
                cognitive: 0,
                max_nesting: 0,
                cognitive_in_parent: false,
                is_test,
                is_public: decl.is_public,
            },
            node,
            class,
            is_async: decl.is_async,
            list_locals: FxHashSet::default(),
            assigned: FxHashMap::default(),
            decisions: 0,
            count_from: self.spec.cc_start(node),
            skip_until: 0,
            depth: 0,
            max_depth: 0,
            lambda_until: 0,
            recursive: false,
            cog_base: 0,
            cog_nested: 0,
            cog_into: if self.dialect == Dialect::Python {
                match self.cpx_here {
                    Cpx::Stmt(n) => self.scopes.last().and_then(|s| s.function).map(|f| (f, n)),
                    _ => None,
                }
            } else {
                // Sonar: a nested function's contents are one level deeper than it sits.
                self.scopes
                    .last()
                    .and_then(|s| s.function)
                    .map(|f| (f, self.sonar_level + 1))
            },
        });
        self.push_scope(Scope {
            node_id: node.id(),
            kind: ScopeKind::Function(index),
            name: match &decl.owner {
                Some(owner) => format!("{owner}.{}", decl.name),
                None => decl.name,
            },
            is_test,
            unit,
            metric: None,
            function: None,
            unit_in_effect: None,
            in_test: false,
        });
    }

    fn enter_class(&mut self, node: Node<'t>) {
        let name = self
            .spec
            .class_name(node, self.src)
            .unwrap_or_else(|| "<anonymous>".to_string());
        let qualified_name = self.qualified(&name);
        let index = self.classes.len();
        self.classes.push(PendingClass {
            info: ClassInfo {
                name: name.clone(),
                qualified_name,
                start_line: node.start_position().row as u32 + 1,
                end_line: node.end_position().row as u32 + 1,
                methods: Vec::new(),
                nloc: 0,
                total_cyclomatic: 0,
                total_cognitive: 0,
            },
        });
        let is_test = conventions::is_test_class(self.dialect.language(), &name, self.is_test_file);
        self.push_scope(Scope {
            node_id: node.id(),
            kind: ScopeKind::Class(index),
            name,
            is_test,
            unit: None,
            metric: None,
            function: None,
            unit_in_effect: None,
            in_test: false,
        });
    }

    fn enter_call(&mut self, node: Node<'t>) {
        let Some(call) = self.spec.call(node, self.src) else {
            return;
        };
        if let Some(module) = self.spec.import_from_call(&call, self.src) {
            self.imports.push(module);
        }
        if self.dialect == Dialect::Python
            && let Some(i) = self.metric_frame()
        {
            let f = &mut self.functions[i];
            if call.callee == f.info.name && node.start_byte() >= f.lambda_until {
                f.recursive = true;
            }
        }
        // References for test mapping: from test code to what it exercises, and from
        // source code as fan-in.
        if self.in_test_code() {
            if let Some(name) =
                conventions::test_case_name(self.dialect.language(), &call, self.src)
                && self.is_test_file
            {
                let unit = self.new_unit(&name, node, true);
                self.push_scope(Scope {
                    node_id: node.id(),
                    kind: ScopeKind::TestCase,
                    name: String::new(),
                    is_test: true,
                    unit: Some(unit),
                    metric: None,
                    function: None,
                    unit_in_effect: None,
                    in_test: false,
                });
            }
            if let Some(unit) = self.current_unit() {
                self.add_test_ref(unit, call.name);
            }
        } else if !call.name.is_empty() {
            *self.refs.calls.entry(call.name.into()).or_insert(0) += 1;
        }
        // Callbacks handed to iteration methods run once per element: treat them as loops.
        if conventions::is_iteration_method(call.name) {
            for arg in &call.args {
                // `Promise.all(items.map(async (x) => ...))` runs the callbacks
                // concurrently: that is the fix for sequential work, not a loop.
                let concurrent = matches!(call.name, "map" | "flatMap")
                    && self
                        .spec
                        .function(arg.value, self.src)
                        .is_some_and(|d| d.is_async);
                if self.spec.is_callable_literal(arg.value) && !concurrent {
                    self.loop_ids.push(arg.value.id());
                    self.loops.push(LoopCtx {
                        node: arg.value,
                        once: None,
                    });
                }
            }
        }
        for &rule in &self.dispatch.call {
            self.run_at(rule, node, |r, cx| r.on_call(&call, cx));
        }
    }

    /// Runs one rule hook with a context for the current position. `here` is the node
    /// being checked, which decides which enclosing loops repeat it (the iterable of a
    /// `for` runs once).
    fn run_at(
        &mut self,
        rule: &'static dyn Rule,
        here: Node<'t>,
        f: impl FnOnce(&dyn Rule, &mut Cx<'_, 't>),
    ) {
        let meta = rule.meta();
        let is_test_code = self.in_test_code();
        if is_test_code && !meta.applies_to_tests {
            return;
        }
        let current = self
            .scopes
            .last()
            .and_then(|s| s.function)
            .map(|i| &self.functions[i]);
        let list_locals = current.map(|f| &f.list_locals);
        let literals = Literals {
            function: current.map(|f| (&f.assigned, f.info.parameters.as_slice())),
            module: &self.module_literals,
        };
        let (function, fn_start) = match current {
            Some(f) => (
                Some(FnCtx {
                    qualified_name: &f.info.qualified_name,
                    is_async: f.is_async,
                }),
                f.node.start_byte(),
            ),
            None => (None, 0),
        };
        // Loops nest, so those inside the current function are a suffix of the stack.
        let first = self
            .loops
            .iter()
            .position(|l| l.node.start_byte() >= fn_start)
            .unwrap_or(self.loops.len());
        let at = here.start_byte();
        let loops = &self.loops[first..];
        // Loops whose once-evaluated part (a `for`'s iterable) holds the node do not repeat
        // it; copy only in that rare case.
        let in_once = |l: &LoopCtx<'_>| l.once.is_some_and(|o| o.byte_range().contains(&at));
        let repeated: std::borrow::Cow<'_, [LoopCtx<'t>]> = if loops.iter().any(in_once) {
            loops
                .iter()
                .filter(|l| !in_once(l))
                .copied()
                .collect::<Vec<_>>()
                .into()
        } else {
            loops.into()
        };
        let mut cx = Cx {
            src: self.src,
            dialect: self.dialect,
            lang: self.spec,
            path: self.path,
            function,
            loops: &repeated,
            thresholds: &self.settings.thresholds,
            imports: &self.imports,
            list_locals,
            literals,
            file: &self.facts,
            ancestors: &self.parents,
            here: Some(here),
            rule: meta,
            out: &mut self.raw,
        };
        f(rule, &mut cx);
    }

    /// Adds nested functions' cognitive complexity into their enclosing functions, innermost
    /// first. Scoring a nested function in place at `level` adds `level` to each of its
    /// nesting-dependent increments. complexipy always folds nested functions in;
    /// SonarSource only when the enclosing function has structure of its own (a wrapper
    /// around callbacks is not complex), and then reports only the enclosing function.
    fn fold_cognitive(&mut self) {
        let always = self.dialect == Dialect::Python;
        let own: Vec<u32> = self.functions.iter().map(|f| f.cog_base).collect();
        // Children start after their parents, so reverse order visits them first.
        for i in (0..self.functions.len()).rev() {
            let Some((into, level)) = self.functions[i].cog_into else {
                continue;
            };
            if !always && own[into] == 0 {
                continue;
            }
            let (base, nested) = (self.functions[i].cog_base, self.functions[i].cog_nested);
            self.functions[i].info.cognitive_in_parent = true;
            let outer = &mut self.functions[into];
            outer.cog_base += base + level * nested;
            outer.cog_nested += nested;
        }
    }

    /// A rule context outside the walk (function, class and file hooks): no loops.
    fn detached_cx<'s>(
        &'s mut self,
        meta: &'static crate::rules::RuleMeta,
        function: Option<FnCtx<'s>>,
    ) -> Cx<'s, 't> {
        Cx {
            src: self.src,
            dialect: self.dialect,
            lang: self.spec,
            path: self.path,
            function,
            loops: &[],
            thresholds: &self.settings.thresholds,
            imports: &self.imports,
            list_locals: None,
            literals: Literals {
                function: None,
                module: &self.module_literals,
            },
            file: &self.facts,
            ancestors: &[],
            here: None,
            rule: meta,
            out: &mut self.raw,
        }
    }

    fn finish(mut self) -> FileOutcome {
        self.code.finish();

        self.fold_cognitive();
        for f in &mut self.functions {
            f.info.cyclomatic = 1 + f.decisions;
            f.info.cognitive = f.cog_base + u32::from(f.recursive);
            f.info.max_nesting = f.max_depth;
            f.info.nloc = self
                .code
                .count(f.node.start_position().row, f.node.end_position().row);
        }
        for f in &self.functions {
            if let Some(c) = f.class {
                let class = &mut self.classes[c].info;
                class.total_cyclomatic += f.info.cyclomatic;
                class.total_cognitive += f.info.cognitive;
            }
        }
        for c in &mut self.classes {
            c.info.nloc = self
                .code
                .count(c.info.start_line as usize - 1, c.info.end_line as usize - 1);
        }
        let nloc = self.code.total();
        // Function-, class- and file-level rules.
        for i in 0..self.functions.len() {
            let node = self.functions[i].node;
            let info = self.functions[i].info.clone();
            for &rule in &self.dispatch.function {
                let meta = rule.meta();
                if (info.is_test || self.is_test_file) && !meta.applies_to_tests {
                    continue;
                }
                let is_async = self.functions[i].is_async;
                let function = FnCtx {
                    qualified_name: &info.qualified_name,
                    is_async,
                };
                let mut cx = self.detached_cx(meta, Some(function));
                rule.on_function(&info, node, &mut cx);
            }
        }
        for c in 0..self.classes.len() {
            for &rule in &self.dispatch.class {
                let class = &self.classes[c];
                let meta = rule.meta();
                if self.is_test_file && !meta.applies_to_tests {
                    continue;
                }
                let info = class.info.clone();
                let mut cx = self.detached_cx(meta, None);
                rule.on_class(&info, &mut cx);
            }
        }
        for &rule in &self.dispatch.file {
            let meta = rule.meta();
            if self.is_test_file && !meta.applies_to_tests {
                continue;
            }
            let mut cx = self.detached_cx(meta, None);
            rule.on_file(nloc, &mut cx);
        }
        let findings = self.finalize_findings();
        self.refs.finish();
        let mut functions: Vec<FunctionInfo> = self.functions.into_iter().map(|f| f.info).collect();
        functions.sort_by_key(|f| (f.start_line, f.end_line));
        FileOutcome {
            lines: self.line_count as u32,
            nloc,
            is_test: self.is_test_file,
            imports: self.imports,
            functions,
            classes: self.classes.into_iter().map(|c| c.info).collect(),
            findings,
            refs: self.refs,
            diagnostics: Vec::new(),
        }
    }

    /// Applies in-source suppressions, severity overrides and fingerprints.
    fn finalize_findings(&mut self) -> Vec<Finding> {
        if self.raw.is_empty() {
            return Vec::new();
        }
        let inline = InlineSuppressions::from_comments(&self.comments, self.src);
        let lines = crate::source::LineIndex::new(self.src);
        let mut raw = std::mem::take(&mut self.raw);
        raw.sort_by(|a, b| (a.span, a.rule.id).cmp(&(b.span, b.rule.id)));
        raw.dedup_by(|a, b| a.span == b.span && a.rule.id == b.rule.id);
        let mut seen = std::collections::HashMap::new();
        raw.into_iter()
            .map(|r| {
                let line_text = squash_spaces(lines.line(self.src, r.span.start_line as usize));
                let key = crate::fingerprint::key(
                    r.rule.id,
                    self.path,
                    r.function.as_deref(),
                    &line_text,
                );
                let occurrence = seen.entry(key.clone()).or_insert(0u32);
                let fingerprint = crate::fingerprint::finish(&key, *occurrence);
                *occurrence += 1;
                let mut finding = Finding {
                    rule_id: r.rule.id.to_string(),
                    family: r.rule.family,
                    severity: self.settings.rules.severity(r.rule),
                    message: r.message,
                    path: self.path.to_string(),
                    span: r.span,
                    function: r.function,
                    fingerprint,
                    suppressions: Vec::new(),
                };
                if let Some(s) = inline.check(&finding) {
                    finding.suppressions.push(s);
                }
                finding
            })
            .collect()
    }
}

/// The first named child of a block that is not a comment.
fn first_statement(block: Node<'_>) -> Option<Node<'_>> {
    (0..block.named_child_count())
        .filter_map(|i| block.named_child(i as u32))
        .find(|n| !n.is_extra())
}

/// Whether JavaScript declares with `let`/`const` more than with `var` (words followed by
/// whitespace, counted in the text: a cheap estimate, comments included).
pub(crate) fn is_modern_js(src: &str) -> bool {
    // One pass over the text for all three keywords.
    static DECL: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(let|const|var)\s").expect("valid regex"));
    let (mut lexical, mut var) = (0usize, 0usize);
    for m in DECL.find_iter(src) {
        let before = src[..m.start()].chars().next_back();
        if before.is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '$' && c != '.') {
            if src[m.start()..].starts_with("var") {
                var += 1;
            } else {
                lexical += 1;
            }
        }
    }
    lexical > 0 && var <= lexical
}

fn squash_spaces(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}
