use std::path::PathBuf;
fn main() {
    let path = PathBuf::from(std::env::args().nth(2).unwrap_or(".".into()));
    let mut cfg = qa_analysis::ProjectConfig::default();
    cfg.analysis.max_file_size = u64::MAX; cfg.analysis.skip_generated = false; cfg.analysis.parse_timeout_ms = 600_000;
    let a = qa_analysis::Analyzer::new(cfg).unwrap();
    let r = a.analyze_path(&path, &qa_analysis::NoProgress).unwrap();
    print!("{}", qa_report::render_json(&r));
}
