//! `qa-agent rules` and `qa-agent rules explain ID`.

use std::process::ExitCode;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use qa_core::RuleFamily;

use crate::args::{RulesAction, RulesArgs};
use crate::output::write_stdout;

pub fn run(args: RulesArgs) -> anyhow::Result<ExitCode> {
    if let Some(RulesAction::Explain { id }) = &args.action {
        let Some(meta) = qa_analysis::rule(id) else {
            anyhow::bail!("no rule `{id}` (run `qa-agent rules` to list rule ids)");
        };
        let languages: Vec<&str> = meta.languages.iter().map(|l| l.display_name()).collect();
        let text = format!(
            "{} {}: {}\nfamily: {}   default severity: {}   languages: {}\n\n{}\n",
            meta.id,
            meta.name,
            meta.title,
            meta.family,
            meta.severity,
            languages.join(", "),
            meta.docs.trim_end()
        );
        write_stdout(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let family = match &args.family {
        Some(f) => Some(RuleFamily::parse(f).ok_or_else(|| {
            anyhow::anyhow!("unknown family `{f}`: expected security, performance or maintainability")
        })?),
        None => None,
    };
    let rules: Vec<_> = qa_analysis::rules()
        .filter(|m| family.is_none_or(|f| m.family == f))
        .collect();
    if args.json {
        let list: Vec<serde_json::Value> = rules
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id,
                    "name": m.name,
                    "family": m.family,
                    "severity": m.severity,
                    "languages": m.languages,
                    "title": m.title,
                })
            })
            .collect();
        write_stdout(&format!("{}\n", serde_json::to_string_pretty(&list)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["Id", "Name", "Family", "Severity", "Languages", "Title"]);
    for m in &rules {
        let langs: Vec<&str> = m.languages.iter().map(|l| l.as_str()).collect();
        let langs = if m.languages.len() == qa_core::Language::ALL.len() {
            "all".to_string()
        } else {
            langs.join(", ")
        };
        t.add_row(vec![
            m.id.to_string(),
            m.name.to_string(),
            m.family.to_string(),
            m.severity.to_string(),
            langs,
            m.title.to_string(),
        ]);
    }
    write_stdout(&format!("{t}\n{} rules. `qa-agent rules explain ID` prints one's documentation.\n", rules.len()))?;
    Ok(ExitCode::SUCCESS)
}
