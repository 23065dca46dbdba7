pub mod analyze;
pub mod rules;
