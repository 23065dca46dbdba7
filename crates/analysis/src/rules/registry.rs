//! The one list of rules, and the per-dialect dispatch tables built from it.

use std::sync::OnceLock;

use qa_core::{RuleFamily, Severity};

use super::{Rule, RuleMeta};
use crate::config::RulesSection;
use crate::lang::Dialect;

/// Every rule, in id order. Adding a rule means adding its file and one line here.
fn all() -> &'static [&'static dyn Rule] {
    static ALL: OnceLock<Vec<&'static dyn Rule>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v: Vec<&'static dyn Rule> = Vec::new();
        v.extend_from_slice(super::security::RULES);
        v.extend_from_slice(super::performance::RULES);
        v.extend_from_slice(super::maintainability::RULES);
        v.sort_by_key(|r| r.meta().id);
        v
    })
}

/// Metadata of every rule, in id order.
pub fn rules() -> impl Iterator<Item = &'static RuleMeta> {
    all().iter().map(|r| r.meta())
}

/// Looks a rule up by id (case-insensitive) or by name.
pub fn rule(id_or_name: &str) -> Option<&'static RuleMeta> {
    rules().find(|m| m.id.eq_ignore_ascii_case(id_or_name) || m.name == id_or_name)
}

/// Which rules run, at which severity: the defaults adjusted by `qa-agent.toml`.
#[derive(Debug, Clone)]
pub struct RuleSelection {
    enabled: Vec<bool>,
    severity: Vec<Severity>,
}

impl Default for RuleSelection {
    fn default() -> Self {
        RuleSelection {
            enabled: vec![true; all().len()],
            severity: all().iter().map(|r| r.meta().severity).collect(),
        }
    }
}

impl RuleSelection {
    /// Applies `[rules]` from `qa-agent.toml`: `disable`/`enable` take rule ids, names or
    /// family names; `severity` overrides per rule. Unknown ids are errors.
    pub fn from_config(cfg: &RulesSection) -> Result<RuleSelection, String> {
        let mut sel = RuleSelection::default();
        let matches = |key: &str| -> Result<Vec<usize>, String> {
            if let Some(family) = RuleFamily::parse(key) {
                return Ok(all()
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.meta().family == family)
                    .map(|(i, _)| i)
                    .collect());
            }
            let idx = all()
                .iter()
                .position(|r| r.meta().id.eq_ignore_ascii_case(key) || r.meta().name == key)
                .ok_or_else(|| {
                    format!("unknown rule `{key}` (run `qa-agent rules` to list rule ids)")
                })?;
            Ok(vec![idx])
        };
        for key in &cfg.disable {
            for i in matches(key).map_err(|e| format!("rules.disable: {e}"))? {
                sel.enabled[i] = false;
            }
        }
        for key in &cfg.enable {
            for i in matches(key).map_err(|e| format!("rules.enable: {e}"))? {
                sel.enabled[i] = true;
            }
        }
        for (key, sev) in &cfg.severity {
            for i in matches(key).map_err(|e| format!("rules.severity: {e}"))? {
                sel.severity[i] = *sev;
            }
        }
        Ok(sel)
    }

    /// Only the given rules (by id), for tests and `--rule` filters.
    pub fn only(ids: &[&str]) -> RuleSelection {
        let mut sel = RuleSelection::default();
        for (i, r) in all().iter().enumerate() {
            sel.enabled[i] = ids.iter().any(|id| r.meta().id.eq_ignore_ascii_case(id));
        }
        sel
    }

    pub fn is_enabled(&self, meta: &RuleMeta) -> bool {
        self.index(meta).is_some_and(|i| self.enabled[i])
    }

    pub fn severity(&self, meta: &RuleMeta) -> Severity {
        self.index(meta).map_or(meta.severity, |i| self.severity[i])
    }

    fn index(&self, meta: &RuleMeta) -> Option<usize> {
        all().iter().position(|r| std::ptr::eq(r.meta(), meta))
    }

    /// A stable digest of the selection, part of the analysis cache key.
    pub(crate) fn digest(&self) -> String {
        self.enabled
            .iter()
            .zip(&self.severity)
            .map(|(e, s)| if *e { s.as_str() } else { "-" })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Rules grouped by the hook that calls them, for one dialect.
pub(crate) struct Dispatch {
    pub call: Vec<&'static dyn Rule>,
    pub assign: Vec<&'static dyn Rule>,
    pub comment: Vec<&'static dyn Rule>,
    pub string: Vec<&'static dyn Rule>,
    pub function: Vec<&'static dyn Rule>,
    pub class: Vec<&'static dyn Rule>,
    pub file: Vec<&'static dyn Rule>,
    /// Indexed by node kind id.
    pub node: Vec<Vec<&'static dyn Rule>>,
}

/// Dispatch tables for every dialect, for one rule selection: disabled rules are simply
/// absent, so the walker never asks whether a rule is on.
pub(crate) struct DispatchTables(Vec<Dispatch>);

impl DispatchTables {
    pub(crate) fn new(selection: &RuleSelection) -> DispatchTables {
        DispatchTables(
            Dialect::ALL
                .iter()
                .map(|d| Dispatch::build(*d, selection))
                .collect(),
        )
    }

    pub(crate) fn get(&self, dialect: Dialect) -> &Dispatch {
        &self.0[dialect.index()]
    }
}

impl std::fmt::Debug for DispatchTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DispatchTables")
    }
}

impl Dispatch {
    fn build(dialect: Dialect, selection: &RuleSelection) -> Dispatch {
        let kinds = dialect.grammar().node_kind_count();
        let mut d = Dispatch {
            call: Vec::new(),
            assign: Vec::new(),
            comment: Vec::new(),
            string: Vec::new(),
            function: Vec::new(),
            class: Vec::new(),
            file: Vec::new(),
            node: vec![Vec::new(); kinds],
        };
        for &rule in all() {
            if !rule.meta().applies_to(dialect.language()) || !selection.is_enabled(rule.meta()) {
                continue;
            }
            let h = rule.hooks();
            if h.call {
                d.call.push(rule);
            }
            if h.assign {
                d.assign.push(rule);
            }
            if h.comment {
                d.comment.push(rule);
            }
            if h.string {
                d.string.push(rule);
            }
            if h.function {
                d.function.push(rule);
            }
            if h.class {
                d.class.push(rule);
            }
            if h.file {
                d.file.push(rule);
            }
            if h.node {
                for k in rule.kinds(dialect) {
                    d.node[k as usize].push(rule);
                }
            }
        }
        d
    }
}
