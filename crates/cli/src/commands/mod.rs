pub mod admin;
pub mod analyze;
pub mod ask;
pub mod chat;
mod embedded;
pub mod migrate;
pub mod rules;
pub mod schema;
pub mod serve;
