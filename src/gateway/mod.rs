//! Gateways: the sockets clients talk to.

pub mod agent_udp;
