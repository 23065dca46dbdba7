//! A Markdown report for pull-request comments and CI summaries.

use std::fmt::Write;

use qa_analysis::RepoAnalysis;
use qa_core::Severity;

/// Findings listed before the report says "and N more".
const MAX_FINDINGS: usize = 200;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render_markdown(a: &RepoAnalysis) -> String {
    let s = &a.summary;
    let mut out = String::new();
    let _ = writeln!(out, "# qa-agent report\n");
    let _ = writeln!(
        out,
        "{} files ({} tests), {} lines of code, {} functions, {} classes.\n",
        s.files, s.test_files, s.nloc, s.functions, s.classes
    );
    if !s.languages.is_empty() {
        let _ = writeln!(out, "| Language | Files | Code lines | Functions |");
        let _ = writeln!(out, "|---|---:|---:|---:|");
        for (lang, st) in &s.languages {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                lang.display_name(),
                st.files,
                st.nloc,
                st.functions
            );
        }
        out.push('\n');
    }
    let mut findings: Vec<_> = a.findings().filter(|f| !f.is_suppressed()).collect();
    findings.sort_by(|x, y| {
        y.severity
            .cmp(&x.severity)
            .then_with(|| x.path.cmp(&y.path))
            .then(x.span.start_line.cmp(&y.span.start_line))
    });
    let _ = writeln!(out, "## Findings\n");
    if findings.is_empty() {
        let _ = writeln!(out, "No findings.\n");
    } else {
        let counts: Vec<String> = Severity::ALL
            .iter()
            .rev()
            .filter_map(|sev| {
                s.findings_by_severity
                    .get(sev)
                    .map(|n| format!("{n} {sev}"))
            })
            .collect();
        let _ = writeln!(out, "{}.\n", counts.join(", "));
        let _ = writeln!(out, "| Severity | Rule | Location | Message |");
        let _ = writeln!(out, "|---|---|---|---|");
        for f in findings.iter().take(MAX_FINDINGS) {
            let _ = writeln!(
                out,
                "| {} | `{}` | `{}:{}` | {} |",
                f.severity,
                f.rule_id,
                f.path,
                f.span.start_line,
                cell(&f.message)
            );
        }
        if findings.len() > MAX_FINDINGS {
            let _ = writeln!(
                out,
                "\n… and {} more (see the JSON or SARIF report).",
                findings.len() - MAX_FINDINGS
            );
        }
        out.push('\n');
    }
    if s.suppressed_findings > 0 {
        let _ = writeln!(out, "{} findings are suppressed.\n", s.suppressed_findings);
    }
    if !s.hotspots.is_empty() {
        let _ = writeln!(out, "## Most complex functions\n");
        let _ = writeln!(out, "| Cyclomatic | Cognitive | Function | Location |");
        let _ = writeln!(out, "|---:|---:|---|---|");
        for h in &s.hotspots {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | `{}:{}` |",
                h.cyclomatic,
                h.cognitive,
                cell(&h.qualified_name),
                h.path,
                h.start_line
            );
        }
        out.push('\n');
    }
    let g = &a.test_gaps;
    if g.source_functions > 0 {
        let _ = writeln!(out, "## Test gaps\n");
        let ratio = g
            .tested_ratio
            .map(|r| format!("{:.0}%", r * 100.0))
            .unwrap_or_else(|| "n/a".into());
        let _ = writeln!(
            out,
            "{ratio} of {} source functions are referenced by a test ({} tests; frameworks: {}).\n",
            g.source_functions,
            g.test_functions,
            if g.frameworks.is_empty() {
                "none detected".to_string()
            } else {
                g.frameworks.join(", ")
            }
        );
        if !g.untested.is_empty() {
            let _ = writeln!(
                out,
                "| Risk | Cyclomatic | Fan-in | Untested function | Location |"
            );
            let _ = writeln!(out, "|---:|---:|---:|---|---|");
            for u in g.untested.iter().take(20) {
                let _ = writeln!(
                    out,
                    "| {:.1} | {} | {} | `{}` | `{}:{}` |",
                    u.risk,
                    u.cyclomatic,
                    u.fan_in,
                    cell(&u.qualified_name),
                    u.path,
                    u.start_line
                );
            }
            out.push('\n');
        }
    }
    if !a.diagnostics.is_empty() {
        let _ = writeln!(out, "## Diagnostics\n");
        for d in a.diagnostics.iter().take(50) {
            let loc = match d.line {
                Some(l) => format!("{}:{l}", d.path),
                None => d.path.clone(),
            };
            let _ = writeln!(out, "- `{loc}`: {}", cell(&d.message));
        }
        if a.diagnostics.len() > 50 {
            let _ = writeln!(out, "- … and {} more", a.diagnostics.len() - 50);
        }
    }
    out
}
