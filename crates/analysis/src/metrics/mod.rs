//! Metrics shared by the languages: SonarSource cognitive complexity for the brace
//! languages (`cognitive.rs`) and lines of code (`nloc.rs`). Cyclomatic complexity and
//! nesting depth are counted during the walk (`walk.rs`) from each language module's
//! `cc_increment` and `is_nesting_block`, and Python's cognitive complexity is in
//! `lang/python.rs`, because their rules follow each language's reference tool (radon,
//! lizard, complexipy); `docs/metrics.md` states them all.

pub(crate) mod cognitive;
pub(crate) mod nloc;
