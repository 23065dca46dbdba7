//! Performance rules: work repeated in loops, N+1 queries, blocking calls in async code.

mod regex_compile_in_loop;

use super::Rule;

pub(crate) static RULES: &[&dyn Rule] = &[&regex_compile_in_loop::RegexCompileInLoop];
