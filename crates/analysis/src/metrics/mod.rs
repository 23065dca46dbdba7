//! Metrics that do not depend on a reference tool's counting rules: nesting depth and lines
//! of code. Cyclomatic and cognitive complexity are computed by each language module
//! (`lang/<language>.rs`), because their counting rules follow that language's reference
//! tool (radon, lizard, complexipy); `docs/metrics.md` states them all.

pub(crate) mod cognitive;
pub(crate) mod nesting;
pub(crate) mod nloc;
