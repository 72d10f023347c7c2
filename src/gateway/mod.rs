//! Gateways: the sockets clients talk to.

pub mod agent_udp;
pub mod flow_http;
pub mod monitor_ws;
pub mod phone;
