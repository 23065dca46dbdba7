//! Performance rules: work repeated in loops, N+1 queries, blocking calls in async code.

mod blocking_call_in_async;
mod common;
mod defer_in_loop;
mod front_removal_in_loop;
mod list_membership_in_loop;
mod nested_loop_same_collection;
mod query_in_loop;
mod regex_compile_in_loop;
mod request_in_loop;
mod sort_for_min_max;
mod string_concat_in_loop;

use super::Rule;

pub(crate) static RULES: &[&dyn Rule] = &[
    &string_concat_in_loop::StringConcatInLoop,
    &regex_compile_in_loop::RegexCompileInLoop,
    &list_membership_in_loop::ListMembershipInLoop,
    &query_in_loop::QueryInLoop,
    &request_in_loop::RequestInLoop,
    &nested_loop_same_collection::NestedLoopSameCollection,
    &blocking_call_in_async::BlockingCallInAsync,
    &defer_in_loop::DeferInLoop,
    &sort_for_min_max::SortForMinMax,
    &front_removal_in_loop::FrontRemovalInLoop,
];
