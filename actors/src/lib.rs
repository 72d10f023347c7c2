//! spcti's domain: the sans-I/O state machines of calls, agents and queues,
//! and the actors that host them (architecture.md).

pub mod strategy;
