//! Maintainability rules: complexity and size thresholds, error handling, likely bugs.

mod bare_except;
mod high_cyclomatic_complexity;
mod todo_comment;

use super::Rule;

pub(crate) static RULES: &[&dyn Rule] = &[
    &high_cyclomatic_complexity::HighCyclomaticComplexity,
    &bare_except::BareExcept,
    &todo_comment::TodoComment,
];
