//! The JSON report: the analysis model serialised as is (`docs/json-schema.md`).

use qa_analysis::RepoAnalysis;

pub fn render_json(analysis: &RepoAnalysis) -> String {
    let mut s = serde_json::to_string_pretty(analysis).expect("analysis model serialises");
    s.push('\n');
    s
}
