//! The terminal report: a summary, every finding (one line each, like a compiler), the
//! most complex functions and the riskiest untested ones.

use std::fmt::Write;

use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use qa_analysis::RepoAnalysis;
use qa_core::Severity;

pub struct TableOptions {
    /// ANSI colours (only when writing to a terminal).
    pub color: bool,
    /// How many hotspots and untested functions to list.
    pub top: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            color: false,
            top: 10,
        }
    }
}

fn paint(s: &str, style: anstyle::Style, color: bool) -> String {
    if color {
        format!("{}{s}{}", style.render(), style.render_reset())
    } else {
        s.to_string()
    }
}

fn severity_style(sev: Severity) -> anstyle::Style {
    use anstyle::{AnsiColor, Style};
    match sev {
        Severity::Critical => Style::new()
            .bold()
            .fg_color(Some(AnsiColor::BrightRed.into())),
        Severity::High => Style::new().fg_color(Some(AnsiColor::Red.into())),
        Severity::Medium => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Severity::Low => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
        Severity::Info => Style::new().dimmed(),
    }
}

fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(headers.iter().map(Cell::new));
    t
}

fn num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn render_table(a: &RepoAnalysis, opts: &TableOptions) -> String {
    let bold = anstyle::Style::new().bold();
    let mut out = String::new();
    let s = &a.summary;
    let _ = writeln!(
        out,
        "{} {}: {} files ({} tests), {} lines ({} code), {} functions, {} classes",
        paint(&a.tool.name, bold, opts.color),
        a.tool.version,
        num(u64::from(s.files)),
        num(u64::from(s.test_files)),
        num(s.lines),
        num(s.nloc),
        num(u64::from(s.functions)),
        num(u64::from(s.classes)),
    );
    if !s.languages.is_empty() {
        let mut t = table(&["Language", "Files", "Code lines", "Functions", "Classes"]);
        for (lang, st) in &s.languages {
            t.add_row(vec![
                Cell::new(lang.display_name()),
                Cell::new(num(u64::from(st.files))).set_alignment(CellAlignment::Right),
                Cell::new(num(st.nloc)).set_alignment(CellAlignment::Right),
                Cell::new(num(u64::from(st.functions))).set_alignment(CellAlignment::Right),
                Cell::new(num(u64::from(st.classes))).set_alignment(CellAlignment::Right),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }

    let mut findings: Vec<_> = a.findings().filter(|f| !f.is_suppressed()).collect();
    findings.sort_by(|x, y| {
        y.severity
            .cmp(&x.severity)
            .then_with(|| x.path.cmp(&y.path))
            .then(x.span.start_line.cmp(&y.span.start_line))
    });
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| {
            s.findings_by_severity
                .get(sev)
                .map(|n| format!("{n} {sev}"))
        })
        .collect();
    let _ = writeln!(
        out,
        "\n{} ({}{})",
        paint("Findings", bold, opts.color),
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        },
        if s.suppressed_findings > 0 {
            format!("; {} suppressed", s.suppressed_findings)
        } else {
            String::new()
        }
    );
    for f in &findings {
        let sev = format!("{:<8}", f.severity.as_str().to_uppercase());
        let _ = writeln!(
            out,
            "  {} {:<8} {}:{}:{}  {}",
            paint(&sev, severity_style(f.severity), opts.color),
            f.rule_id,
            f.path,
            f.span.start_line,
            f.span.start_col,
            f.message
        );
    }

    if !s.hotspots.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint("Most complex functions", bold, opts.color)
        );
        let mut t = table(&[
            "Cyclomatic",
            "Cognitive",
            "Code lines",
            "Function",
            "Location",
        ]);
        for h in s.hotspots.iter().take(opts.top) {
            t.add_row(vec![
                Cell::new(h.cyclomatic).set_alignment(CellAlignment::Right),
                Cell::new(h.cognitive).set_alignment(CellAlignment::Right),
                Cell::new(h.nloc).set_alignment(CellAlignment::Right),
                Cell::new(&h.qualified_name),
                Cell::new(format!("{}:{}", h.path, h.start_line)),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }

    let g = &a.test_gaps;
    if g.source_functions > 0 {
        let ratio = g
            .tested_ratio
            .map(|r| format!("{:.0}%", r * 100.0))
            .unwrap_or_else(|| "n/a".into());
        let frameworks = if g.frameworks.is_empty() {
            "no test framework detected".to_string()
        } else {
            g.frameworks.join(", ")
        };
        let _ = writeln!(
            out,
            "\n{} ({} of {} source functions referenced by {} tests; {frameworks})",
            paint("Test gaps", bold, opts.color),
            ratio,
            num(u64::from(g.source_functions)),
            num(u64::from(g.test_functions)),
        );
        if !g.untested.is_empty() {
            let mut t = table(&[
                "Risk",
                "Cyclomatic",
                "Fan-in",
                "Untested function",
                "Location",
            ]);
            for u in g.untested.iter().take(opts.top) {
                t.add_row(vec![
                    Cell::new(format!("{:.1}", u.risk)).set_alignment(CellAlignment::Right),
                    Cell::new(u.cyclomatic).set_alignment(CellAlignment::Right),
                    Cell::new(u.fan_in).set_alignment(CellAlignment::Right),
                    Cell::new(&u.qualified_name),
                    Cell::new(format!("{}:{}", u.path, u.start_line)),
                ]);
            }
            let _ = writeln!(out, "{t}");
        }
    }

    if !a.diagnostics.is_empty() {
        let _ = writeln!(
            out,
            "\n{} ({})",
            paint("Diagnostics", bold, opts.color),
            a.diagnostics.len()
        );
        for d in a.diagnostics.iter().take(opts.top) {
            let loc = match d.line {
                Some(l) => format!("{}:{l}", d.path),
                None => d.path.clone(),
            };
            let _ = writeln!(out, "  {loc}: {}", d.message);
        }
        if a.diagnostics.len() > opts.top {
            let _ = writeln!(
                out,
                "  ... and {} more (see --format json)",
                a.diagnostics.len() - opts.top
            );
        }
    }
    out
}
