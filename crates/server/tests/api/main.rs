//! The services on random ports, talked to over HTTP, on the embedded database and (when
//! `QA_AGENT_TEST_DATABASE_URL` is set, as `.ci/run` does) on PostgreSQL.

mod agent;
mod analyses;
mod auth;
mod backup;
mod conversation;
mod doctor;
mod health;
mod helpers;
mod learning;
mod openapi;
mod operations;
mod scenarios;
mod tls;
mod tools;
mod ui;
