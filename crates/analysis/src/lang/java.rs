//! Java. Cyclomatic complexity follows lizard's counting, cognitive complexity SonarSource's.

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
        program, line_comment, block_comment, identifier, type_identifier, class_declaration,
        interface_declaration, enum_declaration, record_declaration, class_body,
        method_declaration, constructor_declaration, lambda_expression, formal_parameters,
        formal_parameter, spread_parameter, variable_declarator, modifiers, marker_annotation,
        annotation, if_statement, for_statement, enhanced_for_statement, while_statement,
        do_statement, switch_expression, switch_label, try_statement,
        try_with_resources_statement, catch_clause, ternary_expression, binary_expression,
        parenthesized_expression, method_invocation, object_creation_expression,
        argument_list, field_access, assignment_expression, string_literal, string_fragment,
        multiline_string_fragment, escape_sequence, decimal_integer_literal,
        hex_integer_literal, octal_integer_literal, binary_integer_literal,
        decimal_floating_point_literal, character_literal, null_literal, import_declaration,
        asterisk, break_statement, continue_statement, block, scoped_identifier
    }
    renamed { kw_true = "true", kw_false = "false" }
    tokens { and = "&&", or = "||", plus = "+", case = "case", public_kw = "public", private_kw = "private" }
    fields {
        name, body, parameters, condition, consequence, alternative, object, arguments, left,
        right, operator, value, r#type, declarator
    }
}

pub(crate) struct Java {
    pub(crate) k: Kinds,
    roles: Vec<Role>,
}

pub(crate) fn spec() -> &'static Java {
    static S: OnceLock<Java> = OnceLock::new();
    S.get_or_init(|| {
        let lang: tree_sitter::Language = tree_sitter_java::LANGUAGE.into();
        let k = Kinds::load(&lang);
        let roles = build_roles(&lang, |id| match id {
            _ if id == k.method_declaration || id == k.constructor_declaration => Role::Function,
            _ if id == k.class_declaration
                || id == k.interface_declaration
                || id == k.enum_declaration
                || id == k.record_declaration =>
            {
                Role::Class
            }
            _ if id == k.method_invocation || id == k.object_creation_expression => Role::Call,
            _ if id == k.variable_declarator || id == k.assignment_expression => Role::Assign,
            _ if id == k.import_declaration => Role::Import,
            _ if id == k.line_comment || id == k.block_comment => Role::Comment,
            _ if id == k.for_statement
                || id == k.enhanced_for_statement
                || id == k.while_statement
                || id == k.do_statement =>
            {
                Role::Loop
            }
            _ if id == k.string_literal => Role::String,
            _ if id == k.identifier => Role::Identifier,
            _ => Role::Other,
        });
        Java { k, roles }
    })
}

/// Annotations that make a method a test in JUnit 4/5, TestNG and jqwik.
const TEST_ANNOTATIONS: &[&str] = &[
    "Test",
    "ParameterizedTest",
    "RepeatedTest",
    "TestFactory",
    "TestTemplate",
    "Property",
];

impl Java {
    fn modifiers<'t>(&self, node: Node<'t>) -> Option<Node<'t>> {
        named_children(node)
            .into_iter()
            .find(|n| n.kind_id() == self.k.modifiers)
    }

    fn is_frame(&self, id: u16) -> bool {
        id == self.k.method_declaration || id == self.k.constructor_declaration
    }
}

impl LanguageSpec for Java {
    fn roles(&self) -> &[Role] {
        &self.roles
    }

    fn function(&self, node: Node<'_>, src: &str) -> Option<FunctionDecl> {
        let k = &self.k;
        // Abstract and interface methods have no body.
        node.child_by_field_id(k.f.body)?;
        let name_node = node.child_by_field_id(k.f.name)?;
        let name = text(name_node, src).to_string();
        let mut params = Vec::new();
        if let Some(p) = node.child_by_field_id(k.f.parameters) {
            for c in named_children(p) {
                let n = if c.kind_id() == k.spread_parameter {
                    named_children(c)
                        .into_iter()
                        .find(|n| n.kind_id() == k.variable_declarator)
                        .and_then(|d| d.child_by_field_id(k.f.name))
                } else {
                    c.child_by_field_id(k.f.name)
                };
                if let Some(n) = n {
                    params.push(text(n, src).to_string());
                }
            }
        }
        let mut is_public = true;
        let mut is_test_marked = false;
        if let Some(m) = self.modifiers(node) {
            for c in children(m) {
                let id = c.kind_id();
                if id == k.private_kw {
                    is_public = false;
                } else if id == k.marker_annotation || id == k.annotation {
                    let ann = c
                        .child_by_field_id(k.f.name)
                        .map(|n| text(n, src))
                        .unwrap_or("");
                    let short = ann.rsplit('.').next().unwrap_or(ann);
                    is_test_marked |= TEST_ANNOTATIONS.contains(&short);
                }
            }
        }
        Some(FunctionDecl {
            kind: if node.kind_id() == k.constructor_declaration {
                DeclKind::Constructor
            } else {
                DeclKind::Named
            },
            name,
            start_row: name_node.start_position().row,
            params,
            is_async: false,
            is_public,
            is_test_marked,
            owner: None,
        })
    }

    fn class_name(&self, node: Node<'_>, src: &str) -> Option<String> {
        Some(text(node.child_by_field_id(self.k.f.name)?, src).to_string())
    }

    fn imports(&self, node: Node<'_>, src: &str, out: &mut Vec<String>) {
        let k = &self.k;
        let kids = named_children(node);
        if let Some(path) = kids
            .iter()
            .find(|n| n.kind_id() == k.scoped_identifier || n.kind_id() == k.identifier)
        {
            let mut s = squash(text(*path, src));
            if kids.iter().any(|n| n.kind_id() == k.asterisk) {
                s.push_str(".*");
            }
            out.push(s);
        }
    }

    fn call<'t>(&self, node: Node<'t>, src: &'t str) -> Option<Call<'t>> {
        let k = &self.k;
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
        if node.kind_id() == k.object_creation_expression {
            let ty = node.child_by_field_id(k.f.r#type)?;
            let t = text(ty, src);
            let name = t.split('<').next().unwrap_or(t);
            let name = name.rsplit('.').next().unwrap_or(name);
            return Some(Call {
                node,
                callee: format!("new {}", squash(t)),
                name,
                args,
            });
        }
        let name_node = node.child_by_field_id(k.f.name)?;
        let callee = match node.child_by_field_id(k.f.object) {
            Some(o) => format!("{}.{}", callee_text(text(o, src)), text(name_node, src)),
            None => text(name_node, src).to_string(),
        };
        Some(Call {
            node,
            callee,
            name: text(name_node, src),
            args,
        })
    }

    fn assignment<'t>(&self, node: Node<'t>, src: &'t str) -> Option<Assign<'t>> {
        let k = &self.k;
        let (target, value, operator) = if node.kind_id() == k.variable_declarator {
            (
                node.child_by_field_id(k.f.name)?,
                node.child_by_field_id(k.f.value),
                None,
            )
        } else {
            let op = node
                .child_by_field_id(k.f.operator)
                .map(|o| text(o, src))
                .filter(|o| *o != "=");
            (
                node.child_by_field_id(k.f.left)?,
                node.child_by_field_id(k.f.right),
                op,
            )
        };
        let target_name = if target.kind_id() == k.field_access {
            target
                .child_by_field_id(k.f.name)
                .map_or("", |n| text(n, src))
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
        if id == k.string_literal {
            let v: String = named_children(node).iter().map(|c| text(*c, src)).collect();
            return ValueKind::StaticString(v);
        }
        if id == k.decimal_integer_literal
            || id == k.hex_integer_literal
            || id == k.octal_integer_literal
            || id == k.binary_integer_literal
            || id == k.decimal_floating_point_literal
            || id == k.character_literal
            || id == k.null_literal
            || id == k.kw_true
            || id == k.kw_false
        {
            return ValueKind::OtherLiteral;
        }
        if id == k.parenthesized_expression
            && let Some(inner) = node.named_child(0)
        {
            return self.value_kind(inner, src);
        }
        if id == k.binary_expression
            && node.child_by_field_id(k.f.operator).map(|o| o.kind_id()) == Some(k.plus)
        {
            let l = node
                .child_by_field_id(k.f.left)
                .map(|n| self.value_kind(n, src));
            let r = node
                .child_by_field_id(k.f.right)
                .map(|n| self.value_kind(n, src));
            return match (l, r) {
                (Some(ValueKind::StaticString(a)), Some(ValueKind::StaticString(b))) => {
                    ValueKind::StaticString(a + &b)
                }
                (Some(ValueKind::StaticString(_) | ValueKind::DynamicString), _)
                | (_, Some(ValueKind::StaticString(_) | ValueKind::DynamicString)) => {
                    ValueKind::DynamicString
                }
                _ => ValueKind::Other,
            };
        }
        if id == k.method_invocation
            && let Some(call) = self.call(node, src)
            && matches!(call.callee.as_str(), "String.format" | "String.join")
        {
            return ValueKind::DynamicString;
        }
        ValueKind::Other
    }

    fn loop_iterable<'t>(&self, node: Node<'t>) -> Option<Node<'t>> {
        (node.kind_id() == self.k.enhanced_for_statement)
            .then(|| node.child_by_field_id(self.k.f.value))
            .flatten()
    }

    fn is_list_like(&self, node: Node<'_>, src: &str) -> bool {
        let k = &self.k;
        const LISTS: &[&str] = &[
            "List",
            "ArrayList",
            "LinkedList",
            "Vector",
            "CopyOnWriteArrayList",
            "ImmutableList",
        ];
        let base = |t: &str| {
            let t = t.split('<').next().unwrap_or(t).trim();
            t.rsplit('.').next().unwrap_or(t).to_string()
        };
        // `List<String> names = load();`
        if let Some(decl) = node
            .parent()
            .filter(|p| p.kind_id() == k.variable_declarator)
            && decl.child_by_field_id(k.f.value) == Some(node)
            && let Some(ty) = decl.parent().and_then(|d| d.child_by_field_id(k.f.r#type))
            && LISTS.contains(&base(text(ty, src)).as_str())
        {
            return true;
        }
        if node.kind_id() == k.object_creation_expression {
            return node
                .child_by_field_id(k.f.r#type)
                .is_some_and(|t| LISTS[1..].contains(&base(text(t, src)).as_str()));
        }
        if node.kind_id() != k.method_invocation {
            return false;
        }
        let Some(call) = self.call(node, src) else {
            return false;
        };
        match call.callee.as_str() {
            "Arrays.asList"
            | "List.of"
            | "List.copyOf"
            | "Collections.emptyList"
            | "Collections.singletonList"
            | "Collections.unmodifiableList"
            | "Collections.nCopies"
            | "Lists.newArrayList"
            | "Lists.newLinkedList"
            | "ImmutableList.of"
            | "ImmutableList.copyOf" => true,
            _ => match call.name {
                "toList" => call.args.is_empty(),
                "collect" => call.args.first().is_some_and(|a| {
                    matches!(
                        squash(text(a.value, src)).as_str(),
                        "Collectors.toList()" | "toList()" | "Collectors.toUnmodifiableList()"
                    )
                }),
                _ => false,
            },
        }
    }

    fn metric_kinds(&self) -> super::MetricKinds {
        let k = &self.k;
        super::MetricKinds {
            cc: vec![
                k.if_statement,
                k.for_statement,
                k.enhanced_for_statement,
                k.while_statement,
                k.do_statement,
                k.catch_clause,
                k.ternary_expression,
                k.switch_label,
                k.binary_expression,
            ],
            nesting: vec![
                k.if_statement,
                k.for_statement,
                k.enhanced_for_statement,
                k.while_statement,
                k.do_statement,
                k.switch_expression,
                k.try_statement,
                k.try_with_resources_statement,
            ],
            callable: vec![k.lambda_expression],
            cog: vec![
                k.if_statement,
                k.for_statement,
                k.enhanced_for_statement,
                k.while_statement,
                k.do_statement,
                k.switch_expression,
                k.catch_clause,
                k.ternary_expression,
                k.lambda_expression,
                k.method_declaration,
                k.constructor_declaration,
                k.break_statement,
                k.continue_statement,
                k.block,
            ],
            logical: vec![k.binary_expression],
            paren: vec![k.parenthesized_expression],
        }
    }

    fn is_callable_literal(&self, node: Node<'_>) -> bool {
        node.kind_id() == self.k.lambda_expression
    }

    fn cc_start(&self, func: Node<'_>) -> usize {
        // lizard starts counting at the body: nothing in the signature counts.
        func.child_by_field_id(self.k.f.body)
            .map_or(func.start_byte(), |b| b.start_byte())
    }

    fn cc_increment(&self, n: Node<'_>, _parent: Option<Node<'_>>, _src: &str) -> CcStep {
        let k = &self.k;
        let id = n.kind_id();
        if id == k.if_statement
            || id == k.for_statement
            || id == k.enhanced_for_statement
            || id == k.while_statement
            || id == k.do_statement
            || id == k.catch_clause
            || id == k.ternary_expression
        {
            return CcStep::add(1);
        }
        if id == k.switch_label {
            return CcStep::add(u32::from(n.child(0).is_some_and(|c| c.kind_id() == k.case)));
        }
        if id == k.binary_expression {
            let op = n.child_by_field_id(k.f.operator).map(|o| o.kind_id());
            return CcStep::add(u32::from(op == Some(k.and) || op == Some(k.or)));
        }
        CcStep::NONE
    }

    fn is_nesting_block(&self, n: Node<'_>, parent: Option<Node<'_>>) -> bool {
        let k = &self.k;
        let id = n.kind_id();
        (id == k.if_statement && parent.is_none_or(|p| p.kind_id() != k.if_statement))
            || id == k.for_statement
            || id == k.enhanced_for_statement
            || id == k.while_statement
            || id == k.do_statement
            || id == k.switch_expression
            || id == k.try_statement
            || id == k.try_with_resources_statement
    }

    fn sonar(&self) -> Option<&dyn SonarLanguage> {
        Some(self)
    }
}

impl SonarLanguage for Java {
    fn cog_kind(&self, node: Node<'_>, parent: Node<'_>, field: Option<u16>) -> CogKind {
        let k = &self.k;
        let id = node.kind_id();
        let in_else = parent.kind_id() == k.if_statement && field == Some(k.f.alternative);
        if id == k.if_statement {
            return if in_else {
                CogKind::ElseIf
            } else {
                CogKind::Structure
            };
        }
        if in_else {
            return CogKind::Else;
        }
        if id == k.for_statement
            || id == k.enhanced_for_statement
            || id == k.while_statement
            || id == k.do_statement
            || id == k.switch_expression
            || id == k.catch_clause
            || id == k.ternary_expression
        {
            return CogKind::Structure;
        }
        if id == k.lambda_expression || self.is_frame(id) {
            return CogKind::Nest;
        }
        if (id == k.break_statement || id == k.continue_statement) && node.named_child_count() > 0 {
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
