//! Rules: one per file under `security/`, `performance/` and `maintainability/`, each a
//! [`Rule`] with its [`RuleMeta`] (id, severity, docs). `registry.rs` lists them all; the
//! walker calls the hooks a rule implements for the syntax it subscribes to.

pub(crate) mod cx;
mod helpers;
mod maintainability;
mod performance;
pub(crate) mod registry;
mod security;

use qa_core::{Language, RuleFamily, Severity};
use tree_sitter::Node;

pub(crate) use cx::Cx;

use crate::lang::{Assign, Call, Dialect};
use crate::model::FunctionInfo;

/// Everything a user or a report needs to know about a rule.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable id (`SEC001`); never reused for another rule.
    pub id: &'static str,
    /// Kebab-case name describing the bad pattern (`subprocess-shell-true`).
    pub name: &'static str,
    pub family: RuleFamily,
    pub severity: Severity,
    pub languages: &'static [Language],
    /// One line, shown next to findings.
    pub title: &'static str,
    /// Markdown with `## What it does`, `## Why is this bad?`, `## How to fix` and
    /// `## Example` sections: `qa-agent rules explain` and SARIF `help` print it.
    pub docs: &'static str,
    /// Whether test code is checked too. Security rules about secrets and the like are
    /// noise in tests, where fake credentials and `verify=False` are normal.
    pub applies_to_tests: bool,
}

impl RuleMeta {
    pub fn applies_to(&self, language: Language) -> bool {
        self.languages.contains(&language)
    }
}

/// All languages, for rules that are not language-specific.
pub(crate) const ALL_LANGUAGES: &[Language] = &Language::ALL;

/// A rule's checks. Each hook is called only if the rule subscribed to it in [`Hooks`].
pub(crate) trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;

    fn hooks(&self) -> Hooks;

    /// Node kinds (ids in `dialect`'s grammar) for which [`Rule::on_node`] is called.
    fn kinds(&self, _dialect: Dialect) -> Vec<u16> {
        Vec::new()
    }

    fn on_call(&self, _call: &Call<'_>, _cx: &mut Cx<'_, '_>) {}
    fn on_assign(&self, _assign: &Assign<'_>, _cx: &mut Cx<'_, '_>) {}
    fn on_node(&self, _node: Node<'_>, _cx: &mut Cx<'_, '_>) {}
    fn on_comment(&self, _node: Node<'_>, _text: &str, _cx: &mut Cx<'_, '_>) {}
    fn on_string(&self, _node: Node<'_>, _cx: &mut Cx<'_, '_>) {}
    /// After metrics are computed, for every function.
    fn on_function(&self, _f: &FunctionInfo, _node: Node<'_>, _cx: &mut Cx<'_, '_>) {}
    /// After metrics are computed, for every class.
    fn on_class(&self, _c: &crate::model::ClassInfo, _cx: &mut Cx<'_, '_>) {}
    /// Once per file, with its lines of code.
    fn on_file(&self, _nloc: u32, _cx: &mut Cx<'_, '_>) {}
}

/// Which hooks a rule wants.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hooks {
    pub call: bool,
    pub assign: bool,
    pub node: bool,
    pub comment: bool,
    pub string: bool,
    pub function: bool,
    pub class: bool,
    pub file: bool,
}

impl Hooks {
    pub const CALL: Hooks = Hooks {
        call: true,
        ..Hooks::NONE
    };
    pub const ASSIGN: Hooks = Hooks {
        assign: true,
        ..Hooks::NONE
    };
    pub const NODE: Hooks = Hooks {
        node: true,
        ..Hooks::NONE
    };
    pub const COMMENT: Hooks = Hooks {
        comment: true,
        ..Hooks::NONE
    };
    pub const STRING: Hooks = Hooks {
        string: true,
        ..Hooks::NONE
    };
    pub const FUNCTION: Hooks = Hooks {
        function: true,
        ..Hooks::NONE
    };
    pub const CLASS: Hooks = Hooks {
        class: true,
        ..Hooks::NONE
    };
    pub const FILE: Hooks = Hooks {
        file: true,
        ..Hooks::NONE
    };
    pub const NONE: Hooks = Hooks {
        call: false,
        assign: false,
        node: false,
        comment: false,
        string: false,
        function: false,
        class: false,
        file: false,
    };

    pub const fn and(self, other: Hooks) -> Hooks {
        Hooks {
            call: self.call || other.call,
            assign: self.assign || other.assign,
            node: self.node || other.node,
            comment: self.comment || other.comment,
            string: self.string || other.string,
            function: self.function || other.function,
            class: self.class || other.class,
            file: self.file || other.file,
        }
    }
}

/// Declares a rule's metadata as a `static META` next to its check.
///
/// The docs are the rule file's own documentation; keeping them in the same file as the
/// check is what keeps them from drifting.
macro_rules! declare_rule {
    (
        id: $id:literal,
        name: $name:literal,
        family: $family:ident,
        severity: $sev:ident,
        languages: $langs:expr,
        title: $title:literal,
        applies_to_tests: $tests:literal,
        docs: $docs:literal $(,)?
    ) => {
        pub(crate) static META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            id: $id,
            name: $name,
            family: qa_core::RuleFamily::$family,
            severity: qa_core::Severity::$sev,
            languages: $langs,
            title: $title,
            docs: $docs,
            applies_to_tests: $tests,
        };
    };
}
pub(crate) use declare_rule;
