//! SARIF 2.1.0 (OASIS), as GitHub code scanning, Azure DevOps and most IDEs read it.
//!
//! Each rule's documentation becomes `help` (text and Markdown); fingerprints go in
//! `partialFingerprints` so uploads de-duplicate across commits; suppressed findings are
//! kept with `suppressions`; diagnostics (unreadable or unparsable files) become tool
//! execution notifications.

use qa_analysis::{RepoAnalysis, RuleMeta, rules};
use qa_core::{Severity, SuppressionKind};
use serde_json::{Value, json};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/qa-agent/qa-agent";
/// Key of our fingerprint in `partialFingerprints`; bump the suffix if the algorithm changes.
pub const FINGERPRINT_KEY: &str = "qaAgent/v1";

fn level(sev: Severity) -> &'static str {
    match sev {
        Severity::Info | Severity::Low => "note",
        Severity::Medium => "warning",
        Severity::High | Severity::Critical => "error",
    }
}

/// GitHub's `security-severity` scale (0-10) for security rules.
fn security_severity(sev: Severity) -> &'static str {
    match sev {
        Severity::Info => "1.0",
        Severity::Low => "3.0",
        Severity::Medium => "5.5",
        Severity::High => "8.0",
        Severity::Critical => "9.5",
    }
}

fn rule_descriptor(meta: &RuleMeta) -> Value {
    let mut properties = json!({
        "tags": [meta.family.as_str()],
        "precision": "high",
    });
    if meta.family == qa_core::RuleFamily::Security {
        properties["tags"] = json!(["security"]);
        properties["security-severity"] = json!(security_severity(meta.severity));
    }
    json!({
        "id": meta.id,
        "name": meta.name,
        "shortDescription": { "text": meta.title },
        "fullDescription": { "text": first_paragraph(meta.docs) },
        "help": { "text": meta.docs, "markdown": meta.docs },
        "helpUri": format!("{INFORMATION_URI}/blob/main/docs/rules.md#{}", meta.id.to_lowercase()),
        "defaultConfiguration": { "level": level(meta.severity) },
        "properties": properties,
    })
}

/// The text under the first heading of a rule's docs.
fn first_paragraph(docs: &str) -> String {
    docs.lines()
        .skip_while(|l| l.starts_with('#') || l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn render_sarif(analysis: &RepoAnalysis) -> String {
    let all: Vec<&RuleMeta> = rules().collect();
    let descriptors: Vec<Value> = all.iter().map(|m| rule_descriptor(m)).collect();
    let mut results = Vec::new();
    for f in analysis.findings() {
        let index = all.iter().position(|m| m.id == f.rule_id);
        let mut result = json!({
            "ruleId": f.rule_id,
            "level": level(f.severity),
            "message": { "text": f.message },
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": { "uri": f.path, "uriBaseId": "%SRCROOT%" },
                    "region": {
                        "startLine": f.span.start_line,
                        "startColumn": f.span.start_col,
                        "endLine": f.span.end_line,
                        "endColumn": f.span.end_col.max(1),
                    }
                }
            }],
            "partialFingerprints": { FINGERPRINT_KEY: f.fingerprint },
            "properties": { "severity": f.severity.as_str(), "family": f.family.as_str() },
        });
        if let Some(i) = index {
            result["ruleIndex"] = json!(i);
        }
        if let Some(func) = &f.function {
            result["locations"][0]["logicalLocations"] =
                json!([{ "fullyQualifiedName": func, "kind": "function" }]);
        }
        if !f.suppressions.is_empty() {
            result["suppressions"] = Value::Array(
                f.suppressions
                    .iter()
                    .map(|s| {
                        let mut v = json!({
                            "kind": match s.kind {
                                SuppressionKind::InSource => "inSource",
                                SuppressionKind::External => "external",
                            },
                            "status": "accepted",
                            "properties": { "source": s.source },
                        });
                        if let Some(j) = &s.justification {
                            v["justification"] = json!(j);
                        }
                        v
                    })
                    .collect(),
            );
        }
        results.push(result);
    }
    let notifications: Vec<Value> = analysis
        .diagnostics
        .iter()
        .map(|d| {
            let mut region = json!({});
            if let Some(l) = d.line {
                region = json!({ "startLine": l });
            }
            let mut loc = json!({
                "physicalLocation": { "artifactLocation": { "uri": d.path, "uriBaseId": "%SRCROOT%" } }
            });
            if d.line.is_some() {
                loc["physicalLocation"]["region"] = region;
            }
            json!({
                "level": "warning",
                "message": { "text": d.message },
                "locations": [loc],
                "descriptor": { "id": serde_json::to_value(d.kind).unwrap_or(json!("diagnostic")) },
            })
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": analysis.tool.name,
                "version": analysis.tool.version,
                "semanticVersion": analysis.tool.version,
                "informationUri": INFORMATION_URI,
                "rules": descriptors,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "originalUriBaseIds": { "%SRCROOT%": { "description": { "text": "The analysed directory." } } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&log).expect("SARIF log serialises");
    s.push('\n');
    s
}
