//! Maintainability rules: complexity and size thresholds, error handling, likely bugs.

mod common;

mod assert_on_tuple;
mod bare_except;
mod broad_exception_caught;
mod debugger_statement;
mod deep_nesting;
mod duplicate_condition;
mod empty_catch;
mod fstring_without_placeholders;
mod high_cognitive_complexity;
mod high_cyclomatic_complexity;
mod is_literal_comparison;
mod large_class;
mod long_file;
mod long_function;
mod loose_equality;
mod mutable_default_argument;
mod none_comparison;
mod print_stack_trace;
mod return_in_finally;
mod self_assignment;
mod string_reference_equality;
mod todo_comment;
mod too_many_parameters;
mod type_comparison;
mod unfinished_code;
mod unreachable_code;
mod var_declaration;
mod wildcard_import;

use super::Rule;

pub(crate) static RULES: &[&dyn Rule] = &[
    &high_cyclomatic_complexity::HighCyclomaticComplexity,
    &high_cognitive_complexity::HighCognitiveComplexity,
    &long_function::LongFunction,
    &too_many_parameters::TooManyParameters,
    &deep_nesting::DeepNesting,
    &long_file::LongFile,
    &large_class::LargeClass,
    &bare_except::BareExcept,
    &broad_exception_caught::BroadExceptionCaught,
    &empty_catch::EmptyCatch,
    &mutable_default_argument::MutableDefaultArgument,
    &todo_comment::TodoComment,
    &debugger_statement::DebuggerStatement,
    &none_comparison::NoneComparison,
    &type_comparison::TypeComparison,
    &wildcard_import::WildcardImport,
    &loose_equality::LooseEquality,
    &var_declaration::VarDeclaration,
    &unreachable_code::UnreachableCode,
    &return_in_finally::ReturnInFinally,
    &self_assignment::SelfAssignment,
    &string_reference_equality::StringReferenceEquality,
    &print_stack_trace::PrintStackTrace,
    &unfinished_code::UnfinishedCode,
    &duplicate_condition::DuplicateCondition,
    &fstring_without_placeholders::FstringWithoutPlaceholders,
    &assert_on_tuple::AssertOnTuple,
    &is_literal_comparison::IsLiteralComparison,
];
