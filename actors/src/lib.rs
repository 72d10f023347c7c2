//! spcti's domain: the sans-I/O state machines of calls, agents and queues,
//! and the actors that host them (architecture.md).

pub mod agent;
pub mod clock;
pub mod leg;
pub mod queue;
pub mod records;
pub mod seat;
pub mod strategy;
pub mod supervision;
pub mod switch;
