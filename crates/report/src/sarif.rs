use qa_analysis::RepoAnalysis;
pub fn render_sarif(_a: &RepoAnalysis) -> String { String::new() }
