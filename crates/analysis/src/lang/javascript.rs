//! JavaScript, TypeScript and TSX (one module, three grammars). Cyclomatic complexity
//! follows lizard's counting (documented in `docs/metrics.md`), cognitive complexity
//! SonarSource's.

use std::sync::OnceLock;

use tree_sitter::Node;

use super::{
    Arg, Assign, Call, CcStep, DeclKind, FunctionDecl, LanguageSpec, Role, ValueKind, kind_table,
    text,
};
use crate::lang::kinds::ABSENT;
use crate::lang::syntax::{build_roles, callee_text, children, named_children, squash};
use crate::metrics::cognitive::{CogKind, SonarLanguage};

kind_table! {
    pub(crate) struct Kinds;
    named {
        program, comment, identifier, property_identifier, shorthand_property_identifier,
        private_property_identifier, function_declaration, generator_function_declaration,
        function_expression, generator_function, arrow_function, method_definition,
        class_declaration, class, class_body, formal_parameters, assignment_pattern,
        object_assignment_pattern, if_statement, else_clause, for_statement, for_in_statement,
        while_statement, do_statement, switch_statement, switch_case, switch_default,
        try_statement, catch_clause, ternary_expression, binary_expression,
        augmented_assignment_expression, assignment_expression, unary_expression,
        parenthesized_expression, call_expression, new_expression, member_expression,
        subscript_expression, arguments, variable_declarator, pair, object, string,
        template_string, template_substitution, string_fragment, escape_sequence, number,
        import_statement, labeled_statement, break_statement, continue_statement,
        statement_block, computed_property_name, spread_element, import, await_expression
    }
    renamed { kw_true = "true", kw_false = "false", kw_null = "null", kw_undefined = "undefined" }
    optional {
        field_definition, public_field_definition, required_parameter, optional_parameter,
        type_identifier, abstract_class_declaration, accessibility_modifier,
        as_expression, non_null_expression, satisfies_expression
    }
    tokens {
        and = "&&", or = "||", nullish = "??", and_assign = "&&=", or_assign = "||=",
        nullish_assign = "??=", plus = "+", async_kw = "async"
    }
    fields {
        name, body, parameters, parameter, value, left, right, operator, condition,
        consequence, alternative, function, arguments, object, property, constructor, key,
        source, label, handler
    }
}

pub(crate) struct Js {
    pub(crate) k: Kinds,
    roles: Vec<Role>,
}

fn load(lang: tree_sitter::Language) -> Js {
    let k = Kinds::load(&lang);
    let roles = build_roles(&lang, |id| match id {
        _ if k.is_function(id) => Role::Function,
        _ if id == k.class_declaration || id == k.class || id == k.abstract_class_declaration => {
            Role::Class
        }
        _ if id == k.call_expression || id == k.new_expression => Role::Call,
        _ if id == k.variable_declarator
            || id == k.assignment_expression
            || id == k.augmented_assignment_expression
            || id == k.pair
            || id == k.field_definition
            || id == k.public_field_definition =>
        {
            Role::Assign
        }
        _ if id == k.import_statement => Role::Import,
        _ if id == k.comment => Role::Comment,
        _ if id == k.for_statement
            || id == k.for_in_statement
            || id == k.while_statement
            || id == k.do_statement =>
        {
            Role::Loop
        }
        _ if id == k.string || id == k.template_string => Role::String,
        _ if id == k.identifier || id == k.property_identifier => Role::Identifier,
        _ => Role::Other,
    });
    Js { k, roles }
}

pub(crate) fn spec_js() -> &'static Js {
    static S: OnceLock<Js> = OnceLock::new();
    S.get_or_init(|| load(tree_sitter_javascript::LANGUAGE.into()))
}

pub(crate) fn spec_ts() -> &'static Js {
    static S: OnceLock<Js> = OnceLock::new();
    S.get_or_init(|| load(tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into()))
}

pub(crate) fn spec_tsx() -> &'static Js {
    static S: OnceLock<Js> = OnceLock::new();
    S.get_or_init(|| load(tree_sitter_typescript::LANGUAGE_TSX.into()))
}

impl Kinds {
    fn is_function(&self, id: u16) -> bool {
        id == self.function_declaration
            || id == self.generator_function_declaration
            || id == self.function_expression
            || id == self.generator_function
            || id == self.arrow_function
            || id == self.method_definition
    }
}

impl Js {
    /// The name a function expression or arrow takes from where it is defined:
    /// `const f = () => {}`, `{ f: function () {} }`, `a.b = () => {}`, `f = () => {}`
    /// in a class body.
    ///
    /// `ancestors` are the node's ancestors, outermost first, when the caller knows them
    /// (the walker does): reading them is free, while `Node::parent` walks down from the
    /// root.
    fn context_name<'t>(
        &self,
        node: Node<'t>,
        src: &str,
        ancestors: &[Node<'t>],
    ) -> Option<String> {
        let k = &self.k;
        let mut up = ancestors.len();
        let mut parent_of = |n: Node<'t>| -> Option<Node<'t>> {
            if up > 0 {
                up -= 1;
                Some(ancestors[up])
            } else {
                n.parent()
            }
        };
        let mut parent = parent_of(node)?;
        // `const f = (() => {})` and TS `const f = (() => {}) as X` keep the name.
        while parent.kind_id() == k.parenthesized_expression
            || parent.kind_id() == k.as_expression
            || parent.kind_id() == k.satisfies_expression
            || parent.kind_id() == k.non_null_expression
        {
            parent = parent_of(parent)?;
        }
        let pid = parent.kind_id();
        let name_node = if pid == k.variable_declarator {
            parent.child_by_field_id(k.f.name)
        } else if pid == k.pair {
            parent.child_by_field_id(k.f.key)
        } else if pid == k.assignment_expression {
            parent.child_by_field_id(k.f.left)
        } else if pid == k.field_definition {
            parent.child_by_field_id(k.f.property)
        } else if pid == k.public_field_definition {
            parent.child_by_field_id(k.f.name)
        } else {
            None
        }?;
        // Only plain names: `{ [key]: fn }` and destructuring stay anonymous.
        let t = squash(text(name_node, src));
        let t = t.trim_matches(|c| c == '\'' || c == '"');
        (!t.is_empty() && !t.contains(['{', '[', '('])).then(|| t.to_string())
    }

    fn is_private(&self, node: Node<'_>, name: &str, src: &str) -> bool {
        if name.starts_with('#') || name.starts_with('_') {
            return true;
        }
        children(node)
            .iter()
            .any(|c| c.kind_id() == self.k.accessibility_modifier && text(*c, src) != "public")
    }
}

impl LanguageSpec for Js {
    fn roles(&self) -> &[Role] {
        &self.roles
    }

    fn function(&self, node: Node<'_>, src: &str) -> Option<FunctionDecl> {
        self.function_in(node, &[], src)
    }

    fn function_in(
        &self,
        node: Node<'_>,
        ancestors: &[Node<'_>],
        src: &str,
    ) -> Option<FunctionDecl> {
        let k = &self.k;
        let id = node.kind_id();
        // Overload signatures and abstract methods have no body: not functions.
        node.child_by_field_id(k.f.body)?;
        let own_name = node.child_by_field_id(k.f.name);
        let (name, kind, start_row) = if let Some(n) = own_name {
            let t = squash(text(n, src));
            let t = t.trim_matches(|c| c == '\'' || c == '"' || c == '[' || c == ']');
            let kind = if id == k.method_definition && t == "constructor" {
                DeclKind::Constructor
            } else {
                DeclKind::Named
            };
            (t.to_string(), kind, n.start_position().row)
        } else if let Some(n) = self.context_name(node, src, ancestors) {
            (n, DeclKind::Named, node.start_position().row)
        } else {
            (
                "<anonymous>".to_string(),
                DeclKind::Anonymous,
                node.start_position().row,
            )
        };
        let mut params = Vec::new();
        if let Some(p) = node.child_by_field_id(k.f.parameters) {
            for c in named_children(p) {
                let pattern =
                    if c.kind_id() == k.required_parameter || c.kind_id() == k.optional_parameter {
                        c.named_children(&mut c.walk())
                            .find(|n| n.kind_id() != k.accessibility_modifier)
                            .unwrap_or(c)
                    } else if c.kind_id() == k.assignment_pattern {
                        c.child_by_field_id(k.f.left).unwrap_or(c)
                    } else {
                        c
                    };
                params.push(squash(text(pattern, src)));
            }
        } else if let Some(p) = node.child_by_field_id(k.f.parameter) {
            params.push(text(p, src).to_string());
        }
        let is_async = children(node)
            .iter()
            .take(3)
            .any(|c| c.kind_id() == k.async_kw);
        Some(FunctionDecl {
            is_public: !self.is_private(node, &name, src),
            name,
            start_row,
            params,
            kind,
            is_async,
            is_test_marked: false,
            owner: None,
        })
    }

    fn class_name(&self, node: Node<'_>, src: &str) -> Option<String> {
        match node.child_by_field_id(self.k.f.name) {
            Some(n) => Some(text(n, src).to_string()),
            None => self.context_name(node, src, &[]),
        }
    }

    fn imports(&self, node: Node<'_>, src: &str, out: &mut Vec<String>) {
        if let Some(s) = node.child_by_field_id(self.k.f.source)
            && let ValueKind::StaticString(v) = self.value_kind(s, src)
        {
            out.push(v);
        }
    }

    fn import_from_call(&self, call: &Call<'_>, src: &str) -> Option<String> {
        if call.callee != "require" && call.callee != "import" {
            return None;
        }
        match self.value_kind(call.positional(0)?, src) {
            ValueKind::StaticString(v) => Some(v),
            _ => None,
        }
    }

    fn call<'t>(&self, node: Node<'t>, src: &'t str) -> Option<Call<'t>> {
        let k = &self.k;
        let is_new = node.kind_id() == k.new_expression;
        let func = if is_new {
            node.child_by_field_id(k.f.constructor)?
        } else {
            node.child_by_field_id(k.f.function)?
        };
        let name_node = if func.kind_id() == k.member_expression {
            func.child_by_field_id(k.f.property)?
        } else {
            func
        };
        let mut args = Vec::new();
        if let Some(list) = node.child_by_field_id(k.f.arguments) {
            if list.kind_id() == k.arguments {
                for a in named_children(list) {
                    args.push(Arg {
                        keyword: None,
                        value: a,
                    });
                }
            } else {
                // Tagged template: tag`...`.
                args.push(Arg {
                    keyword: None,
                    value: list,
                });
            }
        }
        let callee = callee_text(text(func, src)).replace("?.", ".");
        Some(Call {
            node,
            callee: if is_new {
                format!("new {callee}")
            } else {
                callee
            },
            name: text(name_node, src),
            args,
        })
    }

    fn assignment<'t>(&self, node: Node<'t>, src: &'t str) -> Option<Assign<'t>> {
        let k = &self.k;
        let id = node.kind_id();
        let (target, value) = if id == k.variable_declarator {
            (
                node.child_by_field_id(k.f.name)?,
                node.child_by_field_id(k.f.value),
            )
        } else if id == k.pair {
            (
                node.child_by_field_id(k.f.key)?,
                node.child_by_field_id(k.f.value),
            )
        } else if id == k.field_definition {
            (
                node.child_by_field_id(k.f.property)?,
                node.child_by_field_id(k.f.value),
            )
        } else if id == k.public_field_definition {
            (
                node.child_by_field_id(k.f.name)?,
                node.child_by_field_id(k.f.value),
            )
        } else {
            (
                node.child_by_field_id(k.f.left)?,
                node.child_by_field_id(k.f.right),
            )
        };
        let operator = (id == k.augmented_assignment_expression)
            .then(|| node.child_by_field_id(k.f.operator).map(|o| text(o, src)))
            .flatten();
        let target_name = if target.kind_id() == k.member_expression {
            target
                .child_by_field_id(k.f.property)
                .map_or("", |p| text(p, src))
        } else {
            text(target, src).trim_matches(|c| c == '\'' || c == '"')
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
        let mut node = node;
        while node.kind_id() == k.parenthesized_expression {
            match node.named_child(0) {
                Some(n) => node = n,
                None => break,
            }
        }
        let id = node.kind_id();
        if id == k.string || id == k.template_string {
            let mut v = String::new();
            for c in named_children(node) {
                if c.kind_id() == k.template_substitution {
                    return ValueKind::DynamicString;
                }
                v.push_str(text(c, src));
            }
            return ValueKind::StaticString(v);
        }
        if id == k.number
            || id == k.kw_true
            || id == k.kw_false
            || id == k.kw_null
            || id == k.kw_undefined
        {
            return ValueKind::OtherLiteral;
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
        ValueKind::Other
    }

    fn loop_iterable<'t>(&self, node: Node<'t>) -> Option<Node<'t>> {
        (node.kind_id() == self.k.for_in_statement)
            .then(|| node.child_by_field_id(self.k.f.right))
            .flatten()
    }

    fn loop_target<'t>(&self, node: Node<'t>) -> Option<Node<'t>> {
        (node.kind_id() == self.k.for_in_statement)
            .then(|| node.child_by_field_id(self.k.f.left))
            .flatten()
            .filter(|t| t.kind_id() == self.k.identifier)
    }

    fn is_literal_collection(&self, node: Node<'_>, src: &str) -> bool {
        // `array` is outside this module's kind table: compared by name, for loops only.
        node.kind() == "array"
            && node.named_child_count() > 0
            && crate::lang::named_children(node)
                .into_iter()
                .filter(|c| c.kind_id() != self.k.comment)
                .all(|c| self.value_kind(c, src).is_literal())
    }

    fn is_list_typed(&self, declarator: Node<'_>, src: &str) -> bool {
        // `const names: string[] = load()` (TypeScript).
        if declarator.kind_id() != self.k.variable_declarator {
            return false;
        }
        let Some(ty) = declarator.child_by_field_name("type") else {
            return false;
        };
        let t = squash(text(ty, src));
        let t = t.trim_start_matches(':');
        t.ends_with("[]") || t.starts_with("Array<") || t.starts_with("ReadonlyArray<")
    }

    fn is_list_like(&self, node: Node<'_>, src: &str) -> bool {
        let k = &self.k;
        let mut node = node;
        while node.kind_id() == k.parenthesized_expression
            || node.kind_id() == k.as_expression
            || node.kind_id() == k.satisfies_expression
        {
            match node.named_child(0) {
                Some(n) => node = n,
                None => break,
            }
        }
        // Kinds outside this module's table, by name.
        if node.kind() == "array" {
            return true;
        }
        let id = node.kind_id();
        if id == k.new_expression {
            return node
                .child_by_field_id(k.f.constructor)
                .is_some_and(|c| text(c, src) == "Array");
        }
        if id != k.call_expression {
            return false;
        }
        let Some(f) = node.child_by_field_id(k.f.function) else {
            return false;
        };
        if matches!(
            squash(text(f, src)).as_str(),
            "Array.from" | "Array.of" | "Object.keys" | "Object.values" | "Object.entries"
        ) {
            return true;
        }
        if f.kind_id() != k.member_expression {
            return false;
        }
        let method = f.child_by_field_id(k.f.property).map(|p| text(p, src));
        match method {
            Some("map" | "filter" | "flat" | "flatMap" | "split" | "toSorted" | "toReversed") => {
                true
            }
            // Strings have `slice` and `concat` too: only arrays derived from arrays.
            Some("slice" | "concat") => f
                .child_by_field_id(k.f.object)
                .is_some_and(|o| self.is_list_like(o, src)),
            _ => false,
        }
    }

    fn metric_kinds(&self) -> super::MetricKinds {
        let k = &self.k;
        super::MetricKinds {
            cc: vec![
                k.if_statement,
                k.for_statement,
                k.for_in_statement,
                k.while_statement,
                k.do_statement,
                k.switch_case,
                k.catch_clause,
                k.ternary_expression,
                k.assignment_pattern,
                k.object_assignment_pattern,
                k.binary_expression,
                k.augmented_assignment_expression,
                k.required_parameter,
                k.optional_parameter,
                k.call_expression,
            ],
            nesting: vec![
                k.if_statement,
                k.for_statement,
                k.for_in_statement,
                k.while_statement,
                k.do_statement,
                k.switch_statement,
                k.try_statement,
            ],
            callable: vec![
                k.arrow_function,
                k.function_expression,
                k.generator_function,
            ],
            cog: vec![
                k.if_statement,
                k.else_clause,
                k.ternary_expression,
                k.switch_statement,
                k.for_statement,
                k.for_in_statement,
                k.while_statement,
                k.do_statement,
                k.catch_clause,
                k.function_declaration,
                k.generator_function_declaration,
                k.function_expression,
                k.generator_function,
                k.arrow_function,
                k.method_definition,
                k.break_statement,
                k.continue_statement,
            ],
            logical: vec![k.binary_expression],
            paren: vec![k.parenthesized_expression],
        }
    }

    fn is_callable_literal(&self, node: Node<'_>) -> bool {
        let id = node.kind_id();
        id == self.k.arrow_function
            || id == self.k.function_expression
            || id == self.k.generator_function
    }

    fn cc_increment(&self, n: Node<'_>, _parent: Option<Node<'_>>, src: &str) -> CcStep {
        CcStep::add(u32::from(self.is_decision(n, src)))
    }

    fn is_nesting_block(&self, n: Node<'_>, parent: Option<Node<'_>>) -> bool {
        let k = &self.k;
        let id = n.kind_id();
        (id == k.if_statement && parent.is_none_or(|p| p.kind_id() != k.else_clause))
            || id == k.for_statement
            || id == k.for_in_statement
            || id == k.while_statement
            || id == k.do_statement
            || id == k.switch_statement
            || id == k.try_statement
    }

    fn sonar(&self) -> Option<&dyn SonarLanguage> {
        Some(self)
    }
}

impl Js {
    /// One decision point for lizard-compatible cyclomatic complexity.
    fn is_decision(&self, n: Node<'_>, src: &str) -> bool {
        let k = &self.k;
        let id = n.kind_id();
        if id == k.if_statement
            || id == k.for_statement
            || id == k.for_in_statement
            || id == k.while_statement
            || id == k.do_statement
            || id == k.switch_case
            || id == k.catch_clause
            || id == k.ternary_expression
            // Default values are implicit `if (x === undefined)` branches.
            || id == k.assignment_pattern
            || id == k.object_assignment_pattern
        {
            return true;
        }
        if id == k.binary_expression {
            let op = n.child_by_field_id(k.f.operator).map(|o| o.kind_id());
            return op == Some(k.and) || op == Some(k.or) || op == Some(k.nullish);
        }
        if id == k.augmented_assignment_expression {
            let op = n.child_by_field_id(k.f.operator).map(|o| o.kind_id());
            return op == Some(k.and_assign)
                || op == Some(k.or_assign)
                || op == Some(k.nullish_assign);
        }
        if (id == k.required_parameter || id == k.optional_parameter)
            && k.required_parameter != ABSENT
        {
            return n.child_by_field_id(k.f.value).is_some();
        }
        // `promise.catch(handler)` is a catch clause in callback form.
        if id == k.call_expression
            && let Some(f) = n.child_by_field_id(k.f.function)
            && f.kind_id() == k.member_expression
            && let Some(p) = f.child_by_field_id(k.f.property)
        {
            return text(p, src) == "catch";
        }
        false
    }
}

impl SonarLanguage for Js {
    fn cog_kind(&self, node: Node<'_>, parent: Node<'_>, _field: Option<u16>) -> CogKind {
        let k = &self.k;
        let id = node.kind_id();
        if id == k.if_statement {
            return if parent.kind_id() == k.else_clause {
                CogKind::ElseIf
            } else {
                CogKind::Structure
            };
        }
        if id == k.else_clause {
            let is_else_if = node
                .named_child(0)
                .is_some_and(|c| c.kind_id() == k.if_statement);
            return if is_else_if {
                CogKind::Other
            } else {
                CogKind::Else
            };
        }
        if id == k.ternary_expression
            || id == k.switch_statement
            || id == k.for_statement
            || id == k.for_in_statement
            || id == k.while_statement
            || id == k.do_statement
            || id == k.catch_clause
        {
            return CogKind::Structure;
        }
        if k.is_function(id) {
            return CogKind::Nest;
        }
        if (id == k.break_statement || id == k.continue_statement)
            && node.child_by_field_id(k.f.label).is_some()
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
        (op == k.and || op == k.or || op == k.nullish).then_some(op)
    }

    fn is_parenthesized(&self, node: Node<'_>) -> bool {
        node.kind_id() == self.k.parenthesized_expression
    }

    fn is_condition_field(&self, field: u16) -> bool {
        field == self.k.f.condition
    }
}
