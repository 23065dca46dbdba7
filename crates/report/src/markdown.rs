use qa_analysis::RepoAnalysis;
pub fn render_markdown(_a: &RepoAnalysis) -> String { String::new() }
