//! The `spcti` server: configuration, wiring, gateways, drivers and storage.

pub mod admin;
pub mod cli;
pub mod config;
pub mod flow_sim;
pub mod flows;
pub mod gateway;
pub mod media;
pub mod password;
pub mod prometheus;
pub mod quiet;
pub mod serve;
pub mod sim;
pub mod sip;
pub mod sip_config;
pub mod storage;
pub mod switch;
