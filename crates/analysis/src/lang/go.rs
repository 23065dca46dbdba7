//! Go. Cyclomatic complexity follows lizard's counting, cognitive complexity SonarSource's.

use std::sync::OnceLock;

use tree_sitter::Node;

use super::{
    Arg, Assign, Call, CcStep, DeclKind, FunctionDecl, LanguageSpec, Role, ValueKind, kind_table,
    text,
};
use crate::lang::syntax::{build_roles, callee_text, named_children, squash};
use crate::metrics::cognitive::{CogKind, SonarLanguage};

kind_table! {
    pub(crate) struct Kinds;
    named {
        source_file, comment, identifier, field_identifier, type_identifier,
        function_declaration, method_declaration, func_literal, parameter_list,
        parameter_declaration, variadic_parameter_declaration, block, if_statement,
        for_statement, range_clause, expression_switch_statement, type_switch_statement,
        select_statement, expression_case, type_case, communication_case, binary_expression,
        parenthesized_expression, call_expression, selector_expression, argument_list,
        short_var_declaration, assignment_statement, var_spec, const_spec, keyed_element,
        expression_list, interpreted_string_literal, interpreted_string_literal_content,
        raw_string_literal, raw_string_literal_content, escape_sequence, int_literal,
        float_literal, nil, import_spec, break_statement, continue_statement, goto_statement,
        labeled_statement, pointer_type, generic_type, literal_element
    }
    renamed { kw_true = "true", kw_false = "false" }
    tokens { and = "&&", or = "||", plus = "+" }
    fields {
        name, body, parameters, receiver, result, condition, consequence, alternative, function,
        arguments, operand, field, left, right, operator, value, path, label, r#type
    }
}

pub(crate) struct Go {
    pub(crate) k: Kinds,
    roles: Vec<Role>,
}

pub(crate) fn spec() -> &'static Go {
    static S: OnceLock<Go> = OnceLock::new();
    S.get_or_init(|| {
        let lang: tree_sitter::Language = tree_sitter_go::LANGUAGE.into();
        let k = Kinds::load(&lang);
        let roles = build_roles(&lang, |id| match id {
            _ if k.is_function(id) => Role::Function,
            _ if id == k.call_expression => Role::Call,
            _ if id == k.short_var_declaration
                || id == k.assignment_statement
                || id == k.var_spec
                || id == k.const_spec
                || id == k.keyed_element =>
            {
                Role::Assign
            }
            _ if id == k.import_spec => Role::Import,
            _ if id == k.comment => Role::Comment,
            _ if id == k.for_statement => Role::Loop,
            _ if id == k.interpreted_string_literal || id == k.raw_string_literal => Role::String,
            _ if id == k.identifier || id == k.field_identifier => Role::Identifier,
            _ => Role::Other,
        });
        Go { k, roles }
    })
}

impl Kinds {
    fn is_function(&self, id: u16) -> bool {
        id == self.function_declaration || id == self.method_declaration || id == self.func_literal
    }
}

impl Go {
    /// `T` for receivers `t T`, `t *T`, `t *T[K]`.
    fn receiver_type(&self, receiver: Node<'_>, src: &str) -> Option<String> {
        let decl = named_children(receiver)
            .into_iter()
            .find(|n| n.kind_id() == self.k.parameter_declaration)?;
        let mut ty = decl.child_by_field_id(self.k.f.r#type)?;
        loop {
            let id = ty.kind_id();
            if id == self.k.pointer_type {
                ty = ty.named_child(0)?;
            } else if id == self.k.generic_type {
                ty = ty.child_by_field_id(self.k.f.r#type)?;
            } else {
                break;
            }
        }
        Some(text(ty, src).to_string())
    }

    fn first_of_list<'t>(&self, n: Option<Node<'t>>) -> Option<Node<'t>> {
        let n = n?;
        if n.kind_id() == self.k.expression_list {
            n.named_child(0)
        } else {
            Some(n)
        }
    }
}

impl LanguageSpec for Go {
    fn roles(&self) -> &[Role] {
        &self.roles
    }

    fn function(&self, node: Node<'_>, src: &str) -> Option<FunctionDecl> {
        let k = &self.k;
        // Declarations without a body (assembly stubs) are not functions here.
        node.child_by_field_id(k.f.body)?;
        let (name, kind) = match node.child_by_field_id(k.f.name) {
            Some(n) => (text(n, src).to_string(), DeclKind::Named),
            None => ("<anonymous>".to_string(), DeclKind::Anonymous),
        };
        let owner = node
            .child_by_field_id(k.f.receiver)
            .and_then(|r| self.receiver_type(r, src));
        let mut params = Vec::new();
        if let Some(p) = node.child_by_field_id(k.f.parameters) {
            for decl in named_children(p) {
                let mut cursor = decl.walk();
                for n in decl.children_by_field_id(
                    std::num::NonZeroU16::new(k.f.name).expect("field ids are non-zero"),
                    &mut cursor,
                ) {
                    params.push(text(n, src).to_string());
                }
            }
        }
        Some(FunctionDecl {
            is_public: name.starts_with(char::is_uppercase),
            name,
            start_row: node.start_position().row,
            params,
            kind,
            is_async: false,
            is_test_marked: false,
            owner,
        })
    }

    fn class_name(&self, _node: Node<'_>, _src: &str) -> Option<String> {
        None
    }

    fn imports(&self, node: Node<'_>, src: &str, out: &mut Vec<String>) {
        if let Some(p) = node.child_by_field_id(self.k.f.path)
            && let ValueKind::StaticString(v) = self.value_kind(p, src)
        {
            out.push(v);
        }
    }

    fn call<'t>(&self, node: Node<'t>, src: &'t str) -> Option<Call<'t>> {
        let k = &self.k;
        let func = node.child_by_field_id(k.f.function)?;
        let name_node = if func.kind_id() == k.selector_expression {
            func.child_by_field_id(k.f.field)?
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
        let (target, value, operator) = if id == k.keyed_element {
            let kids = named_children(node);
            let unwrap = |n: Option<&Node<'t>>| {
                n.map(|n| {
                    if n.kind_id() == k.literal_element {
                        n.named_child(0).unwrap_or(*n)
                    } else {
                        *n
                    }
                })
            };
            (unwrap(kids.first())?, unwrap(kids.get(1)), None)
        } else if id == k.var_spec || id == k.const_spec {
            (
                node.child_by_field_id(k.f.name)?,
                self.first_of_list(node.child_by_field_id(k.f.value)),
                None,
            )
        } else {
            let op = (id == k.assignment_statement)
                .then(|| node.child_by_field_id(k.f.operator).map(|o| text(o, src)))
                .flatten()
                .filter(|o| *o != "=");
            (
                self.first_of_list(node.child_by_field_id(k.f.left))?,
                self.first_of_list(node.child_by_field_id(k.f.right)),
                op,
            )
        };
        let target_name = if target.kind_id() == k.selector_expression {
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
        if id == k.interpreted_string_literal || id == k.raw_string_literal {
            let v: String = named_children(node).iter().map(|c| text(*c, src)).collect();
            return ValueKind::StaticString(v);
        }
        if id == k.int_literal
            || id == k.float_literal
            || id == k.nil
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
        if id == k.call_expression
            && let Some(f) = node.child_by_field_id(k.f.function)
            && matches!(text(f, src), "fmt.Sprintf" | "strings.Join" | "fmt.Sprint")
        {
            return ValueKind::DynamicString;
        }
        ValueKind::Other
    }

    fn loop_iterable<'t>(&self, node: Node<'t>) -> Option<Node<'t>> {
        named_children(node)
            .into_iter()
            .find(|n| n.kind_id() == self.k.range_clause)
            .and_then(|r| r.child_by_field_id(self.k.f.right))
    }

    fn is_list_like(&self, node: Node<'_>, src: &str) -> bool {
        let k = &self.k;
        // Kinds outside this module's table, by name.
        let is_slice_type = |n: Node<'_>| n.kind() == "slice_type";
        // `var names []string = load()`
        if let Some(spec) = node
            .parent()
            .filter(|p| p.kind_id() == k.expression_list)
            .and_then(|l| l.parent())
            .filter(|s| s.kind_id() == k.var_spec)
            && spec
                .child_by_field_id(k.f.r#type)
                .is_some_and(is_slice_type)
        {
            return true;
        }
        if node.kind() == "composite_literal" {
            return node
                .child_by_field_id(k.f.r#type)
                .is_some_and(is_slice_type);
        }
        if node.kind_id() != k.call_expression {
            return false;
        }
        let Some(f) = node.child_by_field_id(k.f.function) else {
            return false;
        };
        match squash(text(f, src)).as_str() {
            "append" | "strings.Split" | "strings.SplitN" | "strings.SplitAfter"
            | "strings.Fields" => true,
            "make" => node
                .child_by_field_id(k.f.arguments)
                .and_then(|a| a.named_child(0))
                .is_some_and(is_slice_type),
            _ => false,
        }
    }

    fn metric_kinds(&self) -> super::MetricKinds {
        let k = &self.k;
        super::MetricKinds {
            cc: vec![
                k.if_statement,
                k.for_statement,
                k.expression_case,
                k.type_case,
                k.communication_case,
                k.binary_expression,
            ],
            nesting: vec![
                k.if_statement,
                k.for_statement,
                k.expression_switch_statement,
                k.type_switch_statement,
                k.select_statement,
            ],
            callable: vec![k.func_literal],
            cog: vec![
                k.if_statement,
                k.block,
                k.for_statement,
                k.expression_switch_statement,
                k.type_switch_statement,
                k.select_statement,
                k.func_literal,
                k.goto_statement,
                k.break_statement,
                k.continue_statement,
            ],
            logical: vec![k.binary_expression],
            paren: vec![k.parenthesized_expression],
        }
    }

    fn is_callable_literal(&self, node: Node<'_>) -> bool {
        node.kind_id() == self.k.func_literal
    }

    fn cc_increment(&self, n: Node<'_>, _parent: Option<Node<'_>>, _src: &str) -> CcStep {
        let k = &self.k;
        let id = n.kind_id();
        if id == k.if_statement
            || id == k.for_statement
            || id == k.expression_case
            || id == k.type_case
            || id == k.communication_case
        {
            return CcStep::add(1);
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
            || id == k.expression_switch_statement
            || id == k.type_switch_statement
            || id == k.select_statement
    }

    fn sonar(&self) -> Option<&dyn SonarLanguage> {
        Some(self)
    }
}

impl SonarLanguage for Go {
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
        if in_else && id == k.block {
            return CogKind::Else;
        }
        if id == k.for_statement
            || id == k.expression_switch_statement
            || id == k.type_switch_statement
            || id == k.select_statement
        {
            return CogKind::Structure;
        }
        if id == k.func_literal {
            return CogKind::Nest;
        }
        if id == k.goto_statement
            || (id == k.break_statement || id == k.continue_statement)
                && node.named_child_count() > 0
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
