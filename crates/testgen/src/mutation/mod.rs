//! Mutation testing: small faults put into the code under test, and whether the tests notice.
//!
//! Mutants come from the tree-sitter tree ([`python::mutants`]). Two runners use them: the
//! generator asks the harness which candidate calls observe each mutant (one process for all
//! mutants), and [`runner`] runs a real test suite with pytest against each mutant, in a copy
//! of the project, to report killed/total per function (`qa-agent mutate`).

pub mod python;
pub mod runner;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Comparison,
    Arithmetic,
    Boolean,
    Constant,
    Return,
    RemovedCall,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mutant {
    pub id: u32,
    pub line: u32,
    pub operator: Operator,
    #[serde(skip)]
    pub start: usize,
    #[serde(skip)]
    pub end: usize,
    pub original: String,
    pub replacement: String,
}

impl Mutant {
    pub fn apply(&self, source: &str) -> String {
        let mut out = String::with_capacity(source.len() + self.replacement.len());
        out.push_str(&source[..self.start]);
        out.push_str(&self.replacement);
        out.push_str(&source[self.end..]);
        out
    }

    /// `line 12: < → <=`.
    pub fn describe(&self) -> String {
        let short = |s: &str| {
            let s = s.replace('\n', " ");
            if s.chars().count() > 40 {
                format!("{}…", s.chars().take(40).collect::<String>())
            } else {
                s
            }
        };
        format!(
            "line {}: {} → {}",
            self.line,
            short(&self.original),
            short(&self.replacement)
        )
    }
}
