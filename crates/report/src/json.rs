//! The JSON report: the analysis model serialised as is (`docs/json-schema.md`).

use std::io::{self, Write};

use qa_analysis::RepoAnalysis;

/// Streams the report to `out` (large trees make reports of tens of megabytes; they are
/// never held in memory twice).
pub fn write_json(analysis: &RepoAnalysis, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, analysis)?;
    out.write_all(b"\n")?;
    out.flush()
}

pub fn render_json(analysis: &RepoAnalysis) -> String {
    let mut buf = Vec::new();
    write_json(analysis, &mut buf).expect("writing to memory cannot fail");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}
