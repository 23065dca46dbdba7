pub mod analyze;
pub mod rules;
pub mod schema;
pub mod serve;
