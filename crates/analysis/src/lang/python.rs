//! Python: roles, views, and metrics by radon's (cyclomatic) and complexipy's (cognitive)
//! rules. The rules are written out in `docs/metrics.md`; each is pinned by a fixture in
//! `tests/metrics/python.rs`.

use std::sync::OnceLock;

use tree_sitter::Node;

use super::{
    Arg, Assign, Call, CcStep, DeclKind, FunctionDecl, LanguageSpec, Role, ValueKind, kind_table,
    text,
};
use smallvec::SmallVec;
use tree_sitter::TreeCursor;

use crate::lang::syntax::{build_roles, children, named_children, squash};

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
        let mut cursor = b.walk();
        for n in b.named_children(&mut cursor) {
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
            for c in named_children(p) {
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
                for a in named_children(list) {
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
                    } else if id != k.comment && id != k.list_splat && id != k.dictionary_splat {
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
            callee: squash(text(func, src)),
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

    fn cognitive(&self, func: Node<'_>, _src: &str) -> u32 {
        let mut cursor = func.walk();
        self.cpx_stmt(func, 0, 0, &mut cursor)
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

/// Deeper than any real code; keeps a pathological input from exhausting the stack.
const MAX_DEPTH: u32 = 400;

/// Named, non-extra children of `node` (comments included), through a cursor shared by
/// the whole computation: no allocation for up to 16 children.
fn kids<'t>(cur: &mut TreeCursor<'t>, node: Node<'t>) -> SmallVec<[Node<'t>; 16]> {
    let mut out = SmallVec::new();
    cur.reset(node);
    if cur.goto_first_child() {
        loop {
            let n = cur.node();
            if n.is_named() && !n.is_extra() {
                out.push(n);
            }
            if !cur.goto_next_sibling() {
                break;
            }
        }
    }
    out
}

impl Python {
    fn suite<'t>(
        &self,
        block: Option<Node<'t>>,
        nest: u32,
        depth: u32,
        cur: &mut TreeCursor<'t>,
    ) -> u32 {
        let Some(b) = block else { return 0 };
        let mut total = 0;
        for s in kids(cur, b) {
            if s.kind_id() != self.k.comment {
                total += self.cpx_stmt(s, nest, depth + 1, cur);
            }
        }
        total
    }

    /// A function whose body is exactly `def inner ...; return ...` (a decorator factory).
    fn decorator_shape<'t>(&self, f: Node<'t>) -> Option<Node<'t>> {
        if !self.is_def(f) {
            return None;
        }
        let (body, more) = self.first_statements::<2>(f.child_by_field_id(self.k.f.body));
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

    fn cpx_stmt<'t>(&self, s: Node<'t>, nest: u32, depth: u32, cur: &mut TreeCursor<'t>) -> u32 {
        if depth > MAX_DEPTH {
            return 0;
        }
        let k = &self.k;
        let s = self.undecorate(s);
        let id = s.kind_id();
        if id == k.function_definition {
            if let Some(inner) = self.decorator_shape(s) {
                return self.cpx_stmt(inner, nest, depth + 1, cur);
            }
            let Some(b) = s.child_by_field_id(k.f.body) else {
                return 0;
            };
            let mut total = 0;
            for c in kids(cur, b) {
                if c.kind_id() == k.comment {
                    continue;
                }
                let inner = if self.is_def(self.undecorate(c)) {
                    nest + 1
                } else {
                    nest
                };
                total += self.cpx_stmt(c, inner, depth + 1, cur);
            }
            return total;
        }
        if id == k.class_definition {
            let Some(b) = s.child_by_field_id(k.f.body) else {
                return 0;
            };
            let mut total = 0;
            for c in kids(cur, b) {
                if self.is_def(self.undecorate(c)) {
                    total += self.cpx_stmt(c, nest, depth + 1, cur);
                }
            }
            return total;
        }
        if id == k.expression_statement {
            let mut total = 0;
            for c in kids(cur, s) {
                let cid = c.kind_id();
                let value = if cid == k.assignment {
                    let mut v = c.child_by_field_id(k.f.right);
                    while let Some(inner) = v.filter(|v| v.kind_id() == k.assignment) {
                        v = inner.child_by_field_id(k.f.right);
                    }
                    v
                } else if cid == k.augmented_assignment {
                    c.child_by_field_id(k.f.right)
                } else {
                    Some(c)
                };
                total += self.expr_at(value, nest, depth, cur);
            }
            return total;
        }
        if id == k.for_statement || id == k.while_statement {
            let head = if id == k.for_statement {
                s.child_by_field_id(k.f.right)
            } else {
                s.child_by_field_id(k.f.condition)
            };
            let orelse = s
                .child_by_field_id(k.f.alternative)
                .and_then(|e| e.child_by_field_id(k.f.body));
            return 1
                + nest
                + self.expr_at(head, nest, depth, cur)
                + self.suite(s.child_by_field_id(k.f.body), nest + 1, depth, cur)
                + self.suite(orelse, nest, depth, cur);
        }
        if id == k.if_statement {
            let mut c = 1
                + nest
                + self.expr_at(s.child_by_field_id(k.f.condition), nest, depth, cur)
                + self.suite(s.child_by_field_id(k.f.consequence), nest + 1, depth, cur);
            for alt in kids(cur, s) {
                if alt.kind_id() == k.elif_clause {
                    c += 1
                        + self.expr_at(alt.child_by_field_id(k.f.condition), nest, depth, cur)
                        + self.suite(alt.child_by_field_id(k.f.consequence), nest + 1, depth, cur);
                } else if alt.kind_id() == k.else_clause {
                    c += 1 + self.suite(alt.child_by_field_id(k.f.body), nest + 1, depth, cur);
                }
            }
            return c;
        }
        if id == k.try_statement {
            let mut c = self.suite(s.child_by_field_id(k.f.body), nest, depth, cur);
            for part in kids(cur, s) {
                let pid = part.kind_id();
                if pid == k.except_clause || pid == k.finally_clause {
                    let block = kids(cur, part)
                        .into_iter()
                        .rfind(|n| n.kind_id() == k.block);
                    if pid == k.except_clause {
                        c += 1 + nest + self.suite(block, nest + 1, depth, cur);
                    } else {
                        c += self.suite(block, nest, depth, cur);
                    }
                } else if pid == k.else_clause {
                    c += self.suite(part.child_by_field_id(k.f.body), nest, depth, cur);
                }
            }
            return c;
        }
        if id == k.match_statement {
            let mut c = 1 + nest;
            if let Some(body) = s.child_by_field_id(k.f.body) {
                for case in kids(cur, body) {
                    if case.kind_id() == k.case_clause {
                        c += self.suite(
                            case.child_by_field_id(k.f.consequence),
                            nest + 1,
                            depth,
                            cur,
                        );
                    }
                }
            }
            return c;
        }
        if id == k.with_statement {
            let mut c = 0;
            if let Some(clause) = kids(cur, s)
                .into_iter()
                .find(|n| n.kind_id() == k.with_clause)
            {
                for item in kids(cur, clause) {
                    if item.kind_id() != k.with_item {
                        continue;
                    }
                    let mut v = item.child_by_field_id(k.f.value);
                    if let Some(p) = v.filter(|v| v.kind_id() == k.as_pattern) {
                        v = p.named_child(0);
                    }
                    c += self.expr_at(v, nest, depth, cur);
                }
            }
            return c + self.suite(s.child_by_field_id(k.f.body), nest, depth, cur);
        }
        if id == k.return_statement || id == k.raise_statement || id == k.assert_statement {
            let mut c = 0;
            for e in kids(cur, s) {
                if e.kind_id() != k.comment {
                    c += self.cpx_expr(e, nest, depth + 1, cur);
                }
            }
            return c;
        }
        0
    }

    fn expr_at<'t>(
        &self,
        e: Option<Node<'t>>,
        nest: u32,
        depth: u32,
        cur: &mut TreeCursor<'t>,
    ) -> u32 {
        e.map_or(0, |e| self.cpx_expr(e, nest, depth + 1, cur))
    }

    fn cpx_expr<'t>(&self, e: Node<'t>, nest: u32, depth: u32, cur: &mut TreeCursor<'t>) -> u32 {
        if depth > MAX_DEPTH {
            return 0;
        }
        let k = &self.k;
        let e = self.strip_parens(e);
        let id = e.kind_id();
        if id == k.boolean_operator || id == k.not_operator || id == k.unary_operator {
            return self.bool_tree(e, None, depth + 1);
        }
        if id == k.comparison_operator
            || id == k.tuple
            || id == k.expression_list
            || id == k.list
            || id == k.set
        {
            let mut c = 0;
            for x in kids(cur, e) {
                if x.kind_id() != k.comment {
                    c += self.cpx_expr(x, nest, depth + 1, cur);
                }
            }
            return c;
        }
        if id == k.conditional_expression {
            let parts = kids(cur, e);
            let mut parts = parts.into_iter().filter(|n| n.kind_id() != k.comment);
            let (body, test, orelse) = (parts.next(), parts.next(), parts.next());
            return 1
                + nest
                + self.expr_at(test, nest, depth, cur)
                + self.expr_at(body, nest + 1, depth, cur)
                + self.expr_at(orelse, nest + 1, depth, cur);
        }
        if id == k.lambda {
            return self.expr_at(e.child_by_field_id(k.f.body), nest + 1, depth, cur);
        }
        if id == k.list_comprehension
            || id == k.set_comprehension
            || id == k.generator_expression
            || id == k.dictionary_comprehension
        {
            let mut c = 0;
            let mut elements: SmallVec<[Node<'t>; 4]> = SmallVec::new();
            for part in kids(cur, e) {
                let pid = part.kind_id();
                if pid == k.for_in_clause {
                    c += 1
                        + nest
                        + self.expr_at(part.child_by_field_id(k.f.right), nest, depth, cur);
                } else if pid == k.if_clause {
                    c += 1 + self.expr_at(part.named_child(0), nest + 1, depth, cur);
                } else if pid == k.pair {
                    elements.extend(part.child_by_field_id(k.f.key));
                    elements.extend(part.child_by_field_id(k.f.value));
                } else if pid != k.comment {
                    elements.push(part);
                }
            }
            for x in elements {
                c += self.cpx_expr(x, nest + 1, depth + 1, cur);
            }
            return c;
        }
        if id == k.call {
            return match e.child_by_field_id(k.f.arguments) {
                Some(list) if list.kind_id() == k.argument_list => {
                    let mut c = 0;
                    for a in kids(cur, list) {
                        let aid = a.kind_id();
                        if aid != k.keyword_argument
                            && aid != k.list_splat
                            && aid != k.dictionary_splat
                            && aid != k.comment
                        {
                            c += self.cpx_expr(a, nest, depth + 1, cur);
                        }
                    }
                    c
                }
                other => self.expr_at(other, nest, depth, cur),
            };
        }
        if id == k.dictionary {
            let mut c = 0;
            for x in kids(cur, e) {
                if x.kind_id() == k.pair {
                    c += self.expr_at(x.child_by_field_id(k.f.value), nest, depth, cur);
                } else if x.kind_id() == k.dictionary_splat {
                    c += self.expr_at(x.named_child(0), nest, depth, cur);
                }
            }
            return c;
        }
        0
    }

    /// A boolean operator starts a new sequence (+1) unless its nearest boolean ancestor,
    /// looking through parentheses, uses the same operator; a unary operator resets.
    fn bool_tree(&self, e: Node<'_>, parent_op: Option<u16>, depth: u32) -> u32 {
        if depth > MAX_DEPTH {
            return 0;
        }
        let k = &self.k;
        let e = self.strip_parens(e);
        let id = e.kind_id();
        if id == k.boolean_operator {
            let op = e.child_by_field_id(k.f.operator).map(|o| o.kind_id());
            let own = u32::from(op != parent_op);
            return own
                + [k.f.left, k.f.right]
                    .into_iter()
                    .filter_map(|f| e.child_by_field_id(f))
                    .map(|c| self.bool_tree(c, op, depth + 1))
                    .sum::<u32>();
        }
        if id == k.not_operator || id == k.unary_operator {
            return e
                .child_by_field_id(k.f.argument)
                .map_or(0, |c| self.bool_tree(c, None, depth + 1));
        }
        0
    }
}
