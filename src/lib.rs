//! The `spcti` server: configuration, wiring, gateways, drivers and storage.

pub mod admin;
pub mod cli;
pub mod config;
pub mod db;
pub mod gateway;
pub mod password;
pub mod schema;
pub mod serve;
pub mod sim;
pub mod storage;
pub mod store;
pub mod switch;
