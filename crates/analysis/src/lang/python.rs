//! Python: roles, views, and metrics by radon's (cyclomatic) and complexipy's (cognitive)
//! rules. The rules are written out in `docs/metrics.md`; each is pinned by a fixture in
//! `tests/metrics/python.rs`.

use std::sync::OnceLock;

use tree_sitter::Node;

use super::{
    Arg, Assign, Call, CcStep, DeclKind, FunctionDecl, LanguageSpec, Role, ValueKind, kind_table,
    text,
};
use crate::lang::syntax::{build_roles, callee_text, children, named_children, squash};

kind_table! {
    pub(crate) struct Kinds;
    named {
        module, block, comment, identifier, attribute, call, argument_list, keyword_argument,
        list_splat, dictionary_splat, parenthesized_expression, function_definition,
        decorated_definition, decorator, class_definition, parameters, lambda_parameters,
        default_parameter, typed_parameter, typed_default_parameter, list_splat_pattern,
        dictionary_splat_pattern, if_statement, elif_clause, else_clause, for_statement,
        while_statement, try_statement, except_clause, finally_clause, with_statement,
        with_clause, with_item, as_pattern, match_statement, case_clause, case_pattern,
        tuple_pattern, dotted_name, assert_statement, return_statement, raise_statement,
        expression_statement, assignment, augmented_assignment, conditional_expression,
        boolean_operator, not_operator, unary_operator, comparison_operator, binary_operator,
        lambda, list_comprehension, set_comprehension, dictionary_comprehension,
        generator_expression, for_in_clause, if_clause, list, set, tuple, expression_list,
        dictionary, pair, string, string_content, concatenated_string, interpolation, integer,
        float, none, import_statement, import_from_statement, aliased_import,
        relative_import, wildcard_import, pass_statement, subscript, keyword_separator,
        positional_separator, ellipsis
    }
    renamed { kw_true = "true", kw_false = "false", kw_await = "await" }
    tokens { star = "*", underscore = "_", and = "and", or = "or", async_kw = "async", percent = "%", plus = "+" }
    fields {
        name, body, parameters, definition, function, arguments, object, attribute, left, right,
        value, condition, consequence, alternative, operator, argument, module_name, alias,
        key, subject, guard
    }
}

pub(crate) struct Python {
    pub(crate) k: Kinds,
    roles: Vec<Role>,
}

pub(crate) fn spec() -> &'static Python {
    static SPEC: OnceLock<Python> = OnceLock::new();
    SPEC.get_or_init(|| {
        let lang: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
        let k = Kinds::load(&lang);
        let roles = build_roles(&lang, |id| match id {
            _ if id == k.function_definition => Role::Function,
            _ if id == k.class_definition => Role::Class,
            _ if id == k.call => Role::Call,
            _ if id == k.assignment
                || id == k.augmented_assignment
                || id == k.keyword_argument
                || id == k.default_parameter
                || id == k.typed_default_parameter =>
            {
                Role::Assign
            }
            _ if id == k.import_statement || id == k.import_from_statement => Role::Import,
            _ if id == k.comment => Role::Comment,
            _ if id == k.for_statement || id == k.while_statement || id == k.for_in_clause => {
                Role::Loop
            }
            _ if id == k.string || id == k.concatenated_string => Role::String,
            _ if id == k.identifier => Role::Identifier,
            _ => Role::Other,
        });
        Python { k, roles }
    })
}

impl Python {
    fn is_def(&self, n: Node) -> bool {
        n.kind_id() == self.k.function_definition
    }

    /// The function or class a (possibly decorated) definition statement defines.
    fn undecorate<'t>(&self, n: Node<'t>) -> Node<'t> {
        if n.kind_id() == self.k.decorated_definition {
            n.child_by_field_id(self.k.f.definition).unwrap_or(n)
        } else {
            n
        }
    }

    /// The first `N` statements of a block (fewer if it is shorter), without comments,
    /// and whether there are more.
    fn first_statements<'t, const N: usize>(
        &self,
        block: Option<Node<'t>>,
    ) -> (Vec<Node<'t>>, bool) {
        let mut out = Vec::with_capacity(N);
        let Some(b) = block else {
            return (out, false);
        };
        // Only the first few are needed: indexing is cheaper than allocating a cursor.
        for i in 0..b.named_child_count() {
            let Some(n) = b.named_child(i as u32) else {
                continue;
            };
            if n.is_extra() || n.kind_id() == self.k.comment {
                continue;
            }
            if out.len() == N {
                return (out, true);
            }
            out.push(n);
        }
        (out, false)
    }

    fn strip_parens<'t>(&self, mut n: Node<'t>) -> Node<'t> {
        while n.kind_id() == self.k.parenthesized_expression {
            let first = n.named_child(0).filter(|c| !c.is_extra());
            let inner = first.or_else(|| named_children(n).into_iter().next());
            match inner {
                Some(inner) => n = inner,
                None => break,
            }
        }
        n
    }
}

impl LanguageSpec for Python {
    fn roles(&self) -> &[Role] {
        &self.roles
    }

    fn function(&self, node: Node<'_>, src: &str) -> Option<FunctionDecl> {
        let k = &self.k;
        let name = text(node.child_by_field_id(k.f.name)?, src).to_string();
        let mut params = Vec::new();
        if let Some(p) = node.child_by_field_id(k.f.parameters) {
            for i in 0..p.named_child_count() {
                let Some(c) = p.named_child(i as u32) else {
                    continue;
                };
                let id = c.kind_id();
                let pname = if id == k.identifier {
                    Some(text(c, src))
                } else if id == k.default_parameter || id == k.typed_default_parameter {
                    c.child_by_field_id(k.f.name).map(|n| text(n, src))
                } else if id == k.typed_parameter
                    || id == k.list_splat_pattern
                    || id == k.dictionary_splat_pattern
                {
                    // `*args`, `**kw`, `x: int`: the first identifier is the name.
                    let inner = if id == k.typed_parameter {
                        c.named_child(0)
                    } else {
                        Some(c)
                    };
                    inner.map(|n| text(n, src))
                } else {
                    None
                };
                if let Some(p) = pname {
                    params.push(p.to_string());
                }
            }
        }
        let is_async = node.child(0).is_some_and(|c| c.kind_id() == k.async_kw);
        let is_public = !name.starts_with('_') || (name.starts_with("__") && name.ends_with("__"));
        Some(FunctionDecl {
            kind: if name == "__init__" {
                DeclKind::Constructor
            } else {
                DeclKind::Named
            },
            start_row: node.start_position().row,
            params,
            is_async,
            is_public,
            is_test_marked: false,
            owner: None,
            name,
        })
    }

    fn class_name(&self, node: Node<'_>, src: &str) -> Option<String> {
        Some(text(node.child_by_field_id(self.k.f.name)?, src).to_string())
    }

    fn imports(&self, node: Node<'_>, src: &str, out: &mut Vec<String>) {
        let k = &self.k;
        if node.kind_id() == k.import_from_statement {
            if let Some(m) = node.child_by_field_id(k.f.module_name) {
                let module = squash(text(m, src));
                // `from . import x` names the imported modules; `from m import f` names m.
                if module.chars().all(|c| c == '.') {
                    for n in named_children(node) {
                        if n.kind_id() == k.dotted_name && n != m {
                            out.push(format!("{module}{}", text(n, src)));
                        }
                    }
                } else {
                    out.push(module);
                }
            }
            return;
        }
        for n in named_children(node) {
            let name = if n.kind_id() == k.aliased_import {
                n.child_by_field_id(k.f.name)
            } else {
                Some(n)
            };
            if let Some(name) = name.filter(|n| n.kind_id() == k.dotted_name) {
                out.push(squash(text(name, src)));
            }
        }
    }

    fn call<'t>(&self, node: Node<'t>, src: &'t str) -> Option<Call<'t>> {
        let k = &self.k;
        let func = node.child_by_field_id(k.f.function)?;
        let name_node = if func.kind_id() == k.attribute {
            func.child_by_field_id(k.f.attribute)?
        } else {
            func
        };
        let mut args = Vec::new();
        if let Some(list) = node.child_by_field_id(k.f.arguments) {
            if list.kind_id() == k.argument_list {
                // Argument lists are short: indexing avoids allocating a cursor per call.
                for i in 0..list.named_child_count() {
                    let Some(a) = list.named_child(i as u32) else {
                        continue;
                    };
                    let id = a.kind_id();
                    if id == k.keyword_argument {
                        if let (Some(n), Some(v)) = (
                            a.child_by_field_id(k.f.name),
                            a.child_by_field_id(k.f.value),
                        ) {
                            args.push(Arg {
                                keyword: Some(text(n, src)),
                                value: v,
                            });
                        }
                    } else if !a.is_extra() && id != k.list_splat && id != k.dictionary_splat {
                        args.push(Arg {
                            keyword: None,
                            value: a,
                        });
                    }
                }
            } else {
                // `f(x for x in y)`: the generator is the argument list.
                args.push(Arg {
                    keyword: None,
                    value: list,
                });
            }
        }
        Some(Call {
            node,
            callee: callee_text(text(func, src)),
            name: text(name_node, src),
            args,
        })
    }

    fn assignment<'t>(&self, node: Node<'t>, src: &'t str) -> Option<Assign<'t>> {
        let k = &self.k;
        let id = node.kind_id();
        let (target, value, operator) = if id == k.keyword_argument
            || id == k.default_parameter
            || id == k.typed_default_parameter
        {
            (
                node.child_by_field_id(k.f.name)?,
                node.child_by_field_id(k.f.value),
                None,
            )
        } else {
            let mut value = node.child_by_field_id(k.f.right);
            // `a = b = v`: every target gets the innermost value.
            while let Some(v) = value.filter(|v| v.kind_id() == k.assignment) {
                value = v.child_by_field_id(k.f.right);
            }
            let op = node
                .child_by_field_id(k.f.operator)
                .map(|o| text(o, src))
                .filter(|_| id == k.augmented_assignment);
            (node.child_by_field_id(k.f.left)?, value, op)
        };
        let target_name = if target.kind_id() == k.attribute {
            target
                .child_by_field_id(k.f.attribute)
                .map(|a| text(a, src))
        } else {
            Some(text(target, src))
        };
        Some(Assign {
            node,
            target: text(target, src),
            target_name: target_name.unwrap_or(""),
            value,
            operator,
        })
    }

    fn value_kind(&self, node: Node<'_>, src: &str) -> ValueKind {
        let k = &self.k;
        let node = self.strip_parens(node);
        let id = node.kind_id();
        if id == k.string {
            let mut value = String::new();
            for c in children(node) {
                if c.kind_id() == k.interpolation {
                    return ValueKind::DynamicString;
                }
                if c.kind_id() == k.string_content {
                    value.push_str(text(c, src));
                }
            }
            return ValueKind::StaticString(value);
        }
        if id == k.concatenated_string {
            let mut value = String::new();
            for c in named_children(node) {
                match self.value_kind(c, src) {
                    ValueKind::StaticString(s) => value.push_str(&s),
                    _ => return ValueKind::DynamicString,
                }
            }
            return ValueKind::StaticString(value);
        }
        if id == k.integer || id == k.float || id == k.kw_true || id == k.kw_false || id == k.none {
            return ValueKind::OtherLiteral;
        }
        if id == k.binary_operator {
            let op = node.child_by_field_id(k.f.operator).map(|o| o.kind_id());
            if op == Some(k.plus) || op == Some(k.percent) {
                let l = node
                    .child_by_field_id(k.f.left)
                    .map(|n| self.value_kind(n, src));
                let r = node
                    .child_by_field_id(k.f.right)
                    .map(|n| self.value_kind(n, src));
                let stringy = |v: &Option<ValueKind>| {
                    matches!(
                        v,
                        Some(ValueKind::StaticString(_) | ValueKind::DynamicString)
                    )
                };
                if stringy(&l) || stringy(&r) {
                    return match (l, r) {
                        (Some(ValueKind::StaticString(a)), Some(ValueKind::StaticString(b)))
                            if op == Some(k.plus) =>
                        {
                            ValueKind::StaticString(a + &b)
                        }
                        _ => ValueKind::DynamicString,
                    };
                }
            }
        }
        if id == k.call {
            // "...".format(x) and "sep".join(parts) build strings at run time.
            if let Some(f) = node.child_by_field_id(k.f.function)
                && f.kind_id() == k.attribute
                && let Some(obj) = f.child_by_field_id(k.f.object)
                && matches!(
                    self.value_kind(obj, src),
                    ValueKind::StaticString(_) | ValueKind::DynamicString
                )
            {
                return ValueKind::DynamicString;
            }
        }
        ValueKind::Other
    }

    fn loop_iterable<'t>(&self, node: Node<'t>) -> Option<Node<'t>> {
        let id = node.kind_id();
        if id == self.k.for_statement || id == self.k.for_in_clause {
            node.child_by_field_id(self.k.f.right)
        } else {
            None
        }
    }

    fn loop_target<'t>(&self, node: Node<'t>) -> Option<Node<'t>> {
        (node.kind_id() == self.k.for_statement)
            .then(|| node.child_by_field_id(self.k.f.left))
            .flatten()
            .filter(|t| t.kind_id() == self.k.identifier)
    }

    fn is_literal_collection(&self, node: Node<'_>, src: &str) -> bool {
        let k = &self.k;
        let node = self.strip_parens(node);
        let id = node.kind_id();
        // `for x in "a", "b":` iterates a bare tuple, an expression list.
        (id == k.list || id == k.tuple || id == k.set || id == k.expression_list)
            && node.named_child_count() > 0
            && named_children(node)
                .into_iter()
                .filter(|c| c.kind_id() != k.comment)
                .all(|c| self.value_kind(c, src).is_literal())
    }

    fn is_list_like(&self, node: Node<'_>, src: &str) -> bool {
        let k = &self.k;
        let node = self.strip_parens(node);
        let id = node.kind_id();
        let literal = |n: Node<'_>| {
            let n = self.strip_parens(n);
            n.kind_id() == k.list || n.kind_id() == k.list_comprehension
        };
        if literal(node) {
            return true;
        }
        // `head + [x]`, `[0] * n`
        if id == k.binary_operator {
            let op = node.child_by_field_id(k.f.operator).map(|o| text(o, src));
            return matches!(op, Some("+" | "*"))
                && [k.f.left, k.f.right]
                    .iter()
                    .any(|f| node.child_by_field_id(*f).is_some_and(literal));
        }
        if id != k.call {
            return false;
        }
        let Some(f) = node.child_by_field_id(k.f.function) else {
            return false;
        };
        if f.kind_id() == k.identifier {
            return matches!(text(f, src), "list" | "sorted");
        }
        // `line.split(",")`, `f.readlines()`; not `os.path.split(p)`, a pair.
        f.kind_id() == k.attribute
            && f.child_by_field_id(k.f.attribute).is_some_and(|a| {
                matches!(
                    text(a, src),
                    "split" | "rsplit" | "splitlines" | "readlines"
                )
            })
            && f.child_by_field_id(k.f.object)
                .is_none_or(|o| !text(o, src).ends_with("path"))
    }

    fn metric_kinds(&self) -> super::MetricKinds {
        let k = &self.k;
        super::MetricKinds {
            cc: vec![
                k.decorated_definition,
                k.assert_statement,
                k.if_statement,
                k.elif_clause,
                k.conditional_expression,
                k.boolean_operator,
                k.for_in_clause,
                k.if_clause,
                k.for_statement,
                k.while_statement,
                k.try_statement,
                k.match_statement,
            ],
            nesting: vec![
                k.if_statement,
                k.for_statement,
                k.while_statement,
                k.try_statement,
                k.with_statement,
                k.match_statement,
            ],
            callable: vec![k.lambda],
            cog: Vec::new(),
            logical: Vec::new(),
            paren: Vec::new(),
        }
    }

    fn is_callable_literal(&self, node: Node<'_>) -> bool {
        node.kind_id() == self.k.lambda
    }

    fn cc_start(&self, func: Node<'_>) -> usize {
        // radon never looks at decorators, parameter defaults or annotations.
        func.child_by_field_id(self.k.f.body)
            .map_or(func.start_byte(), |b| b.start_byte())
    }

    fn cc_increment(&self, n: Node<'_>, parent: Option<Node<'_>>, _src: &str) -> CcStep {
        let k = &self.k;
        if !n.is_named() {
            return CcStep::NONE;
        }
        let id = n.kind_id();
        if id == k.decorated_definition {
            // A nested definition's decorators are not the enclosing function's.
            return CcStep {
                add: 0,
                skip_inside: true,
            };
        }
        if id == k.assert_statement {
            // +1, without looking inside: `assert a and b` adds 1.
            return CcStep {
                add: 1,
                skip_inside: true,
            };
        }
        if id == k.if_statement
            || id == k.elif_clause
            || id == k.conditional_expression
            || id == k.boolean_operator
            || id == k.for_in_clause
        {
            return CcStep::add(1);
        }
        if id == k.if_clause {
            // Comprehension filters count; `case ... if guard` does not.
            return CcStep::add(u32::from(
                parent.is_some_and(|p| p.kind_id() != k.case_clause),
            ));
        }
        if id == k.for_statement || id == k.while_statement {
            return CcStep::add(1 + u32::from(n.child_by_field_id(k.f.alternative).is_some()));
        }
        if id == k.try_statement {
            return CcStep::add(self.radon_try(n));
        }
        if id == k.match_statement {
            return CcStep::add(self.radon_match(n));
        }
        CcStep::NONE
    }

    fn is_nesting_block(&self, n: Node<'_>, _parent: Option<Node<'_>>) -> bool {
        let k = &self.k;
        let id = n.kind_id();
        id == k.if_statement
            || id == k.for_statement
            || id == k.while_statement
            || id == k.try_statement
            || id == k.with_statement
            || id == k.match_statement
    }
}

// ---- radon cyclomatic complexity -------------------------------------------------------

impl Python {
    fn radon_try(&self, n: Node<'_>) -> u32 {
        let k = &self.k;
        let mut handlers = 0;
        let mut has_else = false;
        for c in named_children(n) {
            if c.kind_id() == k.except_clause {
                // radon 6 does not know `except*` (ast.TryStar): such a try counts 0.
                if children(c).iter().any(|t| t.kind_id() == k.star) {
                    return 0;
                }
                handlers += 1;
            } else if c.kind_id() == k.else_clause {
                has_else = true;
            }
        }
        handlers + u32::from(has_else)
    }

    /// Each `case` counts, less one if any case is an irrefutable bare name or `_`.
    fn radon_match(&self, n: Node<'_>) -> u32 {
        let k = &self.k;
        let cases: Vec<Node> = n
            .child_by_field_id(k.f.body)
            .map(|b| {
                named_children(b)
                    .into_iter()
                    .filter(|c| c.kind_id() == k.case_clause)
                    .collect()
            })
            .unwrap_or_default();
        let wildcard = cases.iter().any(|c| self.is_irrefutable_case(*c));
        (cases.len() as u32).saturating_sub(u32::from(wildcard))
    }

    fn is_irrefutable_case(&self, case: Node<'_>) -> bool {
        let k = &self.k;
        let kids = children(case);
        let patterns: Vec<Node> = kids
            .iter()
            .copied()
            .filter(|c| c.kind_id() == k.case_pattern)
            .collect();
        let trailing_comma = kids.iter().any(|c| !c.is_named() && c.kind() == ",");
        if patterns.len() != 1 || trailing_comma {
            return false;
        }
        let mut pat = patterns[0];
        loop {
            let inner = children(pat);
            match inner.as_slice() {
                [only] if only.kind_id() == k.underscore => return true,
                [only] if only.kind_id() == k.dotted_name => {
                    return only.named_child_count() == 1;
                }
                [only] if only.kind_id() == k.tuple_pattern => {
                    // `(p)` is a parenthesised pattern; `(p,)` is a tuple.
                    let t = children(*only);
                    let named: Vec<Node> = t
                        .iter()
                        .copied()
                        .filter(|c| c.kind_id() == k.case_pattern)
                        .collect();
                    if named.len() != 1 || t.iter().any(|c| c.kind() == ",") {
                        return false;
                    }
                    pat = named[0];
                }
                _ => return false,
            }
        }
    }
}

// ---- complexipy cognitive complexity ---------------------------------------------------
//
// Counted during the walk: every node gets a state from its parent's state, the parent's
// kind and its own position; the state says whether and at which nesting level complexipy
// scores it. A nested function is scored on its own (level 0) and added to its enclosing
// function as `score + level × (nesting-dependent increments)`, which is what scoring it
// in place at that level gives.

/// Where a node sits, for complexipy's scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cpx {
    /// Not scored, nor anything inside.
    Off,
    /// A block whose statements are scored at level `n`.
    Suite(u32),
    /// A function's body: nested definitions one level deeper, except in a decorator
    /// factory (`def outer(): def inner(): ...; return inner`), where the `return` is not
    /// scored and `inner` stays at this level.
    FnBody {
        factory: bool,
    },
    /// The body of a class defined inside a function: only its methods count.
    ClassBody(u32),
    Stmt(u32),
    Expr(u32),
    /// Inside a sequence of boolean operators, below operator `parent_op`.
    Bool(Option<u16>),
    Elif(u32),
    Else(u32),
    /// A loop's `else`, a `try`'s `else` or `finally`: body at the same level.
    SameLevel(u32),
    Except(u32),
    MatchBody(u32),
    Case(u32),
    With(u32),
    Assign(u32),
    ArgList(u32),
    CompFor(u32),
    CompIf(u32),
    /// A dictionary display's entry: only the value is scored.
    DictEntry(u32),
    /// A dict comprehension's `key: value` element: both are scored.
    CompPair(u32),
}

/// What a node adds: `base` to the score, `nested` of it depending on the nesting level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpxInc {
    pub base: u32,
    pub nested: u32,
}

impl Python {
    /// The state of `node` (of kind `id`), whose parent (of kind `parent_kind`) is in state `parent`;
    /// `field` is the node's field in the parent and `index` its position among the
    /// parent's named children.
    pub(crate) fn cpx_state(
        &self,
        parent: Cpx,
        parent_kind: u16,
        node: Node<'_>,
        id: u16,
        field: Option<u16>,
        index: u16,
    ) -> Cpx {
        let k = &self.k;
        let f = &k.f;
        let is_def = |n: Node<'_>| {
            n.kind_id() == k.function_definition
                || (n.kind_id() == k.decorated_definition
                    && n.child_by_field_id(f.definition)
                        .is_some_and(|d| d.kind_id() == k.function_definition))
        };
        match parent {
            Cpx::Off => Cpx::Off,
            Cpx::Suite(n) => Cpx::Stmt(n),
            Cpx::FnBody { factory } => {
                if is_def(node) {
                    Cpx::Stmt(u32::from(!factory))
                } else if factory && id == k.return_statement {
                    Cpx::Off
                } else {
                    Cpx::Stmt(0)
                }
            }
            Cpx::ClassBody(n) => {
                if is_def(node) {
                    Cpx::Stmt(n)
                } else {
                    Cpx::Off
                }
            }
            Cpx::Stmt(n) => {
                let pk = parent_kind;
                if pk == k.function_definition {
                    if field == Some(f.body) {
                        // Set by the walker from the function itself; see `cpx_body`.
                        Cpx::FnBody { factory: false }
                    } else {
                        Cpx::Off
                    }
                } else if pk == k.decorated_definition {
                    if field == Some(f.definition) {
                        Cpx::Stmt(n)
                    } else {
                        Cpx::Off
                    }
                } else if pk == k.class_definition {
                    if field == Some(f.body) {
                        Cpx::ClassBody(n)
                    } else {
                        Cpx::Off
                    }
                } else if pk == k.if_statement {
                    if field == Some(f.condition) {
                        Cpx::Expr(n)
                    } else if field == Some(f.consequence) {
                        Cpx::Suite(n + 1)
                    } else if id == k.elif_clause {
                        Cpx::Elif(n)
                    } else if id == k.else_clause {
                        Cpx::Else(n)
                    } else {
                        Cpx::Off
                    }
                } else if pk == k.for_statement || pk == k.while_statement {
                    if field == Some(f.right) || field == Some(f.condition) {
                        Cpx::Expr(n)
                    } else if field == Some(f.body) {
                        Cpx::Suite(n + 1)
                    } else if field == Some(f.alternative) {
                        Cpx::SameLevel(n)
                    } else {
                        Cpx::Off
                    }
                } else if pk == k.try_statement {
                    if field == Some(f.body) {
                        Cpx::Suite(n)
                    } else if id == k.except_clause {
                        Cpx::Except(n)
                    } else if id == k.else_clause || id == k.finally_clause {
                        Cpx::SameLevel(n)
                    } else {
                        Cpx::Off
                    }
                } else if pk == k.match_statement {
                    if field == Some(f.body) {
                        Cpx::MatchBody(n)
                    } else {
                        Cpx::Off
                    }
                } else if pk == k.with_statement {
                    if field == Some(f.body) {
                        Cpx::Suite(n)
                    } else if id == k.with_clause {
                        Cpx::With(n)
                    } else {
                        Cpx::Off
                    }
                } else if pk == k.expression_statement {
                    if id == k.assignment || id == k.augmented_assignment {
                        Cpx::Assign(n)
                    } else {
                        Cpx::Expr(n)
                    }
                } else if pk == k.return_statement
                    || pk == k.raise_statement
                    || pk == k.assert_statement
                {
                    Cpx::Expr(n)
                } else {
                    Cpx::Off
                }
            }
            Cpx::Elif(n) => {
                if field == Some(f.condition) {
                    Cpx::Expr(n)
                } else if field == Some(f.consequence) {
                    Cpx::Suite(n + 1)
                } else {
                    Cpx::Off
                }
            }
            Cpx::Else(n) => {
                if field == Some(f.body) {
                    Cpx::Suite(n + 1)
                } else {
                    Cpx::Off
                }
            }
            Cpx::SameLevel(n) => {
                if field == Some(f.body) || id == k.block {
                    Cpx::Suite(n)
                } else {
                    Cpx::Off
                }
            }
            Cpx::Except(n) => {
                if id == k.block {
                    Cpx::Suite(n + 1)
                } else {
                    Cpx::Off
                }
            }
            Cpx::MatchBody(n) => {
                if id == k.case_clause {
                    Cpx::Case(n)
                } else {
                    Cpx::Off
                }
            }
            Cpx::Case(n) => {
                if field == Some(f.consequence) {
                    Cpx::Suite(n + 1)
                } else {
                    Cpx::Off
                }
            }
            Cpx::With(n) => {
                if parent_kind == k.with_clause {
                    if id == k.with_item {
                        Cpx::With(n)
                    } else {
                        Cpx::Off
                    }
                } else if parent_kind == k.with_item {
                    if field == Some(f.value) {
                        Cpx::Expr(n)
                    } else {
                        Cpx::Off
                    }
                } else {
                    Cpx::Off
                }
            }
            Cpx::Assign(n) => {
                if field != Some(f.right) {
                    Cpx::Off
                } else if id == k.assignment {
                    // `a = b = v`: only the innermost value is scored.
                    Cpx::Assign(n)
                } else {
                    Cpx::Expr(n)
                }
            }
            Cpx::ArgList(n) => {
                if id == k.keyword_argument || id == k.list_splat || id == k.dictionary_splat {
                    Cpx::Off
                } else {
                    Cpx::Expr(n)
                }
            }
            Cpx::CompFor(n) => {
                if field == Some(f.right) {
                    Cpx::Expr(n)
                } else {
                    Cpx::Off
                }
            }
            Cpx::CompIf(n) => {
                if index == 0 {
                    Cpx::Expr(n + 1)
                } else {
                    Cpx::Off
                }
            }
            Cpx::DictEntry(n) => {
                if field == Some(f.value) {
                    Cpx::Expr(n)
                } else {
                    Cpx::Off
                }
            }
            Cpx::CompPair(n) => {
                if field == Some(f.key) || field == Some(f.value) {
                    Cpx::Expr(n)
                } else {
                    Cpx::Off
                }
            }
            Cpx::Bool(op) => {
                if id == k.boolean_operator
                    || id == k.not_operator
                    || id == k.unary_operator
                    || id == k.parenthesized_expression
                {
                    Cpx::Bool(op)
                } else {
                    Cpx::Off
                }
            }
            Cpx::Expr(n) => self.cpx_expr_child(n, parent_kind, id, field, index),
        }
    }

    /// Children of an expression scored at level `n`.
    fn cpx_expr_child(
        &self,
        n: u32,
        parent_kind: u16,
        id: u16,
        field: Option<u16>,
        index: u16,
    ) -> Cpx {
        let k = &self.k;
        let f = &k.f;
        let pk = parent_kind;
        if pk == k.as_pattern {
            return if index == 0 { Cpx::Expr(n) } else { Cpx::Off };
        }
        if pk == k.parenthesized_expression
            || pk == k.comparison_operator
            || pk == k.tuple
            || pk == k.expression_list
            || pk == k.list
            || pk == k.set
        {
            return Cpx::Expr(n);
        }
        if pk == k.conditional_expression {
            // body if test else orelse
            return match index {
                1 => Cpx::Expr(n),
                0 | 2 => Cpx::Expr(n + 1),
                _ => Cpx::Off,
            };
        }
        if pk == k.lambda {
            return if field == Some(f.body) {
                Cpx::Expr(n + 1)
            } else {
                Cpx::Off
            };
        }
        if pk == k.list_comprehension
            || pk == k.set_comprehension
            || pk == k.generator_expression
            || pk == k.dictionary_comprehension
        {
            return if id == k.for_in_clause {
                Cpx::CompFor(n)
            } else if id == k.if_clause {
                Cpx::CompIf(n)
            } else if id == k.pair {
                Cpx::CompPair(n + 1)
            } else {
                Cpx::Expr(n + 1)
            };
        }
        if pk == k.call {
            return if field == Some(f.arguments) {
                if id == k.argument_list {
                    Cpx::ArgList(n)
                } else {
                    Cpx::Expr(n)
                }
            } else {
                Cpx::Off
            };
        }
        if pk == k.dictionary {
            return if id == k.pair {
                Cpx::DictEntry(n)
            } else if id == k.dictionary_splat {
                Cpx::Expr(n)
            } else {
                Cpx::Off
            };
        }
        if pk == k.dictionary_splat {
            return Cpx::Expr(n);
        }
        Cpx::Off
    }

    /// What `node` in state `state` adds, and the state its children see (a boolean
    /// operator in an expression position starts a new boolean sequence).
    pub(crate) fn cpx_visit(&self, state: Cpx, node: Node<'_>, id: u16) -> (Cpx, CpxInc) {
        let k = &self.k;
        let nested = |n: u32| CpxInc {
            base: 1 + n,
            nested: 1,
        };
        let flat = CpxInc { base: 1, nested: 0 };
        match state {
            Cpx::Stmt(n) => {
                if id == k.if_statement
                    || id == k.for_statement
                    || id == k.while_statement
                    || id == k.match_statement
                {
                    (state, nested(n))
                } else {
                    (state, CpxInc::default())
                }
            }
            Cpx::Elif(_) | Cpx::Else(_) => (state, flat),
            Cpx::Except(n) | Cpx::CompFor(n) => (state, nested(n)),
            Cpx::CompIf(_) => (state, flat),
            Cpx::Expr(n) => {
                if id == k.boolean_operator || id == k.not_operator || id == k.unary_operator {
                    self.cpx_visit(Cpx::Bool(None), node, id)
                } else if id == k.conditional_expression {
                    (state, nested(n))
                } else {
                    (state, CpxInc::default())
                }
            }
            Cpx::Bool(parent_op) => {
                if id == k.boolean_operator {
                    let op = node.child_by_field_id(k.f.operator).map(|o| o.kind_id());
                    let inc = if op != parent_op {
                        flat
                    } else {
                        CpxInc::default()
                    };
                    (Cpx::Bool(op), inc)
                } else if id == k.not_operator || id == k.unary_operator {
                    (Cpx::Bool(None), CpxInc::default())
                } else {
                    (state, CpxInc::default())
                }
            }
            _ => (state, CpxInc::default()),
        }
    }

    /// The state of a function's body: whether it is a decorator factory.
    pub(crate) fn cpx_body(&self, func: Node<'_>) -> Cpx {
        Cpx::FnBody {
            factory: self.decorator_shape(func).is_some(),
        }
    }

    /// A function whose body is exactly `def inner ...; return ...` (a decorator factory).
    fn decorator_shape<'t>(&self, f: Node<'t>) -> Option<Node<'t>> {
        if !self.is_def(f) {
            return None;
        }
        let block = f.child_by_field_id(self.k.f.body);
        // Cheap rejection first: a body whose first child is a plain statement.
        if let Some(first) = block.and_then(|b| b.named_child(0))
            && !first.is_extra()
            && first.kind_id() != self.k.comment
            && !self.is_def(self.undecorate(first))
        {
            return None;
        }
        let (body, more) = self.first_statements::<2>(block);
        if more {
            return None;
        }
        match body.as_slice() {
            [inner, ret]
                if self.is_def(self.undecorate(*inner))
                    && ret.kind_id() == self.k.return_statement =>
            {
                Some(self.undecorate(*inner))
            }
            _ => None,
        }
    }
}
