//! Rust. Cyclomatic complexity follows lizard's counting where it reads the grammar right
//! (see `docs/metrics.md`), cognitive complexity SonarSource's.

use std::sync::OnceLock;

use tree_sitter::Node;

use super::{
    Arg, Assign, Call, CcStep, DeclKind, FunctionDecl, LanguageSpec, Role, ValueKind, kind_table,
    text,
};
use crate::lang::syntax::{build_roles, callee_text, children, named_children, squash};
use crate::metrics::cognitive::{CogKind, SonarLanguage};

kind_table! {
    pub(crate) struct Kinds;
    named {
        source_file, line_comment, block_comment, identifier, field_identifier,
        type_identifier, scoped_identifier, scoped_type_identifier, generic_type,
        function_item, function_signature_item, closure_expression, impl_item, trait_item,
        mod_item, declaration_list, attribute_item, attribute, visibility_modifier,
        function_modifiers, parameters, parameter, self_parameter, if_expression, else_clause,
        let_chain, let_condition, match_expression, match_block, match_arm, match_pattern,
        for_expression, while_expression, loop_expression, binary_expression,
        parenthesized_expression, try_expression, let_declaration, call_expression,
        field_expression, arguments, macro_invocation, token_tree, assignment_expression,
        compound_assignment_expr, const_item, static_item, field_initializer, string_literal,
        raw_string_literal, string_content, escape_sequence, integer_literal, float_literal,
        boolean_literal, char_literal, use_declaration, extern_crate_declaration,
        break_expression, continue_expression, label, block, generic_function,
        macro_definition, expression_statement
    }
    tokens {
        and = "&&", or = "||", async_kw = "async", question = "?", if_kw = "if",
        for_kw = "for", while_kw = "while", match_kw = "match", fat_arrow = "=>"
    }
    fields {
        name, body, parameters, pattern, r#type, r#trait, condition, consequence, alternative,
        value, function, arguments, field, left, right, operator, r#macro, argument
    }
}

pub(crate) struct Rust {
    pub(crate) k: Kinds,
    roles: Vec<Role>,
}

pub(crate) fn spec() -> &'static Rust {
    static S: OnceLock<Rust> = OnceLock::new();
    S.get_or_init(|| {
        let lang: tree_sitter::Language = tree_sitter_rust::LANGUAGE.into();
        let k = Kinds::load(&lang);
        let roles = build_roles(&lang, |id| match id {
            _ if id == k.function_item => Role::Function,
            _ if id == k.impl_item || id == k.trait_item => Role::Class,
            _ if id == k.mod_item => Role::Module,
            _ if id == k.call_expression || id == k.macro_invocation => Role::Call,
            _ if id == k.let_declaration
                || id == k.assignment_expression
                || id == k.compound_assignment_expr
                || id == k.const_item
                || id == k.static_item
                || id == k.field_initializer =>
            {
                Role::Assign
            }
            _ if id == k.use_declaration || id == k.extern_crate_declaration => Role::Import,
            _ if id == k.line_comment || id == k.block_comment => Role::Comment,
            _ if id == k.for_expression || id == k.while_expression || id == k.loop_expression => {
                Role::Loop
            }
            _ if id == k.string_literal || id == k.raw_string_literal => Role::String,
            _ if id == k.identifier || id == k.field_identifier => Role::Identifier,
            _ => Role::Other,
        });
        Rust { k, roles }
    })
}

impl Rust {
    /// Attributes written just before an item (`#[test]`, `#[cfg(test)]`), as text.
    fn attributes<'s>(&self, node: Node<'_>, src: &'s str) -> Vec<&'s str> {
        let mut out = Vec::new();
        let mut prev = node.prev_named_sibling();
        while let Some(p) = prev {
            if p.kind_id() == self.k.attribute_item {
                out.push(text(p, src));
            } else if p.kind_id() != self.k.line_comment && p.kind_id() != self.k.block_comment {
                break;
            }
            prev = p.prev_named_sibling();
        }
        out
    }

    /// `Server` for `impl<T> Server<T>`, `impl Display for Server`.
    fn type_name(&self, ty: Node<'_>, src: &str) -> String {
        let k = &self.k;
        let ty = if ty.kind_id() == k.generic_type {
            ty.child_by_field_id(k.f.r#type).unwrap_or(ty)
        } else {
            ty
        };
        let t = text(ty, src);
        t.rsplit("::").next().unwrap_or(t).to_string()
    }
}

impl LanguageSpec for Rust {
    fn roles(&self) -> &[Role] {
        &self.roles
    }

    fn function(&self, node: Node<'_>, src: &str) -> Option<FunctionDecl> {
        let k = &self.k;
        node.child_by_field_id(k.f.body)?;
        let name_node = node.child_by_field_id(k.f.name)?;
        let name = text(name_node, src).to_string();
        let mut params = Vec::new();
        if let Some(p) = node.child_by_field_id(k.f.parameters) {
            for c in named_children(p) {
                if c.kind_id() == k.self_parameter {
                    params.push("self".to_string());
                } else if c.kind_id() == k.parameter
                    && let Some(pat) = c.child_by_field_id(k.f.pattern)
                {
                    params.push(squash(text(pat, src)));
                }
            }
        }
        let kids = children(node);
        let is_public = kids.iter().any(|c| c.kind_id() == k.visibility_modifier);
        let is_async = kids.iter().any(|c| {
            c.kind_id() == k.function_modifiers
                && children(*c).iter().any(|m| m.kind_id() == k.async_kw)
        });
        let is_test_marked = self.attributes(node, src).iter().any(|a| {
            let inner = a.trim_start_matches("#[").trim_end_matches(']');
            let path = inner.split('(').next().unwrap_or(inner).trim();
            path == "test" || path.ends_with("::test") || path == "rstest" || path == "quickcheck"
        });
        Some(FunctionDecl {
            kind: DeclKind::Named,
            name,
            start_row: name_node.start_position().row,
            params,
            is_async,
            is_public,
            is_test_marked,
            owner: None,
        })
    }

    fn class_name(&self, node: Node<'_>, src: &str) -> Option<String> {
        let k = &self.k;
        if node.kind_id() == k.impl_item {
            return Some(self.type_name(node.child_by_field_id(k.f.r#type)?, src));
        }
        Some(text(node.child_by_field_id(k.f.name)?, src).to_string())
    }

    fn module_scope(&self, node: Node<'_>, src: &str) -> Option<(String, bool)> {
        let name = text(node.child_by_field_id(self.k.f.name)?, src).to_string();
        let is_test = self
            .attributes(node, src)
            .iter()
            .any(|a| squash(a) == "#[cfg(test)]");
        Some((name, is_test))
    }

    fn imports(&self, node: Node<'_>, src: &str, out: &mut Vec<String>) {
        let k = &self.k;
        let target = if node.kind_id() == k.use_declaration {
            node.child_by_field_id(k.f.argument)
        } else {
            node.child_by_field_id(k.f.name)
        };
        if let Some(t) = target {
            out.push(squash(text(t, src)));
        }
    }

    fn call<'t>(&self, node: Node<'t>, src: &'t str) -> Option<Call<'t>> {
        let k = &self.k;
        if node.kind_id() == k.macro_invocation {
            let m = node.child_by_field_id(k.f.r#macro)?;
            let t = text(m, src);
            let name = t.rsplit("::").next().unwrap_or(t);
            return Some(Call {
                node,
                callee: format!("{}!", squash(t)),
                name,
                args: Vec::new(),
            });
        }
        let mut func = node.child_by_field_id(k.f.function)?;
        if func.kind_id() == k.generic_function {
            func = func.child_by_field_id(k.f.function)?;
        }
        let name_node = if func.kind_id() == k.field_expression {
            func.child_by_field_id(k.f.field)?
        } else if func.kind_id() == k.scoped_identifier {
            func.child_by_field_id(k.f.name)?
        } else {
            func
        };
        let args = node
            .child_by_field_id(k.f.arguments)
            .map(named_children)
            .unwrap_or_default()
            .into_iter()
            .map(|value| Arg {
                keyword: None,
                value,
            })
            .collect();
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
        let (target, value, operator) = if id == k.let_declaration {
            (
                node.child_by_field_id(k.f.pattern)?,
                node.child_by_field_id(k.f.value),
                None,
            )
        } else if id == k.const_item || id == k.static_item {
            (
                node.child_by_field_id(k.f.name)?,
                node.child_by_field_id(k.f.value),
                None,
            )
        } else if id == k.field_initializer {
            (
                node.child_by_field_id(k.f.field)?,
                node.child_by_field_id(k.f.value),
                None,
            )
        } else {
            let op = (id == k.compound_assignment_expr)
                .then(|| node.child_by_field_id(k.f.operator).map(|o| text(o, src)))
                .flatten();
            (
                node.child_by_field_id(k.f.left)?,
                node.child_by_field_id(k.f.right),
                op,
            )
        };
        let target_name = if target.kind_id() == k.field_expression {
            target
                .child_by_field_id(k.f.field)
                .map_or("", |f| text(f, src))
        } else {
            text(target, src)
        };
        Some(Assign {
            node,
            target: text(target, src),
            target_name,
            value,
            operator,
        })
    }

    fn value_kind(&self, node: Node<'_>, src: &str) -> ValueKind {
        let k = &self.k;
        let id = node.kind_id();
        if id == k.string_literal || id == k.raw_string_literal {
            let v: String = named_children(node).iter().map(|c| text(*c, src)).collect();
            return ValueKind::StaticString(v);
        }
        if id == k.integer_literal
            || id == k.float_literal
            || id == k.boolean_literal
            || id == k.char_literal
        {
            return ValueKind::OtherLiteral;
        }
        if id == k.macro_invocation
            && let Some(m) = node.child_by_field_id(k.f.r#macro)
            && matches!(text(m, src), "format" | "concat")
        {
            return ValueKind::DynamicString;
        }
        ValueKind::Other
    }

    fn loop_iterable<'t>(&self, node: Node<'t>) -> Option<Node<'t>> {
        (node.kind_id() == self.k.for_expression)
            .then(|| node.child_by_field_id(self.k.f.value))
            .flatten()
    }

    fn embedded_items(&self, root: Node<'_>) -> Vec<(usize, tree_sitter::Range)> {
        // Item-level macro invocations (`cfg_rt! { pub fn f() {} }`, `cfg_net!( impl X {} );`),
        // inside the file and inside modules, impls and traits.
        let k = &self.k;
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(container) = stack.pop() {
            for item in named_children(container) {
                // `m!( ... );` and `m![ ... ];` at item level are statements around the call.
                let item = if item.kind_id() == k.expression_statement {
                    match item.named_child(0) {
                        Some(call) if call.kind_id() == k.macro_invocation => call,
                        _ => continue,
                    }
                } else {
                    item
                };
                let id = item.kind_id();
                if id == k.macro_invocation {
                    let Some(tt) = named_children(item)
                        .into_iter()
                        .find(|c| c.kind_id() == k.token_tree)
                    else {
                        continue;
                    };
                    let (start, end) = (tt.start_byte(), tt.end_byte());
                    let delimited = tt
                        .child(0)
                        .is_some_and(|c| matches!(c.kind(), "{" | "(" | "["));
                    if end - start < 2 || !delimited {
                        continue;
                    }
                    let (sp, ep) = (tt.start_position(), tt.end_position());
                    out.push((
                        item.start_byte(),
                        tree_sitter::Range {
                            start_byte: start + 1,
                            end_byte: end - 1,
                            start_point: tree_sitter::Point::new(sp.row, sp.column + 1),
                            end_point: tree_sitter::Point::new(ep.row, ep.column.saturating_sub(1)),
                        },
                    ));
                } else if id == k.mod_item || id == k.impl_item || id == k.trait_item {
                    if let Some(body) = item.child_by_field_id(k.f.body) {
                        stack.push(body);
                    }
                } else if id == k.declaration_list {
                    stack.push(item);
                }
            }
        }
        out
    }

    fn is_list_like(&self, node: Node<'_>, src: &str) -> bool {
        let k = &self.k;
        // `let names: Vec<String> = load();`
        if let Some(decl) = node.parent().filter(|p| p.kind_id() == k.let_declaration)
            && decl.child_by_field_id(k.f.value) == Some(node)
            && decl
                .child_by_field_id(k.f.r#type)
                .is_some_and(|t| text(t, src).starts_with("Vec<"))
        {
            return true;
        }
        if node.kind_id() == k.macro_invocation {
            return node
                .child_by_field_id(k.f.r#macro)
                .is_some_and(|m| text(m, src) == "vec");
        }
        if node.kind_id() != k.call_expression {
            return false;
        }
        let Some(f) = node.child_by_field_id(k.f.function) else {
            return false;
        };
        let callee = squash(text(f, src));
        callee.starts_with("Vec::")
            || callee.ends_with(".to_vec")
            || callee.contains("collect::<Vec<")
    }

    fn metric_kinds(&self) -> super::MetricKinds {
        let k = &self.k;
        super::MetricKinds {
            cc: vec![
                k.if_expression,
                k.for_expression,
                k.while_expression,
                k.try_expression,
                k.match_block,
                k.match_pattern,
                k.let_declaration,
                k.binary_expression,
                k.let_chain,
                // Macro arguments are token trees, not expressions: their decisions are
                // counted token by token (see `cc_in_token_tree`).
                k.macro_invocation,
                k.macro_definition,
                k.and,
                k.or,
                k.question,
                k.if_kw,
                k.for_kw,
                k.while_kw,
                k.match_kw,
            ],
            nesting: vec![
                k.if_expression,
                k.for_expression,
                k.while_expression,
                k.loop_expression,
                k.match_expression,
            ],
            callable: vec![k.closure_expression],
            cog: vec![
                k.if_expression,
                k.else_clause,
                k.match_expression,
                k.for_expression,
                k.while_expression,
                k.loop_expression,
                k.closure_expression,
                k.function_item,
                k.break_expression,
                k.continue_expression,
            ],
            logical: vec![k.binary_expression],
            paren: vec![k.parenthesized_expression],
        }
    }

    fn is_callable_literal(&self, node: Node<'_>) -> bool {
        node.kind_id() == self.k.closure_expression
    }

    fn cc_increment(&self, n: Node<'_>, parent: Option<Node<'_>>, src: &str) -> CcStep {
        let k = &self.k;
        let id = n.kind_id();
        if let Some(p) = parent.filter(|p| p.kind_id() == k.token_tree) {
            return CcStep::add(self.cc_in_token_tree(n, id, p, src));
        }
        if id == k.macro_definition {
            // `macro_rules!` arms are patterns and templates, not code of this function.
            return CcStep {
                add: 0,
                skip_inside: true,
            };
        }
        if id == k.macro_invocation {
            // Code templates (`quote! { if #x { .. } }`) build another program's code.
            let name = n
                .child_by_field_id(k.f.r#macro)
                .map_or("", |m| text(m, src));
            let name = name.rsplit("::").next().unwrap_or(name);
            return CcStep {
                add: 0,
                skip_inside: TEMPLATE_MACROS.contains(&name),
            };
        }
        if id == k.if_expression
            || id == k.for_expression
            || id == k.while_expression
            || id == k.try_expression
        {
            return CcStep::add(1);
        }
        if id == k.match_block {
            // Each arm after the first is another path.
            let mut cursor = n.walk();
            let arms = n
                .named_children(&mut cursor)
                .filter(|a| a.kind_id() == k.match_arm)
                .count() as u32;
            return CcStep::add(arms.saturating_sub(1));
        }
        if id == k.match_pattern {
            // `pat if guard =>`
            return CcStep::add(u32::from(n.child_by_field_id(k.f.condition).is_some()));
        }
        if id == k.let_declaration {
            // `let Some(x) = y else { ... }`
            return CcStep::add(u32::from(n.child_by_field_id(k.f.alternative).is_some()));
        }
        if id == k.binary_expression {
            let op = n.child_by_field_id(k.f.operator).map(|o| o.kind_id());
            return CcStep::add(u32::from(op == Some(k.and) || op == Some(k.or)));
        }
        if id == k.let_chain {
            let mut cursor = n.walk();
            return CcStep::add(
                n.children(&mut cursor)
                    .filter(|c| c.kind_id() == k.and)
                    .count() as u32,
            );
        }
        CcStep::NONE
    }

    fn is_nesting_block(&self, n: Node<'_>, parent: Option<Node<'_>>) -> bool {
        let k = &self.k;
        let id = n.kind_id();
        (id == k.if_expression && parent.is_none_or(|p| p.kind_id() != k.else_clause))
            || id == k.for_expression
            || id == k.while_expression
            || id == k.loop_expression
            || id == k.match_expression
    }

    fn sonar(&self) -> Option<&dyn SonarLanguage> {
        Some(self)
    }
}

/// Macros whose arguments are code templates for another program, not code that runs.
const TEMPLATE_MACROS: &[&str] = &[
    "quote",
    "quote_spanned",
    "parse_quote",
    "parse_quote_spanned",
];

/// Words after which `&&`, `||` or `?` starts an operand (`return &&x`) rather than
/// following one.
const NOT_OPERANDS: &[&str] = &[
    "return", "in", "mut", "let", "move", "else", "match", "if", "while", "for", "break", "ref",
    "box", "dyn", "impl", "as",
];

impl Rust {
    /// Decisions among the tokens of a macro's arguments (`assert!(a && b)`,
    /// `ready!(poll()?)`, `vec![if a { 1 } else { 2 }]`), which tree-sitter leaves as token
    /// trees. The same constructs count as in code; tokens that only look like them do
    /// not (the `&&` of `&&x`, the `||` of a closure, the `for` of `impl T for U` or
    /// `for<'a>`).
    fn cc_in_token_tree(&self, n: Node<'_>, id: u16, tree: Node<'_>, src: &str) -> u32 {
        let k = &self.k;
        let at = n.start_byte();
        if id == k.if_kw || id == k.while_kw {
            return 1;
        }
        if id == k.for_kw {
            let next = src.get(n.end_byte()..).unwrap_or("").trim_start();
            return u32::from(!next.starts_with('<') && !follows_operand(src, at));
        }
        if id == k.and || id == k.or || id == k.question {
            return u32::from(follows_operand(src, at));
        }
        if id == k.match_kw {
            // Arms after the first, in the braced token tree that follows.
            let mut cursor = tree.walk();
            let arms = tree
                .children(&mut cursor)
                .skip_while(|c| c.id() != n.id())
                .find(|c| c.kind_id() == k.token_tree && text(*c, src).starts_with('{'))
                .map_or(0, |body| {
                    let mut c2 = body.walk();
                    body.children(&mut c2)
                        .filter(|t| t.kind_id() == k.fat_arrow)
                        .count() as u32
                });
            return arms.saturating_sub(1);
        }
        0
    }
}

/// Whether the token at byte `at` follows an operand: an identifier, literal, closing
/// bracket or `?`, as a binary operator or postfix `?` does.
fn follows_operand(src: &str, at: usize) -> bool {
    let before = src.get(..at).unwrap_or("").trim_end();
    let Some(last) = before.chars().next_back() else {
        return false;
    };
    if last.is_alphanumeric() || last == '_' {
        let word_start =
            crate::lang::syntax::trailing_word_start(before, |c| c.is_alphanumeric() || c == '_');
        let word = &before[word_start..];
        // A lifetime or label (`'a`) is not an operand either.
        let lifetime = before[..word_start].ends_with('\'');
        return !lifetime && !NOT_OPERANDS.contains(&word);
    }
    matches!(last, ')' | ']' | '}' | '?' | '\'' | '"')
}

impl SonarLanguage for Rust {
    fn cog_kind(&self, node: Node<'_>, parent: Node<'_>, _field: Option<u16>) -> CogKind {
        let k = &self.k;
        let id = node.kind_id();
        if id == k.if_expression {
            return if parent.kind_id() == k.else_clause {
                CogKind::ElseIf
            } else {
                CogKind::Structure
            };
        }
        if id == k.else_clause {
            let is_else_if = node
                .named_child(0)
                .is_some_and(|c| c.kind_id() == k.if_expression);
            return if is_else_if {
                CogKind::Other
            } else {
                CogKind::Else
            };
        }
        if id == k.match_expression
            || id == k.for_expression
            || id == k.while_expression
            || id == k.loop_expression
        {
            return CogKind::Structure;
        }
        if id == k.closure_expression || id == k.function_item {
            return CogKind::Nest;
        }
        if (id == k.break_expression || id == k.continue_expression)
            && named_children(node).iter().any(|c| c.kind_id() == k.label)
        {
            return CogKind::Jump;
        }
        CogKind::Other
    }

    fn logical_operator(&self, node: Node<'_>) -> Option<u16> {
        let k = &self.k;
        if node.kind_id() != k.binary_expression {
            return None;
        }
        let op = node.child_by_field_id(k.f.operator)?.kind_id();
        (op == k.and || op == k.or).then_some(op)
    }

    fn is_parenthesized(&self, node: Node<'_>) -> bool {
        node.kind_id() == self.k.parenthesized_expression
    }

    fn is_condition_field(&self, field: u16) -> bool {
        field == self.k.f.condition
    }
}
